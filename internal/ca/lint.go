package ca

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// LintError is returned by Issue when pre-issuance linting fails.
type LintError struct{ Lints []string }

func (e *LintError) Error() string {
	return "ca: certificate failed linting: " + strings.Join(e.Lints, "; ")
}

type registries struct {
	leaf   lint.Registry // certificates and subscriber CRLs
	caCRLs lint.Registry // CRLs covering CA certificates (the root's CRL)
}

// lintRegistries drops the S/MIME and code-signing lints, which never
// apply to what this CA makes, and configures the CRL lint for the root's
// CRL, which may run up to 12 months instead of 10 days.
var lintRegistries = sync.OnceValues(func() (registries, error) {
	opts := lint.FilterOptions{ExcludeSources: lint.SourceList{
		lint.CABFSMIMEBaselineRequirements, lint.CABFCSBaselineRequirements,
	}}
	leaf, err := lint.GlobalRegistry().Filter(opts)
	if err != nil {
		return registries{}, err
	}
	ca, err := lint.GlobalRegistry().Filter(opts)
	if err != nil {
		return registries{}, err
	}
	cfg, err := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
	if err != nil {
		return registries{}, err
	}
	ca.SetConfiguration(cfg)
	return registries{leaf: leaf, caCRLs: ca}, nil
})

// LintCertificate runs zlint over a DER certificate and returns the
// error/fatal results and the warnings as "lint_name: details".
func LintCertificate(der []byte) (errs []string, warns []string, err error) {
	regs, err := lintRegistries()
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zlint registry: %w", err)
	}
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zcrypto cannot parse certificate: %w", err)
	}
	errs, warns = splitResults(zlint.LintCertificateEx(c, regs.leaf))
	return errs, warns, nil
}

func lintCRL(der []byte, coversCAs bool) (errs []string, warns []string, err error) {
	regs, err := lintRegistries()
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zlint registry: %w", err)
	}
	crl, err := zx509.ParseRevocationList(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zcrypto cannot parse CRL: %w", err)
	}
	reg := regs.leaf
	if coversCAs {
		reg = regs.caCRLs
	}
	errs, warns = splitResults(zlint.LintRevocationListEx(crl, reg))
	return errs, warns, nil
}

func splitResults(rs *zlint.ResultSet) (errs, warns []string) {
	for name, r := range rs.Results {
		detail := r.Details
		if detail == "" {
			detail = r.LintMetadata.Description
		}
		s := name + ": " + detail
		switch r.Status {
		case lint.Error, lint.Fatal:
			errs = append(errs, s)
		case lint.Warn:
			warns = append(warns, s)
		}
	}
	// Map order is random; sorted output keeps logs and tests stable.
	sort.Strings(errs)
	sort.Strings(warns)
	return errs, warns
}

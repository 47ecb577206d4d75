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
	certs  lint.Registry // every certificate but X9 leaves
	x9     lint.Registry // leaves asserting certorder's X9 policy
	crls   lint.Registry // subscriber CRLs
	caCRLs lint.Registry // CRLs covering CA certificates (the root's CRL)
}

// x9Exclusions are the BR lints that fire on a correct X9 leaf only
// because X9 PKI for TLS is not browser PKI: zlint applies the BR lints to
// any certificate with serverAuth. SC-081's validity schedule (200 days
// since 2026-03-15, then 100 and 47) binds publicly-trusted TLS only; X9
// allows 397 days (seed 004). e_tls_server_cert_valid_time_longer_than_398_days
// stays on as the outer bound. Nothing else is excluded, and nothing for
// any other certificate.
var x9Exclusions = []string{
	"e_server_cert_valid_time_longer_than_200_days",
	"e_server_cert_valid_time_longer_than_100_days",
	"e_server_cert_valid_time_longer_than_47_days",
}

// lintRegistries: certificates get every lint, as zlint applies the S/MIME
// and code-signing lints only to certificates that assert emailProtection
// with an email SAN, an S/MIME policy, or a code-signing policy; CRLs keep
// the TLS rule sets; the root's CRL may run up to 12 months, not 10 days.
var lintRegistries = sync.OnceValues(func() (registries, error) {
	certs := lint.GlobalRegistry()
	x9, err := certs.Filter(lint.FilterOptions{ExcludeNames: x9Exclusions})
	if err != nil {
		return registries{}, err
	}
	crlOpts := lint.FilterOptions{ExcludeSources: lint.SourceList{
		lint.CABFSMIMEBaselineRequirements, lint.CABFCSBaselineRequirements,
	}}
	crls, err := certs.Filter(crlOpts)
	if err != nil {
		return registries{}, err
	}
	caCRLs, err := certs.Filter(crlOpts)
	if err != nil {
		return registries{}, err
	}
	cfg, err := lint.NewConfigFromString("[e_crl_next_update_invalid]\nSubscriberCRL = false\n")
	if err != nil {
		return registries{}, err
	}
	caCRLs.SetConfiguration(cfg)
	return registries{certs: certs, x9: x9, crls: crls, caCRLs: caCRLs}, nil
})

// LintCertificate runs zlint over a DER certificate and returns the
// error/fatal results and the warnings as "lint_name: details". A leaf
// asserting certorder's X9 policy is linted without x9Exclusions.
func LintCertificate(der []byte) (errs []string, warns []string, err error) {
	regs, err := lintRegistries()
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zlint registry: %w", err)
	}
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: zcrypto cannot parse certificate: %w", err)
	}
	reg := regs.certs
	if !c.IsCA && isX9Leaf(c) {
		reg = regs.x9
	}
	errs, warns = splitResults(zlint.LintCertificateEx(c, reg))
	return errs, warns, nil
}

// isX9Leaf: the X9 policy and no CA/B Forum one (2.23.140.*), so the X9
// exclusions never reach a certificate that claims to follow the BRs.
func isX9Leaf(c *zx509.Certificate) bool {
	x9 := false
	for _, p := range c.PolicyIdentifiers {
		s := p.String()
		if strings.HasPrefix(s, "2.23.140.") {
			return false
		}
		x9 = x9 || s == oidX9.String()
	}
	return x9
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
	reg := regs.crls
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

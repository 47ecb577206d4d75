package api

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// issuedChain loads an issued certificate with its chain: leaf,
// intermediate, root.
func (s *Server) issuedChain(c *store.Certificate) ([]*x509.Certificate, error) {
	if c.Status == store.CertPending || len(c.DER) == 0 {
		return nil, errs.NotFoundf("certificate", "Certificate %d has not been issued yet.", c.ID)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return nil, errs.Internalf(err, "parse stored certificate %d", c.ID)
	}
	iss, ok := s.CA.Issuer(c.IssuerID)
	if !ok {
		return nil, errs.Internalf(fmt.Errorf("issuer %q unknown", c.IssuerID), "chain of certificate %d", c.ID)
	}
	return append([]*x509.Certificate{leaf}, s.CA.Chain(iss)...), nil
}

func (s *Server) certByID(r *http.Request, a account.Actor) (*store.Certificate, error) {
	id, err := pathID(r, "id", "certificate")
	if err != nil {
		return nil, err
	}
	c, err := s.Store.Certificate(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("certificate", "Certificate %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read certificate %d", id)
	}
	return c, nil
}

func (s *Server) downloadCertificate(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	c, err := s.certByID(r, a)
	if err != nil {
		return err
	}
	return s.writeFormat(w, r, c)
}

// downloadOrderCertificate serves the order's current primary certificate,
// never duplicates or past reissues (spec §4.1).
func (s *Server) downloadOrderCertificate(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if o.CertificateID == 0 {
		return errs.NotFoundf("certificate", "Order %d has no certificate yet.", o.ID)
	}
	c, err := s.Store.Certificate(r.Context(), a.Account.ID, o.CertificateID)
	if err != nil {
		return errs.Internalf(err, "read certificate of order %d", o.ID)
	}
	return s.writeFormat(w, r, c)
}

// writeFormat renders the formats of the glossary (spec §4.2). Without a
// format in the path (the platform downloads) the answer is pem_all: the
// platform table carries no format preference.
func (s *Server) writeFormat(w http.ResponseWriter, r *http.Request, c *store.Certificate) error {
	format := r.PathValue("format")
	if format == "" {
		format = "pem_all"
	}
	chain, err := s.issuedChain(c)
	if err != nil {
		return err
	}
	leaf, inter, root := chain[0], chain[1:len(chain)-1], chain[len(chain)-1]
	name := fileBase(leaf)
	var body []byte
	var ctype, ext string
	switch format {
	case "pem_all":
		body, ctype, ext = ca.EncodePEM(chain...), "application/x-pem-file", "pem"
	case "pem_noroot":
		body, ctype, ext = ca.EncodePEM(chain[:len(chain)-1]...), "application/x-pem-file", "pem"
	case "pem_nointermediate":
		body, ctype, ext = ca.EncodePEM(leaf), "application/x-pem-file", "pem"
	case "p7b", "cer":
		// PEM-armoured PKCS#7, as clients strip the armour and decode it.
		body, err = ca.PKCS7PEM(append(append([]*x509.Certificate{root}, reverse(inter)...), leaf)...)
		if err != nil {
			return errs.Internalf(err, "encode pkcs7")
		}
		ctype, ext = "application/x-pkcs7-certificates", format
	case "default", "default_pem", "default_cer", "apache":
		e := ".crt"
		if format == "default_cer" {
			e = ".cer"
		}
		files := []zipFile{}
		if format != "apache" {
			files = append(files, zipFile{"TrustedRoot" + e, ca.EncodePEM(root)})
		}
		for i, ic := range inter {
			n := "DigiCertCA" + e
			if format == "apache" {
				n = "DigiCertCA.crt"
			}
			if i > 0 {
				n = fmt.Sprintf("IntermediateCA%d%s", i+1, e)
			}
			files = append(files, zipFile{n, ca.EncodePEM(ic)})
		}
		files = append(files, zipFile{name + e, ca.EncodePEM(leaf)})
		body, err = zipOf(files)
		if err != nil {
			return errs.Internalf(err, "zip certificates")
		}
		ctype, ext = "application/zip", "zip"
	default:
		return errs.NotFoundf("format", "The certificate format %q does not exist.", format)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, ext))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

func reverse(in []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(in))
	for i, c := range in {
		out[len(in)-1-i] = c
	}
	return out
}

func fileBase(c *x509.Certificate) string {
	n := strings.NewReplacer("*", "star", ".", "_", "/", "_").Replace(c.Subject.CommonName)
	if n == "" {
		n = "certificate"
	}
	return n
}

type zipFile struct {
	name string
	body []byte
}

func zipOf(files []zipFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// certificateChain answers {"intermediates":[...]} with the whole chain,
// end-entity first, then the intermediate, then the root: the order of
// certificate_chain in the 201 answer. The spec could not confirm whether
// the leaf is included; a public client treats the first element as the
// end-entity, so it is.
func (s *Server) certificateChain(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	c, err := s.certByID(r, a)
	if err != nil {
		return err
	}
	chain, err := s.issuedChain(c)
	if err != nil {
		return err
	}
	out := []chainElem{}
	for _, ic := range chain {
		out = append(out, chainElem{SubjectCommonName: ic.Subject.CommonName, PEM: pemOf(ic.Raw)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"intermediates": out})
	return nil
}

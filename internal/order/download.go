package order

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Formats are the certificate download formats of the glossary (spec
// §4.2), in the order the console offers them.
var Formats = []string{"pem_all", "pem_noroot", "pem_nointermediate", "p7b", "cer", "default", "default_pem", "default_cer", "apache"}

// Download is one certificate file as the API and the console serve it.
type Download struct {
	Body        []byte
	ContentType string
	FileName    string
}

// IssuedChain loads an issued certificate with its chain: leaf,
// intermediate, root.
func IssuedChain(h *ca.Hierarchy, c *store.Certificate) ([]*x509.Certificate, error) {
	if c.Status == store.CertPending || len(c.DER) == 0 {
		return nil, errs.NotFoundf("certificate", "Certificate %d has not been issued yet.", c.ID)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return nil, errs.Internalf(err, "parse stored certificate %d", c.ID)
	}
	iss, ok := h.Issuer(c.IssuerID)
	if !ok {
		return nil, errs.Internalf(fmt.Errorf("issuer %q unknown", c.IssuerID), "chain of certificate %d", c.ID)
	}
	return append([]*x509.Certificate{leaf}, h.Chain(iss)...), nil
}

// RenderDownload renders certificate c in format (one of Formats); crlf
// ends each PEM certificate with CRLF, for the clients and platforms that
// split files on it. An unknown format is 404 not_found|format.
func RenderDownload(h *ca.Hierarchy, c *store.Certificate, format string, crlf bool) (*Download, error) {
	chain, err := IssuedChain(h, c)
	if err != nil {
		return nil, err
	}
	leaf, inter, root := chain[0], chain[1:len(chain)-1], chain[len(chain)-1]
	name := fileBase(leaf)
	pemFile := func(certs ...*x509.Certificate) []byte {
		b := ca.EncodePEM(certs...)
		if crlf {
			b = bytes.ReplaceAll(b, []byte("-----END CERTIFICATE-----\n"), []byte("-----END CERTIFICATE-----\r\n"))
		}
		return b
	}
	var body []byte
	var ctype, ext string
	switch format {
	case "pem_all":
		body, ctype, ext = pemFile(chain...), "application/x-pem-file", "pem"
	case "pem_noroot":
		body, ctype, ext = pemFile(chain[:len(chain)-1]...), "application/x-pem-file", "pem"
	case "pem_nointermediate":
		body, ctype, ext = pemFile(leaf), "application/x-pem-file", "pem"
	case "p7b", "cer":
		// PEM-armoured PKCS#7, as clients strip the armour and decode it.
		body, err = ca.PKCS7PEM(append(append([]*x509.Certificate{root}, reverse(inter)...), leaf)...)
		if err != nil {
			return nil, errs.Internalf(err, "encode pkcs7")
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
			return nil, errs.Internalf(err, "zip certificates")
		}
		ctype, ext = "application/zip", "zip"
	default:
		return nil, errs.NotFoundf("format", "The certificate format %q does not exist.", format)
	}
	return &Download{Body: body, ContentType: ctype, FileName: name + "." + ext}, nil
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
	// A common name may be an organization's or a person's name, typed by
	// whoever added it: what could end a quoted file name in a header, a
	// path in a ZIP file, or a file name on a desktop is left out.
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`"\:<>|?`, r) {
			return '_'
		}
		return r
	}, n)
	if n == "" {
		n = "certificate"
	}
	return n
}

// Disposition is the download's Content-Disposition: an attachment named
// by a quoted ASCII file name (fileBase leaves nothing in it that could
// end the quotes), and, for a name beyond ASCII (a person's), the name
// itself as RFC 6266's filename*.
func (d *Download) Disposition() string {
	ascii := strings.Map(func(r rune) rune {
		if r > 0x7e {
			return '_'
		}
		return r
	}, d.FileName)
	h := `attachment; filename="` + ascii + `"`
	if ascii != d.FileName {
		var b strings.Builder
		for _, c := range []byte(d.FileName) {
			// RFC 8187's attr-char stays as it is; every other byte is
			// percent-encoded.
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		h += "; filename*=UTF-8''" + b.String()
	}
	return h
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

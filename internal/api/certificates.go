package api

import (
	"cmp"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// issuedChain loads an issued certificate with its chain: leaf,
// intermediate, root.
func (s *Server) issuedChain(c *store.Certificate) ([]*x509.Certificate, error) {
	return order.IssuedChain(s.CA, c)
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

// downloadCertificate serves /certificate/{id}/download/format/{format}
// and the platform downloads /certificate/{id}/download/platform[/{platform}]
// (the certificate's own platform when the path names none).
func (s *Server) downloadCertificate(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	c, err := s.certByID(r, a)
	if err != nil {
		return err
	}
	platform, err := s.platformOf(r, a, c)
	if err != nil {
		return err
	}
	return s.writeFormat(w, r, c, platform)
}

// platformOf is the server platform a download is for: the one in the
// path, or the one the certificate was ordered for (a reissue's or
// duplicate's own, otherwise its order's).
func (s *Server) platformOf(r *http.Request, a account.Actor, c *store.Certificate) (int, error) {
	if v := r.PathValue("platform"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil {
			return 0, errs.NotFoundf("platform", "The server platform %q does not exist.", v)
		}
		return id, nil
	}
	link, err := s.Store.CertificateLink(r.Context(), a.Account.ID, c.ID)
	switch {
	case err == nil:
		return link.ServerPlatformID, nil
	case !errors.Is(err, store.ErrNotFound):
		return 0, errs.Internalf(err, "read link of certificate %d", c.ID)
	}
	o, err := s.Store.Order(r.Context(), a.Account.ID, c.OrderID)
	if err != nil {
		return 0, errs.Internalf(err, "read order of certificate %d", c.ID)
	}
	return o.ServerPlatformID, nil
}

// downloadOrderCertificate serves the order's current primary certificate,
// never past reissues (spec §4.1); ?subId=N (001, 002...: the sub_id of
// GET /order/certificate/{id}/duplicate) serves that duplicate instead.
// subId is what the old DigiCert SDK sends to fetch a duplicate; the API
// reference documents no query parameter here, so 0 (or none) is the
// primary and an unknown sub_id is 404.
func (s *Server) downloadOrderCertificate(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if o.CertificateID == 0 {
		return errs.NotFoundf("certificate", "Order %d has no certificate yet.", o.ID)
	}
	q := r.URL.Query()
	sub := strings.TrimSpace(cmp.Or(q.Get("subId"), q.Get("sub_id")))
	if sub != "" {
		n, err := strconv.Atoi(sub)
		if err != nil || n < 0 {
			return errs.InvalidValue("subId", "subId must be the sub_id of a duplicate, such as 001.")
		}
		if n > 0 {
			return s.downloadDuplicate(w, r, a, o, n)
		}
	}
	c, err := s.Store.Certificate(r.Context(), a.Account.ID, o.CertificateID)
	if err != nil {
		return errs.Internalf(err, "read certificate of order %d", o.ID)
	}
	return s.writeFormat(w, r, c, o.ServerPlatformID)
}

// downloadDuplicate serves the duplicate of the order whose sub_id is n.
func (s *Server) downloadDuplicate(w http.ResponseWriter, r *http.Request, a account.Actor, o *store.Order, n int) error {
	dups, err := s.Store.LinkedCertificates(r.Context(), a.Account.ID, o.ID, store.CertKindDuplicate)
	if err != nil {
		return errs.Internalf(err, "list duplicates of order %d", o.ID)
	}
	for i := range dups {
		if d := &dups[i]; d.Link.SubID == n {
			return s.writeFormat(w, r, &d.Certificate, d.Link.ServerPlatformID)
		}
	}
	return errs.NotFoundf("certificate", "Order %d has no duplicate with sub_id %03d.", o.ID, n)
}

// writeFormat renders the formats of the glossary (spec §4.2): the one in
// the path, else the formatType query parameter of the old DigiCert SDK's
// downloads, else (the platform downloads) pem_all. The PEM files end each
// certificate with CRLF when the format came from formatType (that SDK
// splits the file on CRLF) or the platform is a Windows one; otherwise
// with LF.
func (s *Server) writeFormat(w http.ResponseWriter, r *http.Request, c *store.Certificate, platform int) error {
	format := r.PathValue("format")
	crlf := false
	switch ft := strings.TrimSpace(r.URL.Query().Get("formatType")); {
	case format != "":
	case ft != "":
		format, crlf = ft, true
	default:
		format, crlf = "pem_all", catalog.PlatformByID(platform).CRLF
	}
	d, err := order.RenderDownload(s.CA, c, format, crlf)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("Content-Disposition", d.Disposition())
	w.WriteHeader(http.StatusOK)
	w.Write(d.Body)
	return nil
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

// intermediateView is one entry of GET /certificate/intermediates, in the
// shape of DigiCert's documented answer (id, subject, validity, serial,
// thumbprint, hash, is_private) with the issuer's common name and the PEM
// that a Terraform provider reads.
type intermediateView struct {
	ID                string `json:"id"`
	SubjectCommonName string `json:"subject_common_name"`
	SubjectOrgName    string `json:"subject_org_name,omitempty"`
	IssuerCommonName  string `json:"issuer_common_name"`
	ValidFrom         string `json:"valid_from"`
	ValidTo           string `json:"valid_to"`
	SerialNumber      string `json:"serial_number"`
	Thumbprint        string `json:"thumbprint"`
	SignatureHash     string `json:"signature_hash"`
	IsPrivate         string `json:"is_private"`
	PEM               string `json:"pem"`
}

// intermediateTime is the "2006-11-10 00:00:00" of the documented answer.
const intermediateTime = "2006-01-02 15:04:05"

// listIntermediates: GET /certificate/intermediates, every issuing CA the
// account's products may be signed by (every product is enabled for the
// account); the id is the ca_cert_id that selects it.
func (s *Server) listIntermediates(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	out := []intermediateView{}
	for _, iss := range s.CA.Issuers() {
		c := iss.Cert
		v := intermediateView{ID: iss.ID, SubjectCommonName: c.Subject.CommonName, IssuerCommonName: c.Issuer.CommonName,
			ValidFrom: c.NotBefore.UTC().Format(intermediateTime), ValidTo: c.NotAfter.UTC().Format(intermediateTime),
			SerialNumber: ca.SerialHex(c.SerialNumber), Thumbprint: ca.Thumbprint(c.Raw), SignatureHash: sigHashName(c.SignatureAlgorithm),
			IsPrivate: "0", PEM: pemOf(c.Raw)}
		if len(c.Subject.Organization) > 0 {
			v.SubjectOrgName = c.Subject.Organization[0]
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"intermediates": out})
	return nil
}

// sigHashName is the hash of a signature algorithm as the documented
// answer writes it ("SHA256").
func sigHashName(alg x509.SignatureAlgorithm) string {
	switch alg {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256, x509.SHA256WithRSAPSS:
		return "SHA256"
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return "SHA384"
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return "SHA512"
	default:
		return alg.String()
	}
}

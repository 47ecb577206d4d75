package api

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

type chainElem struct {
	SubjectCommonName string `json:"subject_common_name"`
	PEM               string `json:"pem"`
}

type createOrderAnswer struct {
	ID               int64            `json:"id"`
	Organization     *idView          `json:"organization,omitempty"`
	Requests         []requestRefView `json:"requests,omitempty"`
	Domains          []domainRefView  `json:"domains,omitempty"`
	CertificateID    int64            `json:"certificate_id,omitempty"`
	DCVRandomValue   string           `json:"dcv_random_value,omitempty"`
	CertificateChain []chainElem      `json:"certificate_chain,omitempty"`
}

// domainRefView is one domains[] entry of an X9 201 answer (seed 004).
type domainRefView struct {
	ID       int64         `json:"id"`
	Name     string        `json:"name"`
	DNSName  string        `json:"dns_name"`
	DCVToken *dcvTokenView `json:"dcv_token,omitempty"`
}

type dcvTokenView struct {
	Token             string `json:"token"`
	Status            string `json:"status"`
	ExpirationDate    string `json:"expiration_date"`
	VerificationValue string `json:"verification_value,omitempty"`
	HTTPTokenURL      string `json:"http_token_url,omitempty"`
}

type requestRefView struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in order.CreateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.Orders.CreateOrder(r.Context(), a, r.PathValue("product"), &in)
	if err != nil {
		return err
	}
	ans := createOrderAnswer{ID: res.OrderID, CertificateID: res.CertificateID}
	if res.OrganizationID != 0 {
		ans.Organization = &idView{ID: res.OrganizationID}
	}
	for _, rq := range res.Requests {
		ans.Requests = append(ans.Requests, requestRefView{ID: rq.ID, Status: rq.Status})
	}
	if len(res.Chain) > 0 {
		ans.CertificateChain = chainElems(res.Chain)
	}
	// The random value is in the answers of DV (seed 001) and X9 (seed
	// 004); other products keep it in order info.
	fam := res.Product.Family
	if fam == catalog.FamilyDV || fam == catalog.FamilyX9 {
		ans.DCVRandomValue = res.DCVRandomValue
	}
	for _, d := range res.Domains {
		dv := domainRefView{ID: d.ID, Name: d.Name, DNSName: d.DNSName}
		if res.DCVRandomValue != "" {
			t := &dcvTokenView{Token: res.DCVRandomValue, Status: d.Status, ExpirationDate: stamp(res.DCVExpires)}
			switch res.DCVMethod {
			case "dns-cname-token":
				t.VerificationValue = s.Validation.CNAMETarget()
			case "http-token":
				t.HTTPTokenURL = dcv.HTTPTokenURL(d.DNSName)
			}
			dv.DCVToken = t
		}
		ans.Domains = append(ans.Domains, dv)
	}
	writeJSON(w, http.StatusCreated, ans)
	return nil
}

// updateCSR: PUT /order/certificate/{id}/csr {"csr": "..."} → 204.
func (s *Server) updateCSR(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "order")
	if err != nil {
		return err
	}
	var in struct {
		CSR string `json:"csr"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Orders.UpdateCSR(r.Context(), a, id, in.CSR); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// chainElems is an issuing answer's certificate_chain: the leaf, then the
// CA certificates, whose PEM forms are made once (caPEM). Only the CA
// certificates are kept: a leaf in caPEMs would stay there for good, one
// per order.
func chainElems(chain []*x509.Certificate) []chainElem {
	out := make([]chainElem, 0, len(chain))
	for i, c := range chain {
		var p string
		if i == 0 {
			p = pemOf(c.Raw)
		} else {
			p = caPEM(c)
		}
		out = append(out, chainElem{SubjectCommonName: c.Subject.CommonName, PEM: p})
	}
	return out
}

// caPEMs are the PEM forms of the CA certificates chains end in, by the
// certificate the hierarchy holds: every issuing answer carries them.
var caPEMs sync.Map // *x509.Certificate → string

func caPEM(c *x509.Certificate) string {
	if v, ok := caPEMs.Load(c); ok {
		return v.(string)
	}
	p := pemOf(c.Raw)
	caPEMs.Store(c, p)
	return p
}

var (
	thumbprintRE = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
	hexRE        = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
)

// findOrder resolves {order_id}, which may also be the primary
// certificate's SHA-1 thumbprint or serial number (spec §2.1).
func (s *Server) findOrder(r *http.Request, a account.Actor, raw string) (*store.Order, error) {
	ctx := r.Context()
	raw = strings.TrimSpace(raw)
	notFound := errs.NotFoundf("order", "Order %q was not found.", raw)
	var o *store.Order
	var err error
	switch {
	case len(raw) <= 15 && raw != "" && allDigits(raw):
		id, _ := strconv.ParseInt(raw, 10, 64)
		o, err = s.Store.Order(ctx, a.Account.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			// An all-digit serial number is possible too.
			o, err = s.Store.OrderByCertificate(ctx, a.Account.ID, raw, "")
		}
	case thumbprintRE.MatchString(raw):
		o, err = s.Store.OrderByCertificate(ctx, a.Account.ID, raw, raw)
	case hexRE.MatchString(strings.ReplaceAll(raw, ":", "")):
		o, err = s.Store.OrderByCertificate(ctx, a.Account.ID, strings.ReplaceAll(raw, ":", ""), "")
	default:
		return nil, notFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, errs.Internalf(err, "find order %q", raw)
	}
	return o, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *Server) orderInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := s.orderView(r.Context(), s.newViewCache(a.Account.ID), o)
	if err != nil {
		return errs.Internalf(err, "render order %d", o.ID)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	f, page, err := listq.Orders(r.URL.Query())
	if err != nil {
		return err
	}
	orders, total, err := s.Store.Orders(r.Context(), a.Account.ID, f, page)
	if err != nil {
		return errs.Internalf(err, "list orders")
	}
	vc := s.newViewCache(a.Account.ID)
	items := make([]orderListItem, 0, len(orders))
	for i := range orders {
		it, err := s.orderListItem(r.Context(), vc, &orders[i])
		if err != nil {
			return errs.Internalf(err, "render order %d", orders[i].ID)
		}
		items = append(items, it)
	}
	if wantsCSV(r) {
		return writeOrdersCSV(w, items) // csv.go
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": items, "page": pageView{Total: total, Limit: page.Limit, Offset: page.Offset}})
	return nil
}

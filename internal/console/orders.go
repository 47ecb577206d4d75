package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// pageSize is a list page's length when the query names none.
const pageSize = 25

type orderRow struct {
	ID          int64
	CommonName  string
	Product     string
	Status      string
	Created     string
	ValidTill   string
	ContainerID int64
}

type pager struct {
	Total, From, To int
	Prev, Next      string
}

// pageOf builds the links to the pages before and after: the query as it
// came, offset moved.
func pageOf(q url.Values, page store.Page, total, shown int) pager {
	p := pager{Total: total, From: page.Offset + 1, To: page.Offset + shown}
	if shown == 0 {
		p.From = 0
	}
	link := func(off int) string {
		c := url.Values{}
		for k, v := range q {
			c[k] = v
		}
		c.Set("offset", strconv.Itoa(off))
		c.Set("limit", strconv.Itoa(page.Limit))
		return "?" + c.Encode()
	}
	if page.Offset > 0 {
		p.Prev = link(max(0, page.Offset-page.Limit))
	}
	if page.Offset+shown < total {
		p.Next = link(page.Offset + page.Limit)
	}
	return p
}

type option struct{ Value, Label string }

type ordersData struct {
	Rows     []orderRow
	Page     pager
	Query    url.Values
	Statuses []string
	Products []option
	Sorts    []option
	CanOrder bool
}

// listQuery is the list's query string with the console's page length
// when it names none (the API's default, a thousand, is no page).
func listQuery(q url.Values) url.Values {
	q.Del("done")
	if q.Get("limit") == "" {
		q.Set("limit", strconv.Itoa(pageSize))
	}
	return q
}

// orders lists orders with the API's own filters, sort and paging: the
// form's fields are the query parameters of GET /order/certificate.
func (s *Server) orders(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := listQuery(r.URL.Query())
	if q.Get("sort") == "" {
		q.Set("sort", "-id")
	}
	d := &ordersData{Query: q, CanOrder: allowed(v, account.AreaOrders, false),
		Sorts: []option{{"-id", "Newest first"}, {"id", "Oldest first"}, {"valid_till", "Ending soonest"},
			{"common_name", "Common name"}, {"status", "Status"}, {"product_name_id", "Product"}}}
	for st := range listq.OrderStatuses {
		d.Statuses = append(d.Statuses, st)
	}
	slices.Sort(d.Statuses)
	for _, p := range s.Orders.Products().All() {
		d.Products = append(d.Products, option{p.NameID, p.Name})
	}
	f, page, err := listq.Orders(q)
	if err != nil {
		return s.formFailure(w, r, v, "orders", err, d, nil)
	}
	list, total, err := s.Store.Orders(r.Context(), v.Actor.Account.ID, f, page)
	if err != nil {
		return errs.Internalf(err, "list orders")
	}
	for _, o := range list {
		d.Rows = append(d.Rows, orderRow{ID: o.ID, CommonName: o.CommonName, Product: s.productName(o.ProductNameID), Status: o.Status,
			Created: o.CreatedAt.UTC().Format("2006-01-02"), ValidTill: day(o.OrderValidTill), ContainerID: o.ContainerID})
	}
	d.Page = pageOf(q, page, total, len(list))
	s.render(w, r, v, http.StatusOK, "orders", &view{D: d, Form: q})
	return nil
}

func (s *Server) productName(id string) string {
	if p, ok := s.Orders.Products().Lookup(id); ok {
		return p.Name
	}
	return id
}

// ---- one order

type certView struct {
	ID         int64
	Kind       string // certificate, reissue, duplicate 001...
	Status     string
	Issued     bool
	Subject    string
	Issuer     string
	Serial     string
	Thumbprint string
	NotBefore  string
	NotAfter   string
	Key        string
	Signature  string
	DNSNames   []string
	Emails     []string
	IPs        []string
	Policies   []string
	Revoked    string // when and why, when revoked
	Downloads  []option
	// Revocable: issued, not revoked, not expired; the order page offers
	// its own revocation to those who may write orders.
	Revocable bool
}

type requestRow struct {
	ID        int64
	OrderID   int64
	Common    string
	Type      string
	Status    string
	Date      string
	Requester string
	Processor string
	Comments  string
	Processed string
	Answer    string
	// CanDecide: the viewer may approve or reject it now.
	CanDecide bool
}

type orderData struct {
	Order        *store.Order
	Product      catalog.Product
	Requester    string
	Certificates []certView
	Requests     []requestRow
	Revocation   string
	Reasons      []string
	CanWrite     bool
	CanCancel    bool
	CanReissue   bool
	CanDuplicate bool
	CanRevoke    bool
	// CanSkip: the viewer may revoke without a request.
	CanSkip bool
}

func (s *Server) orderPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.orderData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "order", d)
	return nil
}

// orderData reads an order the caller may see (another container's, or
// another user's for a limited user, is not found) with its certificates
// decoded and its history.
func (s *Server) orderData(r *http.Request, v *visit) (*orderData, error) {
	ctx := r.Context()
	id, err := pathID(r, "id", "order")
	if err != nil {
		return nil, err
	}
	acct := v.Actor.Account.ID
	o, err := s.Store.Order(ctx, acct, id)
	if err != nil {
		return nil, notFound(err, "order", id)
	}
	p, _ := s.Orders.Products().Lookup(o.ProductNameID)
	d := &orderData{Order: o, Product: p, Requester: s.userName(ctx, acct, o.UserID), CanWrite: allowed(v, account.AreaOrders, false)}
	for reason := range order.RevocationReasons {
		d.Reasons = append(d.Reasons, reason)
	}
	slices.Sort(d.Reasons)
	if o.CertificateID != 0 {
		c, err := s.Store.Certificate(ctx, acct, o.CertificateID)
		if err != nil {
			return nil, errs.Internalf(err, "read certificate of order %d", o.ID)
		}
		cv, err := s.certView(ctx, o, c, "Certificate")
		if err != nil {
			return nil, err
		}
		d.Certificates = append(d.Certificates, cv)
	}
	for _, kind := range []string{store.CertKindReissue, store.CertKindDuplicate} {
		linked, err := s.Store.LinkedCertificates(ctx, acct, o.ID, kind)
		if err != nil {
			return nil, errs.Internalf(err, "list %s certificates of order %d", kind, o.ID)
		}
		for i := range linked {
			c := &linked[i]
			if c.ID == o.CertificateID {
				continue // the current primary, shown first
			}
			label := "Reissue"
			if kind == store.CertKindDuplicate {
				label = fmt.Sprintf("Duplicate %03d", c.Link.SubID)
			}
			cv, err := s.certView(ctx, o, &c.Certificate, label)
			if err != nil {
				return nil, err
			}
			d.Certificates = append(d.Certificates, cv)
		}
	}
	reqs, err := s.Store.RequestsForOrder(ctx, acct, o.ID)
	if err != nil {
		return nil, errs.Internalf(err, "list requests of order %d", o.ID)
	}
	if d.Requests, err = s.requestRows(ctx, v, reqs); err != nil {
		return nil, err
	}
	issued := o.Status == store.OrderIssued
	d.CanCancel = d.CanWrite && slices.Contains([]string{store.OrderPending, store.OrderNeedsCSR, store.OrderReissuePending}, o.Status)
	d.CanReissue = d.CanWrite && issued
	d.CanDuplicate = d.CanWrite && issued && p.DuplicatesAllowed
	d.CanRevoke = d.CanWrite && issued
	d.CanSkip = d.CanWrite && order.CanSkipRevokeApproval(v.Actor)
	return d, nil
}

// certView decodes a certificate for the order page.
func (s *Server) certView(ctx context.Context, o *store.Order, c *store.Certificate, kind string) (certView, error) {
	cv := certView{ID: c.ID, Kind: kind, Status: c.Status, Serial: c.SerialNumber, Thumbprint: c.Thumbprint, DNSNames: c.DNSNames}
	if len(c.DER) > 0 {
		x, err := x509.ParseCertificate(c.DER)
		if err != nil {
			return cv, errs.Internalf(err, "parse certificate %d", c.ID)
		}
		cv.Issued = c.Status == store.CertIssued || c.Status == store.CertRevoked
		cv.Subject, cv.Issuer = x.Subject.String(), x.Issuer.String()
		cv.Serial = ca.SerialHex(x.SerialNumber)
		cv.NotBefore, cv.NotAfter = x.NotBefore.UTC().Format("2006-01-02 15:04 UTC"), x.NotAfter.UTC().Format("2006-01-02 15:04 UTC")
		cv.Key, cv.Signature = keyName(x.PublicKey), x.SignatureAlgorithm.String()
		cv.DNSNames, cv.Emails = x.DNSNames, x.EmailAddresses
		for _, ip := range x.IPAddresses {
			cv.IPs = append(cv.IPs, ip.String())
		}
		for _, p := range x.Policies {
			cv.Policies = append(cv.Policies, p.String())
		}
	}
	if c.Status == store.CertRevoked {
		rv, err := s.Store.Revocation(ctx, o.AccountID, c.ID)
		if err == nil {
			reason := strconv.Itoa(rv.Reason)
			for name, code := range order.RevocationReasons {
				if code == rv.Reason {
					reason = strings.ReplaceAll(name, "_", " ")
				}
			}
			cv.Revoked = fmt.Sprintf("%s, %s", rv.RevokedAt.UTC().Format("2006-01-02 15:04 UTC"), reason)
		} else if !errors.Is(err, store.ErrNotFound) {
			return cv, errs.Internalf(err, "read revocation of certificate %d", c.ID)
		}
	}
	cv.Revocable = c.Status == store.CertIssued && len(c.DER) > 0 && c.NotAfter.After(s.Now())
	if cv.Issued {
		for _, f := range order.Formats {
			cv.Downloads = append(cv.Downloads, option{fmt.Sprintf("/console/orders/%d/certificates/%d/%s", o.ID, c.ID, f), formatNames[f]})
		}
	}
	return cv, nil
}

// formatNames describe the download formats of the glossary (spec §4.2).
var formatNames = map[string]string{
	"pem_all": "PEM with chain and root", "pem_noroot": "PEM with chain", "pem_nointermediate": "PEM, certificate only",
	"p7b": "PKCS#7 (.p7b)", "cer": "PKCS#7 (.cer)", "default": "ZIP, .crt files", "default_pem": "ZIP, .crt files (PEM)",
	"default_cer": "ZIP, .cer files", "apache": "ZIP for Apache",
}

func keyName(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return "unknown"
}

func (s *Server) userName(ctx context.Context, acct, id int64) string {
	if id == 0 {
		return "certorder"
	}
	u, err := s.Store.User(ctx, acct, id)
	if err != nil {
		return fmt.Sprintf("user %d", id)
	}
	return fmt.Sprintf("%s %s (%s)", u.FirstName, u.LastName, u.Username)
}

// requestRows describes requests, saying which the viewer may decide.
func (s *Server) requestRows(ctx context.Context, v *visit, reqs []store.Request) ([]requestRow, error) {
	out := []requestRow{}
	approver := account.CanApprove(v.Actor)
	for _, rq := range reqs {
		row := requestRow{ID: rq.ID, OrderID: rq.OrderID, Type: rq.Type, Status: rq.Status, Date: day(rq.Date),
			Requester: s.userName(ctx, rq.AccountID, rq.RequesterID), Comments: rq.Comments, Answer: rq.ProcessorComment}
		if o, err := s.Store.Order(ctx, rq.AccountID, rq.OrderID); err == nil {
			row.Common = o.CommonName
		}
		if rq.ProcessorID != 0 {
			row.Processor = s.userName(ctx, rq.AccountID, rq.ProcessorID)
		}
		if rq.DateProcessed != nil {
			row.Processed = day(*rq.DateProcessed)
		}
		waiting := rq.Status == store.RequestPending || rq.Status == store.RequestSubmitted
		row.CanDecide = approver && waiting && rq.ReviewerID != v.Actor.User.ID
		out = append(out, row)
	}
	return out, nil
}

// ---- actions on an order

// orderFailure shows the order page again with what the action's rule
// said, or passes on an error that is no verdict on the input.
func (s *Server) orderFailure(w http.ResponseWriter, r *http.Request, v *visit, err error) error {
	e := problem(err)
	if e.Kind != errs.Invalid && e.Kind != errs.Conflict && e.Kind != errs.Forbidden {
		return err
	}
	d, derr := s.orderData(r, v)
	if derr != nil {
		return derr
	}
	s.render(w, r, v, statusOf(e.Kind), "order", &view{D: d, Errors: e.Details, Form: r.PostForm})
	return nil
}

func orderPath(id int64) string { return "/console/orders/" + strconv.FormatInt(id, 10) }

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r, "id", "order")
	if err != nil {
		return err
	}
	in := &order.OrderStatusInput{Status: order.StatusCanceled, Note: r.PostFormValue("note")}
	if err := s.Orders.UpdateOrderStatus(r.Context(), v.Actor, id, in); err != nil {
		return s.orderFailure(w, r, v, err)
	}
	return redirect(w, r, orderPath(id), "canceled")
}

// maxCSR bounds an uploaded CSR file; a real one is a few kilobytes.
const maxCSR = 64 << 10

// csrOf is the CSR of a form: the uploaded file when there is one, the
// text area otherwise.
func csrOf(r *http.Request) (string, error) {
	if f, _, err := r.FormFile("csr_file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxCSR+1))
		if err != nil || len(b) > maxCSR {
			return "", errs.InvalidValue("csr", "The CSR file could not be read or is larger than %d bytes.", maxCSR)
		}
		if strings.TrimSpace(string(b)) != "" {
			return string(b), nil
		}
	}
	return r.PostFormValue("csr"), nil
}

func (s *Server) certOp(w http.ResponseWriter, r *http.Request, v *visit, op func(context.Context, account.Actor, int64, *order.CertOpInput) (*order.CreateResult, error), done string) error {
	id, err := pathID(r, "id", "order")
	if err != nil {
		return err
	}
	csr, err := csrOf(r)
	if err != nil {
		return s.orderFailure(w, r, v, err)
	}
	in := &order.CertOpInput{Certificate: &order.CertificateInput{CSR: csr}, Comments: r.PostFormValue("comments")}
	if _, err := op(r.Context(), v.Actor, id, in); err != nil {
		return s.orderFailure(w, r, v, err)
	}
	return redirect(w, r, orderPath(id), done)
}

func (s *Server) reissue(w http.ResponseWriter, r *http.Request, v *visit) error {
	return s.certOp(w, r, v, s.Orders.Reissue, "reissued")
}

func (s *Server) duplicate(w http.ResponseWriter, r *http.Request, v *visit) error {
	return s.certOp(w, r, v, s.Orders.Duplicate, "duplicated")
}

// revokeInput is the body of the revoke calls a revoke form stands for.
func revokeInput(r *http.Request) *order.RevokeInput {
	return &order.RevokeInput{RevocationReason: r.PostFormValue("reason"), Comments: r.PostFormValue("comments"),
		SkipApproval: flex.Bool{V: r.PostFormValue("skip_approval") == "1", Set: r.PostFormValue("skip_approval") != ""}}
}

// revoke is PUT /order/certificate/{id}/revoke: every certificate of the
// order, or a request for it.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r, "id", "order")
	if err != nil {
		return err
	}
	if _, err := s.Orders.RevokeOrder(r.Context(), v.Actor, id, revokeInput(r)); err != nil {
		return s.orderFailure(w, r, v, err)
	}
	return redirect(w, r, orderPath(id), "revoked")
}

// revokeCertificate is PUT /certificate/{id}/revoke: one certificate of
// the order (a duplicate, a reissue's predecessor, the primary), or a
// request for it; the order itself stays as it is.
func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request, v *visit) error {
	o, c, err := s.orderCertificate(r, v)
	if err != nil {
		return err
	}
	if _, err := s.Orders.RevokeCertificate(r.Context(), v.Actor, c.ID, revokeInput(r)); err != nil {
		return s.orderFailure(w, r, v, err)
	}
	return redirect(w, r, orderPath(o.ID), "revoked")
}

// orderCertificate reads the order and the certificate of the path, the
// certificate being one of that order's: a certificate of another order
// (one the caller may see or not) is not found under this one.
func (s *Server) orderCertificate(r *http.Request, v *visit) (*store.Order, *store.Certificate, error) {
	id, err := pathID(r, "id", "order")
	if err != nil {
		return nil, nil, err
	}
	certID, err := pathID(r, "cert", "certificate")
	if err != nil {
		return nil, nil, err
	}
	o, err := s.Store.Order(r.Context(), v.Actor.Account.ID, id)
	if err != nil {
		return nil, nil, notFound(err, "order", id)
	}
	c, err := s.Store.Certificate(r.Context(), v.Actor.Account.ID, certID)
	if err != nil {
		return nil, nil, notFound(err, "certificate", certID)
	}
	if c.OrderID != o.ID {
		return nil, nil, errs.NotFoundf("certificate", "Order %d has no certificate %d.", o.ID, certID)
	}
	return o, c, nil
}

// download serves a certificate of an order in one of the glossary's
// formats, rendered as the API renders it.
func (s *Server) download(w http.ResponseWriter, r *http.Request, v *visit) error {
	_, c, err := s.orderCertificate(r, v)
	if err != nil {
		return err
	}
	dl, err := order.RenderDownload(s.CA, c, r.PathValue("format"), false)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", dl.ContentType)
	w.Header().Set("Content-Disposition", dl.Disposition())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(dl.Body)
	return nil
}

func day(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02")
}

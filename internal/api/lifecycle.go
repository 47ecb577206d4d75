package api

// Order operations (issue 4): cancel and status updates, reissue and
// duplicate with their listings, the status-change list, and the list
// filters of spec §2.3 / §3.2 beyond the first ones.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// updateOrderStatus: PUT /order/certificate/{id}/status → 204.
func (s *Server) updateOrderStatus(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in order.OrderStatusInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Orders.UpdateOrderStatus(r.Context(), a, o.ID, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// updateAutoReissue: PUT /order/certificate/{id}/auto-reissue
// {"auto_reissue": 0|1} → 204.
func (s *Server) updateAutoReissue(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in struct {
		AutoReissue flex.Int `json:"auto_reissue"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Orders.SetAutoReissue(r.Context(), a, o.ID, in.AutoReissue); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// certOpAnswer is the 201 of a reissue or duplicate: the order-create
// family (spec §2.10, §2.11).
type certOpAnswer struct {
	ID               int64            `json:"id"`
	Requests         []requestRefView `json:"requests,omitempty"`
	CertificateID    int64            `json:"certificate_id,omitempty"`
	CertificateChain []chainElem      `json:"certificate_chain,omitempty"`
}

func (s *Server) reissueOrder(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	return s.certOperation(w, r, a, s.Orders.Reissue)
}

func (s *Server) duplicateOrder(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	return s.certOperation(w, r, a, s.Orders.Duplicate)
}

type certOpFunc func(ctx context.Context, a account.Actor, orderID int64, in *order.CertOpInput) (*order.CreateResult, error)

func (s *Server) certOperation(w http.ResponseWriter, r *http.Request, a account.Actor, op certOpFunc) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in order.CertOpInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := op(r.Context(), a, o.ID, &in)
	if err != nil {
		return err
	}
	ans := certOpAnswer{ID: res.OrderID, CertificateID: res.CertificateID}
	for _, rq := range res.Requests {
		ans.Requests = append(ans.Requests, requestRefView{ID: rq.ID, Status: rq.Status})
	}
	if len(res.Chain) > 0 {
		ans.CertificateChain = chainElems(res.Chain)
	}
	writeJSON(w, http.StatusCreated, ans)
	return nil
}

// reissueView is one entry of GET /order/certificate/{id}/reissue (spec
// §2.10; note firstname/lastname without underscore).
type reissueView struct {
	ID                     int64    `json:"id"`
	Thumbprint             string   `json:"thumbprint,omitempty"`
	SerialNumber           string   `json:"serial_number,omitempty"`
	CommonName             string   `json:"common_name"`
	DNSNames               []string `json:"dns_names"`
	Status                 string   `json:"status"`
	DateCreated            string   `json:"date_created"`
	DateIssued             string   `json:"date_issued,omitempty"`
	ValidFrom              string   `json:"valid_from,omitempty"`
	ValidTill              string   `json:"valid_till,omitempty"`
	DaysRemaining          *int     `json:"days_remaining,omitempty"`
	CSR                    string   `json:"csr,omitempty"`
	KeySize                int      `json:"key_size,omitempty"`
	SignatureHash          string   `json:"signature_hash,omitempty"`
	Archived               bool     `json:"archived"`
	UserID                 int64    `json:"user_id,omitempty"`
	Email                  string   `json:"email,omitempty"`
	FirstName              string   `json:"firstname,omitempty"`
	LastName               string   `json:"lastname,omitempty"`
	PurchasedDNSNames      int      `json:"purchased_dns_names"`
	PurchasedWildcardNames int      `json:"purchased_wildcard_names"`
	Emails                 []string `json:"emails,omitempty"`
	IPAddresses            []string `json:"ip_addresses,omitempty"`
}

// duplicateView is one entry of GET /order/certificate/{id}/duplicate
// (spec §2.11).
type duplicateView struct {
	ID             int64         `json:"id"`
	Thumbprint     string        `json:"thumbprint,omitempty"`
	SerialNumber   string        `json:"serial_number,omitempty"`
	CommonName     string        `json:"common_name"`
	DNSNames       []string      `json:"dns_names"`
	Status         string        `json:"status"`
	DateCreated    string        `json:"date_created"`
	ValidFrom      string        `json:"valid_from,omitempty"`
	ValidTill      string        `json:"valid_till,omitempty"`
	DaysRemaining  *int          `json:"days_remaining,omitempty"`
	CSR            string        `json:"csr,omitempty"`
	ServerPlatform *platformView `json:"server_platform,omitempty"`
	SignatureHash  string        `json:"signature_hash,omitempty"`
	KeySize        int           `json:"key_size,omitempty"`
	CACertID       string        `json:"ca_cert_id,omitempty"`
	SubID          string        `json:"sub_id"`
	Archived       bool          `json:"archived"`
	UserID         int64         `json:"user_id,omitempty"`
	FirstName      string        `json:"firstname,omitempty"`
	LastName       string        `json:"lastname,omitempty"`
	Emails         []string      `json:"emails,omitempty"`
	IPAddresses    []string      `json:"ip_addresses,omitempty"`
}

// listReissues: GET /order/certificate/{id}/reissue[?show_archived=].
// Nothing is ever archived, so show_archived changes nothing.
func (s *Server) listReissues(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, certs, err := s.linkedList(r, a, store.CertKindReissue)
	if err != nil {
		return err
	}
	vc := s.newViewCache(a.Account.ID)
	plain, wild := 0, 0
	for _, n := range o.DNSNames {
		if strings.HasPrefix(n, "*.") {
			wild++
		} else {
			plain++
		}
	}
	out := make([]reissueView, 0, len(certs))
	for i := range certs {
		c := &certs[i]
		v := reissueView{ID: c.ID, CommonName: c.CommonName, DNSNames: nonNilStrings(c.DNSNames), Status: c.Status,
			DateCreated: stamp(c.CreatedAt), CSR: c.CSR, KeySize: c.KeySize, SignatureHash: c.SignatureHash,
			PurchasedDNSNames: plain, PurchasedWildcardNames: wild, Emails: c.Link.Emails, IPAddresses: c.Link.IPAddresses}
		if c.Status != store.CertPending && len(c.DER) > 0 {
			v.Thumbprint, v.SerialNumber = c.Thumbprint, c.SerialNumber
			v.ValidFrom, v.ValidTill, v.DaysRemaining = date(c.NotBefore), date(c.NotAfter), daysRemaining(c.NotAfter, s.Now())
			if c.IssuedAt != nil {
				v.DateIssued = stamp(*c.IssuedAt)
			}
		}
		if u := vc.user(r.Context(), c.Link.UserID); u != nil {
			v.UserID, v.Email, v.FirstName, v.LastName = u.ID, u.Email, u.FirstName, u.LastName
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
	return nil
}

// listDuplicates: GET /order/certificate/{id}/duplicate[?show_archived=].
func (s *Server) listDuplicates(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	_, certs, err := s.linkedList(r, a, store.CertKindDuplicate)
	if err != nil {
		return err
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]duplicateView, 0, len(certs))
	for i := range certs {
		c := &certs[i]
		v := duplicateView{ID: c.ID, CommonName: c.CommonName, DNSNames: nonNilStrings(c.DNSNames), Status: c.Status,
			DateCreated: stamp(c.CreatedAt), CSR: c.CSR, ServerPlatform: platformOf(c.Link.ServerPlatformID),
			SignatureHash: c.SignatureHash, KeySize: c.KeySize, CACertID: c.IssuerID, SubID: fmt.Sprintf("%03d", c.Link.SubID),
			Emails: c.Link.Emails, IPAddresses: c.Link.IPAddresses}
		if v.CACertID == "" {
			v.CACertID = c.Link.CACertID
		}
		if c.Status != store.CertPending && len(c.DER) > 0 {
			v.Thumbprint, v.SerialNumber = c.Thumbprint, c.SerialNumber
			v.ValidFrom, v.ValidTill, v.DaysRemaining = date(c.NotBefore), date(c.NotAfter), daysRemaining(c.NotAfter, s.Now())
		}
		if u := vc.user(r.Context(), c.Link.UserID); u != nil {
			v.UserID, v.FirstName, v.LastName = u.ID, u.FirstName, u.LastName
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
	return nil
}

func (s *Server) linkedList(r *http.Request, a account.Actor, kind string) (*store.Order, []store.LinkedCertificate, error) {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	if v := r.URL.Query().Get("show_archived"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, nil, errs.InvalidValue("show_archived", "show_archived must be true or false.")
		}
	}
	certs, err := s.Store.LinkedCertificates(r.Context(), a.Account.ID, o.ID, kind)
	if err != nil {
		return nil, nil, errs.Internalf(err, "list %s certificates of order %d", kind, o.ID)
	}
	return o, certs, nil
}

// Status-change list limits (spec §2.4): at most 7 days.
const (
	maxStatusWindow  = 7 * 24 * time.Hour
	maxWindowMinutes = 10080
	maxWindowSeconds = 604800
)

type statusChangeView struct {
	OrderID       int64  `json:"order_id"`
	CertificateID int64  `json:"certificate_id,omitempty"`
	Status        string `json:"status"`
}

// statusChanges: GET /order/certificate/status-changes with minutes
// and/or seconds (a window ending now), or
// filters[status_last_updated]=start...end.
func (s *Server) statusChanges(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	q := r.URL.Query()
	now := s.Orders.Clock()
	tooLong := errs.New(errs.Invalid, "time_frame_too_long", "The time frame may be at most 7 days (10080 minutes, 604800 seconds).")
	var from, to time.Time
	var span time.Duration
	relative := false
	for _, f := range []struct {
		name string
		max  int64
		unit time.Duration
	}{{"minutes", maxWindowMinutes, time.Minute}, {"seconds", maxWindowSeconds, time.Second}} {
		v := strings.TrimSpace(q.Get(f.name))
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errs.InvalidValue(f.name, "%s must be a non-negative integer.", f.name)
		}
		if n > f.max {
			return tooLong
		}
		span += time.Duration(n) * f.unit
		relative = true
	}
	switch rng := strings.TrimSpace(q.Get("filters[status_last_updated]")); {
	case relative:
		if span > maxStatusWindow {
			return tooLong
		}
		from, to = now.Add(-span), now.Add(time.Microsecond)
	case rng != "":
		tr, err := listq.TimeRange(rng)
		if err != nil {
			return errs.InvalidValue("filters[status_last_updated]", "filters[status_last_updated] must be start...end, each yyyy-MM-dd or yyyy-MM-dd HH:mm:ss: %v.", err)
		}
		if tr.From.IsZero() || tr.To.IsZero() {
			return errs.InvalidValue("filters[status_last_updated]", "filters[status_last_updated] needs both a start and an end: start...end.")
		}
		if tr.To.Sub(tr.From) > maxStatusWindow+time.Second {
			return tooLong
		}
		from, to = tr.From, tr.To
	default:
		return errs.MissingField("filters[status_last_updated]")
	}
	changes, err := s.Store.StatusChanges(r.Context(), a.Account.ID, from, to)
	if err != nil {
		return errs.Internalf(err, "list status changes")
	}
	_, scoped := account.ScopeFrom(r.Context())
	out := make([]statusChangeView, 0, len(changes))
	for _, c := range changes {
		if scoped {
			// A caller limited to some containers (or to their own
			// orders) sees the changes of the orders they can read.
			if _, err := s.Store.Order(r.Context(), a.Account.ID, c.OrderID); err != nil {
				continue
			}
		}
		out = append(out, statusChangeView{OrderID: c.OrderID, CertificateID: c.CertificateID, Status: c.Status})
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
	return nil
}

// requestedCertificate shows, in a reissue or duplicate request, the
// certificate the request asks for: its names, CSR and hash, so that an
// approver sees what they approve.
func (s *Server) requestedCertificate(r *http.Request, rq *store.Request, c *requestOrderCert, full bool) error {
	link, err := s.Store.CertificateLinkByRequest(r.Context(), rq.AccountID, rq.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cert, err := s.Store.Certificate(r.Context(), rq.AccountID, link.CertificateID)
	if err != nil {
		return err
	}
	c.CommonName = cert.CommonName
	if full {
		c.DNSNames, c.CSR, c.SignatureHash, c.KeySize = cert.DNSNames, cert.CSR, cert.SignatureHash, cert.KeySize
		c.ServerPlatform = platformOf(link.ServerPlatformID)
	}
	return nil
}

// hasDuplicates: the order has an issued duplicate certificate (the
// has_duplicates of the order list).
func (s *Server) hasDuplicates(ctx context.Context, o *store.Order) bool {
	dups, err := s.Store.LinkedCertificates(ctx, o.AccountID, o.ID, store.CertKindDuplicate)
	if err != nil {
		s.Log.ErrorContext(ctx, "list duplicates", "order", o.ID, "err", err)
		return false
	}
	for _, d := range dups {
		if d.Status == store.CertIssued {
			return true
		}
	}
	return false
}

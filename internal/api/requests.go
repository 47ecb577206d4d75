package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

type requestOrderCert struct {
	CommonName     string        `json:"common_name"`
	DNSNames       []string      `json:"dns_names,omitempty"`
	CSR            string        `json:"csr,omitempty"`
	Organization   *idView       `json:"organization,omitempty"`
	ServerPlatform *platformView `json:"server_platform,omitempty"`
	SignatureHash  string        `json:"signature_hash,omitempty"`
	KeySize        int           `json:"key_size,omitempty"`
}

type requestOrderView struct {
	ID            int64              `json:"id"`
	Certificate   requestOrderCert   `json:"certificate"`
	Status        string             `json:"status,omitempty"`
	IsRenewal     *bool              `json:"is_renewal,omitempty"`
	Organization  *orgShortView      `json:"organization,omitempty"`
	Container     containerShortView `json:"container"`
	Product       productView        `json:"product"`
	ValidityYears int                `json:"validity_years,omitempty"`
	Requests      []requestShortView `json:"requests,omitempty"`
}

type requestView struct {
	ID               int64            `json:"id"`
	Date             string           `json:"date"`
	Type             string           `json:"type"`
	Status           string           `json:"status"`
	DateProcessed    string           `json:"date_processed,omitempty"`
	Requester        *userShortView   `json:"requester,omitempty"`
	Reviewer         *userShortView   `json:"reviewer,omitempty"`
	Processor        *userShortView   `json:"processor,omitempty"`
	Order            requestOrderView `json:"order"`
	Comments         string           `json:"comments,omitempty"`
	ProcessorComment string           `json:"processor_comment,omitempty"`
}

func userShort(u *store.User) *userShortView {
	if u == nil {
		return nil
	}
	return &userShortView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}
}

func (s *Server) requestView(r *http.Request, vc *viewCache, rq *store.Request, full bool) (*requestView, error) {
	ctx := r.Context()
	o, err := s.Store.Order(ctx, rq.AccountID, rq.OrderID)
	if err != nil {
		return nil, err
	}
	v := &requestView{ID: rq.ID, Date: stamp(rq.Date), Type: rq.Type, Status: rq.Status,
		Requester: userShort(vc.user(ctx, rq.RequesterID)), Comments: rq.Comments, ProcessorComment: rq.ProcessorComment}
	if rq.DateProcessed != nil {
		v.DateProcessed = stamp(*rq.DateProcessed)
	}
	if rq.ProcessorID != 0 {
		v.Processor = userShort(vc.user(ctx, rq.ProcessorID))
	}
	if rq.ReviewerID != 0 {
		v.Reviewer = userShort(vc.user(ctx, rq.ReviewerID))
	}
	p := s.productOf(o.ProductNameID)
	v.Order = requestOrderView{ID: o.ID, Certificate: requestOrderCert{CommonName: o.CommonName},
		Organization: orgShort(vc.org(ctx, o.OrganizationID), false),
		Container:    containerShort(vc.container(ctx, o.ContainerID), o.ContainerID),
		Product:      productView{NameID: p.NameID, Name: p.Name, Type: p.Type}}
	if full {
		renewal := o.RenewalOfOrderID != 0
		v.Order.Status, v.Order.IsRenewal, v.Order.ValidityYears = o.Status, &renewal, o.ValidityYears
		v.Order.Product = p
		c := &v.Order.Certificate
		c.DNSNames, c.CSR, c.SignatureHash = o.DNSNames, o.CSR, o.SignatureHash
		if o.OrganizationID != 0 {
			c.Organization = &idView{ID: o.OrganizationID}
		}
		c.ServerPlatform = platformOf(o.ServerPlatformID)
		c.KeySize = csrKeySize(o.CSR)
		reqs, err := s.Store.RequestsForOrder(ctx, o.AccountID, o.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range reqs {
			v.Order.Requests = append(v.Order.Requests, requestShortView{ID: x.ID, Date: stamp(x.Date), Type: x.Type, Status: x.Status, Comments: x.Comments})
		}
	}
	if rq.Type == store.RequestReissue || rq.Type == store.RequestDuplicate {
		// The certificate asked for, not the order's current one (lifecycle.go).
		if err := s.requestedCertificate(r, rq, &v.Order.Certificate, full); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFoundf(what, "%s %q was not found.", what, r.PathValue(name))
	}
	return id, nil
}

func (s *Server) requestInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "request")
	if err != nil {
		return err
	}
	rq, err := s.Store.Request(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("request", "Request %d was not found.", id)
	}
	if err != nil {
		return errs.Internalf(err, "read request %d", id)
	}
	v, err := s.requestView(r, s.newViewCache(a.Account.ID), rq, true)
	if err != nil {
		return errs.Internalf(err, "render request %d", id)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	f, page, err := listq.Requests(r.URL.Query())
	if err != nil {
		return err
	}
	reqs, total, err := s.Store.Requests(r.Context(), a.Account.ID, f, page)
	if err != nil {
		return errs.Internalf(err, "list requests")
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]*requestView, 0, len(reqs))
	for i := range reqs {
		v, err := s.requestView(r, vc, &reqs[i], false)
		if err != nil {
			return errs.Internalf(err, "render request %d", reqs[i].ID)
		}
		out = append(out, v)
	}
	if wantsCSV(r) {
		return writeRequestsCSV(w, out) // csv.go
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": out, "page": pageView{Total: total, Limit: page.Limit, Offset: page.Offset}})
	return nil
}

func (s *Server) updateRequestStatus(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "request")
	if err != nil {
		return err
	}
	var in order.RequestStatusInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Orders.UpdateRequestStatus(r.Context(), a, id, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}

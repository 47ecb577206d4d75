package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
)

type requestsData struct {
	Rows       []requestRow
	Page       pager
	CanApprove bool
}

// requests is the approval queue: the request list with the API's
// filters (waiting requests by default), each waiting request with
// approve and reject buttons for those who approve.
func (s *Server) requests(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := queueQuery(r.URL.Query())
	d, err := s.requestsData(r, v, q)
	if err != nil {
		return s.formFailureQuery(w, r, v, "requests", err, &requestsData{CanApprove: account.CanApprove(v.Actor)})
	}
	s.render(w, r, v, http.StatusOK, "requests", &view{D: d, Form: q})
	return nil
}

// queueQuery is the queue's list query: waiting requests, newest first,
// unless it says otherwise.
func queueQuery(q url.Values) url.Values {
	q = listQuery(q)
	if _, ok := q["filters[status]"]; !ok {
		q.Set("filters[status]", "pending")
	}
	if q.Get("sort") == "" {
		q.Set("sort", "-id")
	}
	return q
}

func (s *Server) requestsData(r *http.Request, v *visit, q url.Values) (*requestsData, error) {
	d := &requestsData{CanApprove: account.CanApprove(v.Actor)}
	f, page, err := listq.Requests(q)
	if err != nil {
		return nil, err
	}
	list, total, err := s.Store.Requests(r.Context(), v.Actor.Account.ID, f, page)
	if err != nil {
		return nil, errs.Internalf(err, "list requests")
	}
	if d.Rows, err = s.requestRows(r.Context(), v, list); err != nil {
		return nil, err
	}
	d.Page = pageOf(q, page, total, len(list))
	return d, nil
}

// decide approves or rejects a request with a comment, through the rule
// the API's PUT /request/{id}/status uses (who may, two-step approval).
func (s *Server) decide(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r, "id", "request")
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	in := &order.RequestStatusInput{Status: status, ProcessorComment: strings.TrimSpace(r.PostFormValue("comment"))}
	back := r.PostFormValue("back")
	err = s.Orders.UpdateRequestStatus(r.Context(), v.Actor, id, in)
	if err != nil {
		if oid, _ := strconv.ParseInt(strings.TrimPrefix(back, "/console/orders/"), 10, 64); oid > 0 && strings.HasPrefix(back, "/console/orders/") {
			r.SetPathValue("id", strconv.FormatInt(oid, 10))
			return s.orderFailure(w, r, v, err)
		}
		e := problem(err)
		if e.Kind != errs.Invalid && e.Kind != errs.Conflict && e.Kind != errs.Forbidden {
			return err
		}
		q := queueQuery(url.Values{})
		d, derr := s.requestsData(r, v, q)
		if derr != nil {
			return derr
		}
		s.render(w, r, v, statusOf(e.Kind), "requests", &view{D: d, Errors: e.Details, Form: q})
		return nil
	}
	done := map[string]string{"approved": "approved", "rejected": "rejected", "pending": "approved"}[status]
	if back != "" && strings.HasPrefix(back, "/console/orders/") && !strings.ContainsAny(back, "?#\\") {
		return redirect(w, r, back, done)
	}
	return redirect(w, r, "/console/requests", done)
}

package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// dashboardStatuses are the order statuses the dashboard counts, in the
// order of the lifecycle.
var dashboardStatuses = []string{store.OrderNeedsApproval, store.OrderPending, store.OrderNeedsCSR, store.OrderReissuePending,
	store.OrderIssued, store.OrderRejected, store.OrderCanceled, store.OrderRevoked, store.OrderExpired}

// expiryWindows are the dashboard's chart: issued certificates ending
// within so many days.
var expiryWindows = []int{7, 30, 90}

type statusCount struct {
	Status string
	Count  int
	Href   string
}

type expiryBar struct {
	Days, Count int
	Href        string
	// Geometry of the bar in the chart's coordinates.
	X, Y, W, H, LabelY int
}

type dashboardData struct {
	ShowOrders bool
	ByStatus   []statusCount
	Bars       []expiryBar
	ChartW     int
	ChartH     int
	BaseY      int
	Waiting    []requestRow
	CanApprove bool
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, v *visit) error {
	d := &dashboardData{CanApprove: account.CanApprove(v.Actor)}
	if allowed(v, account.AreaOrders, true) {
		// The orders area is not the dashboard's own: its reads pass the
		// same check as the order pages' (and get their scope).
		ctx, err := account.Authorize(r.Context(), s.Store, v.Actor, account.AreaOrders, true)
		if err != nil {
			return err
		}
		d.ShowOrders = true
		if err := s.fillDashboard(ctx, v, d); err != nil {
			return err
		}
	}
	s.render(w, r, v, http.StatusOK, "dashboard", d)
	return nil
}

func (s *Server) fillDashboard(ctx context.Context, v *visit, d *dashboardData) error {
	acct := v.Actor.Account.ID
	count := func(f store.OrderFilter) (int, error) {
		_, n, err := s.Store.Orders(ctx, acct, f, store.Page{Limit: 1})
		return n, err
	}
	for _, st := range dashboardStatuses {
		n, err := count(store.OrderFilter{Status: st})
		if err != nil {
			return errs.Internalf(err, "count orders")
		}
		d.ByStatus = append(d.ByStatus, statusCount{Status: st, Count: n, Href: "/console/orders?" + url.Values{"filters[status]": {st}}.Encode()})
	}
	now := s.Now().UTC()
	maxCount := 1
	for _, days := range expiryWindows {
		end := now.AddDate(0, 0, days)
		n, err := count(store.OrderFilter{Status: store.OrderIssued, ValidTill: store.TimeRange{From: now, To: end}})
		if err != nil {
			return errs.Internalf(err, "count expiring orders")
		}
		maxCount = max(maxCount, n)
		q := url.Values{"filters[status]": {store.OrderIssued}, "filters[valid_till]": {now.Format("2006-01-02") + "..." + end.Format("2006-01-02")}, "sort": {"valid_till"}}
		d.Bars = append(d.Bars, expiryBar{Days: days, Count: n, Href: "/console/orders?" + q.Encode()})
	}
	// A bar chart drawn here, in SVG: no script and no chart service.
	const barW, gap, top, plotH = 80, 40, 24, 160
	d.ChartW, d.ChartH, d.BaseY = gap+len(d.Bars)*(barW+gap), top+plotH+40, top+plotH
	for i := range d.Bars {
		b := &d.Bars[i]
		b.W, b.H = barW, b.Count*plotH/maxCount
		b.X, b.Y = gap+i*(barW+gap), top+plotH-b.H
		b.LabelY = b.Y - 6
	}
	waiting, err := s.waitingFor(ctx, v)
	if err != nil {
		return err
	}
	d.Waiting = waiting
	return nil
}

// waitingFor lists the requests waiting on the viewer: for those who
// approve, every request they may act on now (a two-step request's second
// approval is not its first approver's); for everyone else, their own
// requests still waiting for someone who approves.
func (s *Server) waitingFor(ctx context.Context, v *visit) ([]requestRow, error) {
	acct := v.Actor.Account.ID
	var out []store.Request
	for _, st := range []string{store.RequestSubmitted, store.RequestPending} {
		reqs, _, err := s.Store.Requests(ctx, acct, store.RequestFilter{Status: st}, store.Page{Limit: 200, Sort: []string{"-id"}})
		if err != nil {
			return nil, errs.Internalf(err, "list waiting requests")
		}
		for _, rq := range reqs {
			mine := rq.RequesterID == v.Actor.User.ID
			if account.CanApprove(v.Actor) {
				if rq.ReviewerID != v.Actor.User.ID {
					out = append(out, rq)
				}
			} else if mine {
				out = append(out, rq)
			}
		}
	}
	return s.requestRows(ctx, v, out)
}

// Package listq reads the list grammar of CertCentral's list endpoints
// (spec §1.5): offset, limit, sort and filters[...] of the query string,
// the free-text search and the date ranges, and the order and request
// filters of spec §2.3 and §3.2. The API and the console both read their
// lists through it, so a filter means the same on every page.
package listq

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

// Params is what Parse reads: offset, limit, sort and filters[...] (spec §1.5).
type Params struct {
	Page    store.Page
	Filters map[string]string
}

const MaxLimit = 1000

func Parse(q url.Values, sortKeys map[string]string) (Params, error) {
	lp := Params{Filters: map[string]string{}}
	var list errs.List
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			list.Add(errs.InvalidValue("offset", "offset must be a non-negative integer."))
		}
		lp.Page.Offset = n
	}
	lp.Page.Limit = MaxLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			list.Add(errs.InvalidValue("limit", "limit must be a non-negative integer."))
		}
		if n > 0 && n <= MaxLimit {
			lp.Page.Limit = n
		}
	}
	if v := q.Get("sort"); v != "" {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if _, ok := sortKeys[strings.TrimPrefix(k, "-")]; !ok {
				list.Add(errs.InvalidValue("sort", "Cannot sort by %q.", k))
				continue
			}
			lp.Page.Sort = append(lp.Page.Sort, k)
		}
	}
	for k, vs := range q {
		if strings.HasPrefix(k, "filters[") && strings.HasSuffix(k, "]") && len(vs) > 0 {
			lp.Filters[k[len("filters["):len(k)-1]] = vs[0]
		}
	}
	return lp, list.Err()
}

// Search splits CertCentral's free-text filter: a leading "%" (sent as
// %25) means "contains".
func Search(v string) (string, bool) {
	if strings.HasPrefix(v, "%") {
		return strings.TrimPrefix(v, "%"), true
	}
	return v, false
}

var OrderStatuses = map[string]bool{
	store.OrderNeedsApproval: true, store.OrderPending: true, store.OrderIssued: true, store.OrderRejected: true,
	store.OrderCanceled: true, store.OrderRevoked: true, store.OrderExpired: true, store.OrderReissuePending: true,
	"waiting_pickup": true, "processing": true,
}

// Orders reads an order list query (GET /order/certificate): its page
// and every filter of spec §2.3. A filter certorder does not know is
// ignored, as CertCentral's clients send some it never had.
func Orders(q url.Values) (store.OrderFilter, store.Page, error) {
	lp, err := Parse(q, sqldb.OrderSortKeys)
	if err != nil {
		return store.OrderFilter{}, store.Page{}, err
	}
	var f store.OrderFilter
	var list errs.List
	for k, v := range lp.Filters {
		switch k {
		case "status":
			if !OrderStatuses[v] {
				list.Add(errs.InvalidValue("filters[status]", "%q is not an order status.", v))
			}
			f.Status = v
		case "product_name_id":
			f.ProductNameID = v
		case "common_name":
			f.CommonName = v
		case "search":
			f.Search, f.SearchContains = Search(v)
		case "id", "container_id", "organization_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				list.Add(errs.InvalidValue("filters["+k+"]", "filters[%s] must be an integer.", k))
				continue
			}
			switch k {
			case "id":
				f.ID = n
			case "container_id":
				f.ContainerID = n
			default:
				f.OrganizationID = n
			}
		}
	}
	list.Add(orderFiltersExtra(lp.Filters, &f))
	return f, lp.Page, list.Err()
}

// RequestStatuses and RequestTypes are what filters[status] and
// filters[type] of the request list accept.
var (
	RequestStatuses = map[string]bool{"submitted": true, "pending": true, "approved": true, "rejected": true}
	RequestTypes    = map[string]bool{"new_request": true, "reissue": true, "duplicate": true, "revoke": true}
)

// Requests reads a request list query (GET /request, spec §3.2).
func Requests(q url.Values) (store.RequestFilter, store.Page, error) {
	lp, err := Parse(q, sqldb.RequestSortKeys)
	if err != nil {
		return store.RequestFilter{}, store.Page{}, err
	}
	var f store.RequestFilter
	var list errs.List
	for k, v := range lp.Filters {
		switch k {
		case "status":
			if !RequestStatuses[v] {
				list.Add(errs.InvalidValue("filters[status]", "%q is not a request status.", v))
			}
			f.Status = v
		case "type":
			if !RequestTypes[v] {
				list.Add(errs.InvalidValue("filters[type]", "%q is not a request type.", v))
			}
			f.Type = v
		case "container_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				list.Add(errs.InvalidValue("filters[container_id]", "filters[container_id] must be an integer."))
			}
			f.ContainerID = n
		case "search":
			f.Search, f.SearchContains = Search(v)
		}
	}
	list.Add(requestFiltersExtra(lp.Filters, &f))
	return f, lp.Page, list.Err()
}

// Date and time forms a filter value may take; times without an offset
// are UTC. Months, days, hours, minutes and seconds may come without
// their leading zero ("2026-12-5+10:19:5", as Keyfactor writes them), and
// the "+" between date and time may arrive as itself (%2B) or, decoded
// from a query string, as a space.
var filterTimeLayouts = []string{time.RFC3339Nano, "2006-1-2T15:4:5", "2006-1-2 15:4:5", "2006-1-2+15:4:5",
	"06-1-2 15:4:5", "06-1-2+15:4:5"}

// parseFilterTime reads one bound; dayOnly says it named a whole day.
func parseFilterTime(v string) (t time.Time, dayOnly bool, err error) {
	v = strings.TrimSpace(v)
	if d, err := time.Parse("2006-1-2", v); err == nil {
		return d, true, nil
	}
	for _, l := range filterTimeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date", v)
}

// TimeRange reads a date filter (spec §1.5): "start...end" (both
// inclusive; a date-only end covers its whole day), ">x" / ">=x" (from x),
// "<x" / "<=x" (until x), or a single date (that day) or time.
func TimeRange(v string) (store.TimeRange, error) {
	var tr store.TimeRange
	end := func(s string) (time.Time, error) {
		t, day, err := parseFilterTime(s)
		if err != nil {
			return t, err
		}
		if day {
			return t.AddDate(0, 0, 1), nil
		}
		return t.Add(time.Second), nil
	}
	start := func(s string) (time.Time, error) {
		t, _, err := parseFilterTime(s)
		return t, err
	}
	var err error
	switch {
	case strings.Contains(v, "..."):
		a, b, _ := strings.Cut(v, "...")
		if strings.TrimSpace(a) != "" {
			if tr.From, err = start(a); err != nil {
				return tr, err
			}
		}
		if strings.TrimSpace(b) != "" {
			if tr.To, err = end(b); err != nil {
				return tr, err
			}
		}
		if !tr.From.IsZero() && !tr.To.IsZero() && !tr.To.After(tr.From) {
			return tr, fmt.Errorf("the end is before the start")
		}
	case strings.HasPrefix(v, ">"):
		strict := !strings.HasPrefix(v, ">=")
		t, day, err := parseFilterTime(strings.TrimLeft(v, ">="))
		if err != nil {
			return tr, err
		}
		if strict {
			if day {
				t = t.AddDate(0, 0, 1)
			} else {
				t = t.Add(time.Second)
			}
		}
		tr.From = t
	case strings.HasPrefix(v, "<"):
		t, day, err := parseFilterTime(strings.TrimLeft(v, "<="))
		if err != nil {
			return tr, err
		}
		if strings.HasPrefix(v, "<=") {
			if day {
				t = t.AddDate(0, 0, 1)
			} else {
				t = t.Add(time.Second)
			}
		}
		tr.To = t
	default:
		if tr.From, err = start(v); err != nil {
			return tr, err
		}
		if tr.To, err = end(v); err != nil {
			return tr, err
		}
	}
	return tr, nil
}

func Bool(v string) (*bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true":
		t := true
		return &t, true
	case "0", "false":
		f := false
		return &f, true
	}
	return nil, false
}

// orderFiltersExtra reads the order list filters of spec §2.3 that
// listOrders does not: user_id, certificate_id, serial_number,
// domain_name, email, metadata_id, is_renewed,
// disable_renewal_notifications, valid_till, date_created, origin.
func orderFiltersExtra(filters map[string]string, f *store.OrderFilter) error {
	var list errs.List
	for k, v := range filters {
		field := "filters[" + k + "]"
		switch k {
		case "user_id", "certificate_id", "metadata_id":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				list.Add(errs.InvalidValue(field, "%s must be a positive integer.", field))
				continue
			}
			switch k {
			case "user_id":
				f.UserID = n
			case "certificate_id":
				f.CertificateID = n
			default:
				f.MetadataID = n
			}
		case "serial_number":
			f.SerialNumber = strings.TrimSpace(v)
		case "domain_name":
			f.DomainName = strings.TrimSpace(v)
		case "email":
			f.Email = strings.TrimSpace(v)
		case "is_renewed", "disable_renewal_notifications":
			b, ok := Bool(v)
			if !ok {
				list.Add(errs.InvalidValue(field, "%s must be 1 or 0.", field))
				continue
			}
			if k == "is_renewed" {
				f.IsRenewed = b
			} else {
				f.DisableRenewalNotifications = b
			}
		case "valid_till", "date_created":
			tr, err := TimeRange(v)
			if err != nil {
				list.Add(errs.InvalidValue(field, "%s must be a date, a range start...end, or >date / <date: %v.", field, err))
				continue
			}
			if k == "valid_till" {
				f.ValidTill = tr
			} else {
				f.DateCreated = tr
			}
		case "origin":
			switch v {
			case "certcentral":
			case "migrated":
				f.ID = -1 // certorder has no migrated orders: none match
			default:
				list.Add(errs.InvalidValue(field, "filters[origin] must be certcentral or migrated."))
			}
		}
	}
	return list.Err()
}

// requestFiltersExtra reads metadata_id, metadata_value and date of
// GET /request (spec §3.2).
func requestFiltersExtra(filters map[string]string, f *store.RequestFilter) error {
	var list errs.List
	for k, v := range filters {
		switch k {
		case "metadata_id":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				list.Add(errs.InvalidValue("filters[metadata_id]", "filters[metadata_id] must be a positive integer."))
				continue
			}
			f.MetadataID = n
		case "metadata_value":
			f.MetadataValue = v
		case "date":
			tr, err := TimeRange(v)
			if err != nil {
				list.Add(errs.InvalidValue("filters[date]", "filters[date] must be a date, a range start...end, or >date / <date: %v.", err))
				continue
			}
			f.Date = tr
		}
	}
	return list.Err()
}

package sqldb

import "github.com/certorder/certorder/internal/store"

// ListSQL returns the page queries of the order and the request list as
// the store runs them (placeholders numbered for PostgreSQL), each with
// its arguments, for the plan tests.
func ListSQL(d *Dialect, accountID int64, page store.Page) (orders string, orderArgs []any, requests string, requestArgs []any) {
	q := New(nil, d, nil)
	_, orders, orderArgs = q.ordersSQL(accountID, store.OrderFilter{}, page)
	_, requests, requestArgs = q.requestsSQL(accountID, store.RequestFilter{}, page)
	if d.numbered {
		orders, requests = renumber(orders), renumber(requests)
	}
	return orders, append(orderArgs, limit(page.Limit), page.Offset), requests, append(requestArgs, limit(page.Limit), page.Offset)
}

// NoLiveRenewalSQL is a query of one order's renewals as the renewal jobs
// look for them (arguments: the order's id, two statuses).
func NoLiveRenewalSQL(d *Dialect) string {
	return inDialect(d, `SELECT o.id FROM orders o WHERE o.id = ? AND `+noLiveRenewal)
}

// MetadataSQL is the read of an account's custom fields (argument: the
// account's id).
func MetadataSQL(d *Dialect) string { return inDialect(d, metadataSQL) }

// inDialect is q as the store runs it on d (placeholders numbered for
// PostgreSQL).
func inDialect(d *Dialect, q string) string {
	if d.numbered {
		return renumber(q)
	}
	return q
}

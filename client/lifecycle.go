package client

// Order operations: cancel and the other order status updates, reissue,
// duplicate and their lists, the status-change list, and the CSV form of
// the order and request lists.

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Order status updates (PUT /order/certificate/{id}/status), case-sensitive.
const (
	OrderStatusCanceled   = "canceled"
	OrderStatusRenewed    = "renewed"     // within 90 days of expiry or after it
	OrderStatusNotRenewed = "not_renewed" // undoes a "renewed" mark
)

// UpdateOrderStatus sets an order's status; note is required for
// OrderStatusCanceled.
func (c *Client) UpdateOrderStatus(ctx context.Context, orderID int64, status, note string) error {
	body := struct {
		Status string `json:"status"`
		Note   string `json:"note,omitempty"`
	}{status, note}
	return c.call(ctx, request{method: http.MethodPut, path: "/order/certificate/" + pathInt(orderID) + "/status", body: body}, nil)
}

// CancelOrder cancels an order that is not issued yet, or the pending
// reissue of an issued order (which then keeps its certificate).
func (c *Client) CancelOrder(ctx context.Context, orderID int64, note string) error {
	return c.UpdateOrderStatus(ctx, orderID, OrderStatusCanceled, note)
}

// SetAutoReissue switches the automatic reissues of an order's plan on or
// off (PUT /order/certificate/{id}/auto-reissue); Order.AutoReissue shows
// the setting.
func (c *Client) SetAutoReissue(ctx context.Context, orderID int64, on bool) error {
	body := struct {
		AutoReissue int `json:"auto_reissue"`
	}{}
	if on {
		body.AutoReissue = 1
	}
	return c.call(ctx, request{method: http.MethodPut, path: "/order/certificate/" + pathInt(orderID) + "/auto-reissue", body: body}, nil)
}

// CertificateOperation is the body of a reissue or duplicate: a new CSR
// and, optionally, other names within the order's product. Fields left
// empty keep the order's values.
type CertificateOperation struct {
	Certificate          CertificateSpec `json:"certificate"`
	SkipApproval         bool            `json:"skip_approval,omitempty"`
	Comments             string          `json:"comments,omitempty"`
	CSProvisioningMethod string          `json:"cs_provisioning_method,omitempty"`
}

// Reissue replaces the order's certificate. The answer has the shape of
// an order answer: Requests while it waits for approval, CertificateID and
// CertificateChain when it was issued at once.
func (c *Client) Reissue(ctx context.Context, orderID int64, op *CertificateOperation) (*OrderResponse, error) {
	return c.certOperation(ctx, orderID, "reissue", op)
}

// Duplicate adds a certificate for another key with the order's names.
func (c *Client) Duplicate(ctx context.Context, orderID int64, op *CertificateOperation) (*OrderResponse, error) {
	return c.certOperation(ctx, orderID, "duplicate", op)
}

func (c *Client) certOperation(ctx context.Context, orderID int64, kind string, op *CertificateOperation) (*OrderResponse, error) {
	if op == nil {
		return nil, fmt.Errorf("certcentral: %s needs a body", kind)
	}
	var out OrderResponse
	if err := c.call(ctx, request{method: http.MethodPost, path: "/order/certificate/" + pathInt(orderID) + "/" + kind, body: op}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReissuedCertificate is one entry of GET /order/certificate/{id}/reissue.
type ReissuedCertificate struct {
	ID                     int64    `json:"id"`
	Thumbprint             string   `json:"thumbprint,omitempty"`
	SerialNumber           string   `json:"serial_number,omitempty"`
	CommonName             string   `json:"common_name"`
	DNSNames               []string `json:"dns_names"`
	Status                 string   `json:"status"` // pending, issued, rejected
	DateCreated            string   `json:"date_created"`
	DateIssued             string   `json:"date_issued,omitempty"`
	ValidFrom              string   `json:"valid_from,omitempty"`
	ValidTill              string   `json:"valid_till,omitempty"`
	DaysRemaining          int      `json:"days_remaining,omitempty"`
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
}

// DuplicateCertificate is one entry of GET /order/certificate/{id}/duplicate.
type DuplicateCertificate struct {
	ID             int64           `json:"id"`
	Thumbprint     string          `json:"thumbprint,omitempty"`
	SerialNumber   string          `json:"serial_number,omitempty"`
	CommonName     string          `json:"common_name"`
	DNSNames       []string        `json:"dns_names"`
	Status         string          `json:"status"`
	DateCreated    string          `json:"date_created"`
	ValidFrom      string          `json:"valid_from,omitempty"`
	ValidTill      string          `json:"valid_till,omitempty"`
	DaysRemaining  int             `json:"days_remaining,omitempty"`
	CSR            string          `json:"csr,omitempty"`
	ServerPlatform *ServerPlatform `json:"server_platform,omitempty"`
	SignatureHash  string          `json:"signature_hash,omitempty"`
	KeySize        int             `json:"key_size,omitempty"`
	CACertID       string          `json:"ca_cert_id,omitempty"`
	SubID          string          `json:"sub_id"` // "001", "002", ...
	Archived       bool            `json:"archived"`
	UserID         int64           `json:"user_id,omitempty"`
	FirstName      string          `json:"firstname,omitempty"`
	LastName       string          `json:"lastname,omitempty"`
}

// ListReissues lists the order's reissued certificates.
func (c *Client) ListReissues(ctx context.Context, orderID int64) ([]ReissuedCertificate, error) {
	var out struct {
		Certificates []ReissuedCertificate `json:"certificates"`
	}
	err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate/" + pathInt(orderID) + "/reissue",
		query: url.Values{"show_archived": {"true"}}}, &out)
	return out.Certificates, err
}

// ListDuplicates lists the order's duplicate certificates.
func (c *Client) ListDuplicates(ctx context.Context, orderID int64) ([]DuplicateCertificate, error) {
	var out struct {
		Certificates []DuplicateCertificate `json:"certificates"`
	}
	err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate/" + pathInt(orderID) + "/duplicate",
		query: url.Values{"show_archived": {"true"}}}, &out)
	return out.Certificates, err
}

// StatusChange is one order of the status-change list: its latest status
// in the window, and its primary certificate.
type StatusChange struct {
	OrderID       int64  `json:"order_id"`
	CertificateID int64  `json:"certificate_id,omitempty"`
	Status        string `json:"status"`
}

// MaxStatusWindow is the longest window the status-change list accepts.
const MaxStatusWindow = 7 * 24 * time.Hour

// StatusChanges lists the orders whose status changed in the last window
// (at most MaxStatusWindow, sent as whole seconds).
func (c *Client) StatusChanges(ctx context.Context, window time.Duration) ([]StatusChange, error) {
	q := url.Values{"seconds": {strconv.FormatInt(int64(window/time.Second), 10)}}
	return c.statusChanges(ctx, q)
}

// StatusChangesBetween lists the orders whose last status change falls
// between from and to (both inclusive, to the second, sent in UTC); an
// order that changed again after to is left out.
func (c *Client) StatusChangesBetween(ctx context.Context, from, to time.Time) ([]StatusChange, error) {
	const layout = "2006-01-02 15:04:05"
	q := url.Values{"filters[status_last_updated]": {from.UTC().Format(layout) + "..." + to.UTC().Format(layout)}}
	return c.statusChanges(ctx, q)
}

func (c *Client) statusChanges(ctx context.Context, q url.Values) ([]StatusChange, error) {
	var out struct {
		Orders []StatusChange `json:"orders"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate/status-changes", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Orders, nil
}

// ListOrdersCSV reads one page of orders as CSV (Accept: text/csv): the
// header row, then one row per order.
func (c *Client) ListOrdersCSV(ctx context.Context, opts *ListOptions) ([][]string, error) {
	return c.csvList(ctx, "/order/certificate", opts)
}

// ListRequestsCSV reads one page of requests as CSV.
func (c *Client) ListRequestsCSV(ctx context.Context, opts *ListOptions) ([][]string, error) {
	return c.csvList(ctx, "/request", opts)
}

func (c *Client) csvList(ctx context.Context, path string, opts *ListOptions) ([][]string, error) {
	u := c.base + path
	if q := opts.values(); len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("certcentral: %w", err)
	}
	req.Header.Set("X-DC-DEVKEY", c.apiKey)
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "text/csv")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("certcentral: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certcentral: read answer of GET %s: %w", path, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("certcentral: answer of GET %s is larger than %d bytes", path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, apiErrorOf(resp.StatusCode, data)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("certcentral: decode CSV of GET %s: %w", path, err)
	}
	return rows, nil
}

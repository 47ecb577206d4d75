package client

import (
	"context"
	"net/http"
	"time"
)

// Request statuses accepted by UpdateRequestStatus.
const (
	RequestSubmitted = "submitted"
	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestRejected  = "rejected"
)

// RequestOrderCertificate is the certificate of a request's order.
type RequestOrderCertificate struct {
	CommonName     string          `json:"common_name"`
	DNSNames       []string        `json:"dns_names,omitempty"`
	CSR            string          `json:"csr,omitempty"`
	Organization   *IDRef          `json:"organization,omitempty"`
	ServerPlatform *ServerPlatform `json:"server_platform,omitempty"`
	SignatureHash  string          `json:"signature_hash,omitempty"`
	KeySize        int             `json:"key_size,omitempty"`
}

// RequestOrder is the order a request is about. Lists carry a short form;
// GetRequest fills the rest.
type RequestOrder struct {
	ID            int64                   `json:"id"`
	Certificate   RequestOrderCertificate `json:"certificate"`
	Status        string                  `json:"status,omitempty"`
	IsRenewal     bool                    `json:"is_renewal,omitempty"`
	Organization  *OrganizationSummary    `json:"organization,omitempty"`
	Container     ContainerSummary        `json:"container"`
	Product       ProductSummary          `json:"product"`
	ValidityYears int                     `json:"validity_years,omitempty"`
	Requests      []RequestSummary        `json:"requests,omitempty"`
}

// Request is an approval request (GET /request/{id}).
type Request struct {
	ID               int64        `json:"id"`
	Date             string       `json:"date"`
	Type             string       `json:"type"`
	Status           string       `json:"status"`
	DateProcessed    string       `json:"date_processed,omitempty"`
	Requester        *UserSummary `json:"requester,omitempty"`
	Processor        *UserSummary `json:"processor,omitempty"`
	Order            RequestOrder `json:"order"`
	Comments         string       `json:"comments,omitempty"`
	ProcessorComment string       `json:"processor_comment,omitempty"`
}

// Created parses Date, when the request was made.
func (r *Request) Created() (time.Time, error) { return ParseTimestamp(r.Date) }

// RequestList is a page of requests.
type RequestList struct {
	Requests []Request `json:"requests"`
	Page     Page      `json:"page"`
}

// ListRequests reads one page of requests.
func (c *Client) ListRequests(ctx context.Context, opts *ListOptions) (*RequestList, error) {
	var out RequestList
	if err := c.call(ctx, request{method: http.MethodGet, path: "/request", query: opts.values()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRequest reads one request.
func (c *Client) GetRequest(ctx context.Context, id int64) (*Request, error) {
	var out Request
	if err := c.call(ctx, request{method: http.MethodGet, path: "/request/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateRequestStatus approves or rejects a request (status is one of the
// Request* constants); comment is recorded as the processor's comment.
func (c *Client) UpdateRequestStatus(ctx context.Context, id int64, status, comment string) error {
	body := struct {
		Status           string `json:"status"`
		ProcessorComment string `json:"processor_comment,omitempty"`
	}{status, comment}
	return c.call(ctx, request{method: http.MethodPut, path: "/request/" + pathInt(id) + "/status", body: body}, nil)
}

package client

// Revocation: PUT /certificate/{id}/revoke and
// PUT /order/certificate/{id}/revoke.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Revocation reasons (revocation_reason); the RFC 5280 code is in the
// comment.
const (
	ReasonUnspecified          = "unspecified"            // 0
	ReasonKeyCompromise        = "key_compromise"         // 1
	ReasonAffiliationChanged   = "affiliation_changed"    // 3
	ReasonSuperseded           = "superseded"             // 4
	ReasonCessationOfOperation = "cessation_of_operation" // 5
)

// Revoke is the body of a revoke call. SkipApproval revokes at once and
// needs an administrator's key; otherwise a revoke request is created.
type Revoke struct {
	RevocationReason string `json:"revocation_reason,omitempty"`
	Comments         string `json:"comments,omitempty"`
	SkipApproval     bool   `json:"skip_approval,omitempty"`
}

// RevokeRequest is the 201 answer of a revoke call: the revoke request,
// to approve with UpdateRequestStatus. Status "submitted" on a one-step
// or auto-approve account means the certificates were revoked at once.
type RevokeRequest struct {
	ID        int64        `json:"id"`
	Date      string       `json:"date"`
	Type      string       `json:"type"`
	Status    string       `json:"status"`
	Requester *UserSummary `json:"requester,omitempty"`
	Comments  string       `json:"comments,omitempty"`
}

// RevokeCertificate revokes one certificate, by id. The answer is nil
// when approval was skipped (204), else the revoke request.
func (c *Client) RevokeCertificate(ctx context.Context, certificateID int64, r *Revoke) (*RevokeRequest, error) {
	return c.revoke(ctx, "/certificate/"+pathInt(certificateID)+"/revoke", r)
}

// RevokeCertificateBySerial revokes one certificate, by its serial number
// in hex.
func (c *Client) RevokeCertificateBySerial(ctx context.Context, serialHex string, r *Revoke) (*RevokeRequest, error) {
	if serialHex == "" {
		return nil, fmt.Errorf("certcentral: revoke needs a serial number")
	}
	return c.revoke(ctx, "/certificate/"+url.PathEscape(serialHex)+"/revoke", r)
}

// RevokeOrder revokes every certificate of an order: its primary
// certificate, the ones its reissues replaced, and its duplicates.
func (c *Client) RevokeOrder(ctx context.Context, orderID int64, r *Revoke) (*RevokeRequest, error) {
	return c.revoke(ctx, "/order/certificate/"+pathInt(orderID)+"/revoke", r)
}

func (c *Client) revoke(ctx context.Context, path string, r *Revoke) (*RevokeRequest, error) {
	if r == nil {
		r = &Revoke{}
	}
	var out RevokeRequest
	if err := c.call(ctx, request{method: http.MethodPut, path: path, body: r}, &out); err != nil {
		return nil, err
	}
	if out.ID == 0 {
		return nil, nil // 204: revoked without approval
	}
	return &out, nil
}

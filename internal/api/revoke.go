package api

// Revocation (issue 5, spec §4.4): PUT /certificate/{id}/revoke and
// PUT /order/certificate/{id}/revoke.

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// revokeRequestView is the 201 of a revoke call (spec §4.4).
type revokeRequestView struct {
	ID        int64          `json:"id"`
	Date      string         `json:"date"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Requester *userShortView `json:"requester,omitempty"`
	Comments  string         `json:"comments,omitempty"`
}

// revokeCertificate: PUT /certificate/{id}/revoke. The path takes the
// certificate's id or its serial number in hex (colons allowed).
func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	c, err := s.certByIDOrSerial(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in order.RevokeInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	res, err := s.Orders.RevokeCertificate(r.Context(), a, c.ID, &in)
	if err != nil {
		return err
	}
	return writeRevokeAnswer(w, a, res)
}

// revokeOrder: PUT /order/certificate/{id}/revoke (id, serial number or
// thumbprint of the primary certificate, as order info).
func (s *Server) revokeOrder(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in order.RevokeInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	res, err := s.Orders.RevokeOrder(r.Context(), a, o.ID, &in)
	if err != nil {
		return err
	}
	return writeRevokeAnswer(w, a, res)
}

// writeRevokeAnswer: 204 when approval was skipped, else the revoke
// request. Its status reads "submitted" when the revocation went ahead at
// once or an administrator asked for it (order.RevokeResult), which is
// what a public connector waits for (reference-responses/README.md); GET
// /request/{id} shows its real status.
func writeRevokeAnswer(w http.ResponseWriter, a account.Actor, res *order.RevokeResult) error {
	if res.Request == nil {
		noContent(w)
		return nil
	}
	rq := res.Request
	v := revokeRequestView{ID: rq.ID, Date: stamp(rq.Date), Type: rq.Type, Status: rq.Status,
		Requester: userShort(a.User), Comments: rq.Comments}
	if res.Submitted {
		v.Status = store.RequestSubmitted
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// certByIDOrSerial finds a certificate of the caller's account by id or
// by serial number (hex, any case, colons allowed). An all-digit value is
// an id first and a serial if no certificate has that id.
func (s *Server) certByIDOrSerial(r *http.Request, a account.Actor, raw string) (*store.Certificate, error) {
	ctx := r.Context()
	raw = strings.TrimSpace(raw)
	notFound := errs.NotFoundf("certificate", "Certificate %q was not found.", raw)
	var c *store.Certificate
	err := store.ErrNotFound
	if raw != "" && len(raw) <= 15 && allDigits(raw) {
		id, _ := strconv.ParseInt(raw, 10, 64)
		c, err = s.Store.Certificate(ctx, a.Account.ID, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		serial := strings.ToUpper(strings.ReplaceAll(raw, ":", ""))
		if !hexRE.MatchString(serial) {
			return nil, notFound
		}
		// The stored form: upper case, no leading zeros beyond an even
		// number of digits (a client may send DER's sign padding).
		serial = strings.TrimLeft(serial, "0")
		if len(serial)%2 == 1 {
			serial = "0" + serial
		}
		c, err = s.Store.CertificateBySerial(ctx, a.Account.ID, serial)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, errs.Internalf(err, "find certificate %q", raw)
	}
	return c, nil
}

// decodeOptional is decode for calls whose every field is optional: an
// empty body means {}.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.New(errs.TooLarge, "request_too_large", "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return errs.New(errs.Invalid, "bad_request_format", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(r, v)
}

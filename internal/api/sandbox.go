package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/store"
)

// The sandbox's own endpoints live under /sandbox, a path CertCentral does
// not use. Outside the sandbox they answer 404 to administrators (there is
// no clock to move, no outbox kept) and 403 to everyone else, as any
// administrators-only route does.

func (s *Server) notSandbox() error {
	return errs.NotFoundf("sandbox", "This endpoint exists only on a server started with --sandbox.")
}

type clockView struct {
	Now           string `json:"now"`
	WallClock     string `json:"wall_clock"`
	Offset        string `json:"offset"`
	OffsetSeconds int64  `json:"offset_seconds"`
}

func (s *Server) clockView(off time.Duration) clockView {
	wall := time.Now().UTC()
	if s.Clock.Base != nil {
		wall = s.Clock.Base().UTC()
	}
	return clockView{Now: stamp(wall.Add(off)), WallClock: stamp(wall), Offset: off.String(), OffsetSeconds: int64(off / time.Second)}
}

func (s *Server) sandboxClock(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Clock == nil {
		return s.notSandbox()
	}
	off, err := s.Clock.Offset(r.Context())
	if err != nil {
		return errs.Internalf(err, "read the sandbox clock")
	}
	writeJSON(w, http.StatusOK, s.clockView(off))
	return nil
}

// moveSandboxClock moves business time forward, by advance ("720h",
// "30d") or to a time ("2027-01-01T00:00:00Z"); never back.
func (s *Server) moveSandboxClock(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Clock == nil {
		return s.notSandbox()
	}
	var in struct {
		Advance string `json:"advance"`
		To      string `json:"to"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var off time.Duration
	switch {
	case in.Advance != "" && in.To != "":
		return errs.InvalidValue("advance", "Send either advance or to, not both.")
	case in.Advance != "":
		d, err := parseAdvance(in.Advance)
		if err != nil {
			return err
		}
		if off, err = s.Clock.Advance(r.Context(), d); err != nil {
			return err
		}
	case in.To != "":
		t, err := time.Parse(time.RFC3339, in.To)
		if err != nil {
			return errs.InvalidValue("to", "to must be an RFC 3339 time such as 2027-01-01T00:00:00Z.")
		}
		if off, err = s.Clock.AdvanceTo(r.Context(), t); err != nil {
			return err
		}
	default:
		return errs.MissingField("advance")
	}
	s.Log.InfoContext(r.Context(), "sandbox clock moved", "user", a.User.ID, "offset", off.String())
	writeJSON(w, http.StatusOK, s.clockView(off))
	return nil
}

type sandboxMailView struct {
	ID          int64    `json:"id"`
	Kind        string   `json:"kind"`
	OrderID     int64    `json:"order_id,omitempty"`
	DomainID    int64    `json:"domain_id,omitempty"`
	Recipients  []string `json:"recipients"`
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	Status      string   `json:"status"`
	MessageID   string   `json:"message_id"`
	DateCreated string   `json:"date_created"`
	DateSent    string   `json:"date_sent,omitempty"`
	LastError   string   `json:"last_error,omitempty"`
}

// sandboxMail lists what the sandbox mailed (or has yet to), newest first:
// subject and body as its renderer made them when the queue kept the
// message, empty while it waits or when it was given up.
func (s *Server) sandboxMail(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if !s.Sandbox {
		return s.notSandbox()
	}
	q := r.URL.Query()
	lp, err := listq.Parse(q, nil)
	if err != nil {
		return err
	}
	param := func(k string) string {
		if v := q.Get(k); v != "" {
			return v
		}
		return lp.Filters[k]
	}
	f := store.MailFilter{AccountID: a.Account.ID, Recipient: param("recipient"), Kind: param("kind"), Page: lp.Page}
	if v := param("order_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errs.InvalidValue("order_id", "order_id must be a positive integer.")
		}
		f.OrderID = n
	}
	list, total, err := s.Store.ListMail(r.Context(), f)
	if err != nil {
		return errs.Internalf(err, "list the sandbox outbox")
	}
	out := make([]sandboxMailView, 0, len(list))
	for _, m := range list {
		v := sandboxMailView{ID: m.ID, Kind: m.Kind, OrderID: m.OrderID, DomainID: m.DomainID, Recipients: []string{m.Recipient},
			Subject: m.Subject, Body: m.Body, Status: "pending", MessageID: m.MessageID, DateCreated: stamp(m.CreatedAt), LastError: m.LastError}
		switch {
		case m.SentAt != nil:
			v.Status, v.DateSent = "sent", stamp(*m.SentAt)
		case m.GivenUpAt != nil:
			v.Status = "given_up"
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"mails": out, "page": pageView{Total: total, Limit: lp.Page.Limit, Offset: lp.Page.Offset}})
	return nil
}

func parseAdvance(v string) (time.Duration, error) {
	d, err := clock.ParseAdvance(v)
	if err != nil {
		return 0, errs.InvalidValue("advance", "advance must be a duration such as 720h or a number of days such as 30d.")
	}
	return d, nil
}

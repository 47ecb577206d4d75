package api

import (
	"encoding/json"
	"encoding/pem"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web"
)

// Mailbox control of client and S/MIME orders (S/MIME BR 3.2.2.2): the
// email-validation endpoints CertCentral documents, the page behind the
// emailed link, and the pickup page of orders placed without a CSR.

type emailValidationView struct {
	Email       string `json:"email"`
	Status      string `json:"status"`
	DateEmailed string `json:"date_emailed,omitempty"`
}

type emailValidationsView struct {
	DeliveryOptions []string              `json:"delivery_options"`
	Emails          []emailValidationView `json:"emails"`
}

// emailValidations: GET /order/certificate/{id}/email-validation → 200.
func (s *Server) emailValidations(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.Validation.OrderEmailValidations(r.Context(), o)
	if err != nil {
		return err
	}
	v := emailValidationsView{DeliveryOptions: []string{"api", "browser"}, Emails: []emailValidationView{}}
	for _, e := range list {
		ev := emailValidationView{Email: e.Email, Status: "unvalidated"}
		if e.Validated {
			ev.Status = "validated"
		}
		if !e.Emailed.IsZero() {
			ev.DateEmailed = e.Emailed.UTC().Format("2006-01-02")
		}
		v.Emails = append(v.Emails, ev)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// validateEmail: PUT /order/certificate/{id}/email-validation/{token}?email=
// → 204. The token is the random value mailed to the address; the caller's
// key alone proves nothing.
func (s *Server) validateEmail(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.answerMailbox(w, r, a, o.ID)
}

// validateEmailByToken: PUT /email-validation/{token}?email= → 204, the
// path of clients that name no order (the token does).
func (s *Server) validateEmailByToken(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	return s.answerMailbox(w, r, a, 0)
}

func (s *Server) answerMailbox(w http.ResponseWriter, r *http.Request, a account.Actor, orderID int64) error {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if email == "" {
		return errs.MissingField("email")
	}
	if orderID == 0 {
		// The order the token names must be one the caller sees.
		id, err := s.Validation.MailboxTokenOrder(r.Context(), a.Account.ID, r.PathValue("token"))
		if err != nil {
			return err
		}
		if _, err := s.findOrder(r, a, strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		orderID = id
	}
	_, err := s.Validation.ConfirmMailbox(r.Context(), a, validation.MailboxAnswer{Secret: r.PathValue("token"),
		AccountID: a.Account.ID, OrderID: orderID, Email: email})
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}

// The confirmation page: GET shows the address and a button; only the
// POST confirms, so that mail scanners that open links confirm nothing.
type mailboxPageData struct {
	Email, Product, Error string
	Lang                  string // the link's message's locale
	OrderID               int64
	Done                  bool
	CSRF                  string
}

func pageFailure(err error, what string) (int, string) {
	e := errs.As(err)
	if e.Kind != errs.Internal && len(e.Details) > 0 {
		return statusOf(e.Kind), e.Details[0].Message
	}
	return http.StatusInternalServerError, what + " could not be recorded; try again later."
}

// showMailboxLink: GET /mailbox/{secret}.
func (s *Server) showMailboxLink(w http.ResponseWriter, r *http.Request) {
	l, err := s.Validation.ShowMailboxLink(r.Context(), r.PathValue("secret"))
	if err != nil {
		status, msg := pageFailure(err, "The confirmation")
		web.LinkPages.Render(w, status, "mailbox", mailboxPageData{Error: msg})
		return
	}
	csrf := web.FormToken(w, r, linkScope(validation.LinkMailbox, r.PathValue("secret")))
	web.LinkPages.Render(w, http.StatusOK, "mailbox", mailboxPageData{Email: l.Email, Product: l.Product, OrderID: l.OrderID, Lang: l.Locale, CSRF: csrf})
}

// confirmMailboxLink: POST /mailbox/{secret}.
func (s *Server) confirmMailboxLink(w http.ResponseWriter, r *http.Request) {
	if !web.CheckForm(r, linkScope(validation.LinkMailbox, r.PathValue("secret"))) {
		web.LinkPages.Render(w, http.StatusForbidden, "mailbox", mailboxPageData{Error: "This form has expired or was not sent from its page. Open the link from the email again."})
		return
	}
	l, err := s.Validation.ConfirmMailbox(r.Context(), account.Actor{}, validation.MailboxAnswer{Secret: r.PathValue("secret")})
	if err != nil {
		if errs.As(err).Kind == errs.Internal {
			s.Log.ErrorContext(r.Context(), "confirm mailbox", "err", err)
		}
		status, msg := pageFailure(err, "The confirmation")
		web.LinkPages.Render(w, status, "mailbox", mailboxPageData{Error: msg})
		return
	}
	web.LinkPages.Render(w, http.StatusOK, "mailbox", mailboxPageData{Email: l.Email, Product: l.Product, OrderID: l.OrderID, Lang: l.Locale, Done: true})
}

type pickupPageData struct {
	Email, Product, Error string
	Lang                  string // the link's message's locale
	OrderID               int64
	Ready, Done           bool
	CSRF                  string
	Chain                 string
}

// showPickup: GET /pickup/{secret}.
func (s *Server) showPickup(w http.ResponseWriter, r *http.Request) {
	p, err := s.Orders.ShowPickup(r.Context(), r.PathValue("secret"))
	if err != nil {
		status, msg := pageFailure(err, "The pickup")
		web.LinkPages.Render(w, status, "pickup", pickupPageData{Error: msg})
		return
	}
	csrf := web.FormToken(w, r, linkScope(validation.LinkPickup, r.PathValue("secret")))
	web.LinkPages.Render(w, http.StatusOK, "pickup", pickupPageData{Email: p.Email, Product: p.Product, OrderID: p.OrderID, Ready: p.Ready, Lang: p.Locale, CSRF: csrf})
}

// pickupAnswer is what the page's script gets back.
type pickupAnswer struct {
	OrderID          int64  `json:"order_id,omitempty"`
	Status           string `json:"status,omitempty"`
	CertificateChain string `json:"certificate_chain,omitempty"`
	Error            string `json:"error,omitempty"`
}

func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == "application/json" {
			return true
		}
	}
	return false
}

// pickUp: POST /pickup/{secret} with the form token and a CSR (the page's
// script asks for JSON; a plain form gets the page).
func (s *Server) pickUp(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		if wantsJSON(r) {
			web.SetHeaders(w.Header())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(pickupAnswer{Error: msg})
			return
		}
		web.LinkPages.Render(w, status, "pickup", pickupPageData{Error: msg})
	}
	if !web.CheckForm(r, linkScope(validation.LinkPickup, r.PathValue("secret"))) {
		fail(http.StatusForbidden, "This form has expired or was not sent from its page. Open the link from the email again.")
		return
	}
	cert, err := s.Orders.PickUp(r.Context(), r.PathValue("secret"), r.PostFormValue("csr"))
	if err != nil {
		if errs.As(err).Kind == errs.Internal {
			s.Log.ErrorContext(r.Context(), "pick up certificate", "err", err)
		}
		status, msg := pageFailure(err, "The certificate request")
		fail(status, msg)
		return
	}
	ans := pickupAnswer{OrderID: cert.OrderID, Status: cert.Status}
	if cert.Status == store.CertIssued {
		chain, err := s.issuedChain(cert.Certificate)
		if err != nil {
			s.Log.ErrorContext(r.Context(), "chain of picked-up certificate", "err", err)
		}
		var b strings.Builder
		for _, c := range chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		ans.CertificateChain = b.String()
	}
	if wantsJSON(r) {
		web.SetHeaders(w.Header())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(ans)
		return
	}
	web.LinkPages.Render(w, http.StatusOK, "pickup", pickupPageData{OrderID: cert.OrderID, Done: true, Chain: ans.CertificateChain, Lang: cert.Locale})
}

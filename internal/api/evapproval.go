package api

import (
	"net/http"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web"
)

// EV approval by a verified contact: the resend call and the page behind
// the emailed links (internal/validation/evapproval.go holds the rules).

type resendApprovalInput struct {
	Emails []string `json:"emails"`
}

// resendApprovalEmails: PUT /order/certificate/{id}/order-approval/resend-emails
// {"emails": [...]} → 204. Without emails the order's approvers are
// written to again.
func (s *Server) resendApprovalEmails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in resendApprovalInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if err := s.Validation.ResendEVApproval(r.Context(), a, o.ID, in.Emails); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// approvalPageData is what the approval page shows: the order the link
// approves, every value escaped by html/template.
type approvalPageData struct {
	validation.EVLinkView
	Error string
	CSRF  string
	Lang  string // the link's message's locale
}

func (s *Server) approvalPage(w http.ResponseWriter, status int, d approvalPageData) {
	web.LinkPages.Render(w, status, "ev_approval", d)
}

// showApprovalLink: GET /order-approval/{secret}. It shows the order and
// the two buttons; it never decides (mail scanners open links).
func (s *Server) showApprovalLink(w http.ResponseWriter, r *http.Request) {
	v, err := s.Validation.EVLink(r.Context(), r.PathValue("secret"))
	if err != nil {
		s.approvalFailure(w, err)
		return
	}
	csrf := web.FormToken(w, r, linkScope(validation.LinkKindEVApproval, r.PathValue("secret")))
	s.approvalPage(w, http.StatusOK, approvalPageData{EVLinkView: *v, CSRF: csrf, Lang: v.Locale})
}

// decideApprovalLink: POST /order-approval/{secret} with the page's form
// token and decision=approve or decision=reject.
func (s *Server) decideApprovalLink(w http.ResponseWriter, r *http.Request) {
	if !web.CheckForm(r, linkScope(validation.LinkKindEVApproval, r.PathValue("secret"))) {
		s.approvalPage(w, http.StatusForbidden, approvalPageData{Error: "This form has expired or was not sent from its page. Open the link from the email again."})
		return
	}
	var approve bool
	switch r.PostFormValue("decision") {
	case "approve":
		approve = true
	case "reject":
	default:
		s.approvalPage(w, http.StatusBadRequest, approvalPageData{Error: "Choose Approve or Reject on the page."})
		return
	}
	v, err := s.Validation.DecideEVLink(r.Context(), r.PathValue("secret"), approve)
	if err != nil {
		if e := errs.As(err); e.Kind == errs.Internal {
			s.Log.ErrorContext(r.Context(), "decide approval link", "err", err)
		}
		s.approvalFailure(w, err)
		return
	}
	s.approvalPage(w, http.StatusOK, approvalPageData{EVLinkView: *v, Lang: v.Locale})
}

func (s *Server) approvalFailure(w http.ResponseWriter, err error) {
	status, msg := linkFailure(err)
	s.approvalPage(w, status, approvalPageData{Error: msg})
}

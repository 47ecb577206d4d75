package api

import (
	"net/http"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web"
)

// Order-level domain control validation (spec §2.7) and the page behind
// the emailed approval links.

type checkDCVInput struct {
	DNSNameValidations []struct {
		DNSName string `json:"dns_name"`
	} `json:"dns_name_validations"`
}

type checkDCVView struct {
	OrderStatus        string          `json:"order_status"`
	CertificateID      int64           `json:"certificate_id,omitempty"`
	DCVStatus          string          `json:"dcv_status"`
	DNSNameValidations []nameDCVStatus `json:"dns_name_validations"`
}

type nameDCVStatus struct {
	DNSName string `json:"dns_name"`
	Status  string `json:"status"`
}

// checkDCV: PUT /order/certificate/{id}/check-dcv → 200, or 400
// invalid_dns_txt / file_random_value_not_found.
func (s *Server) checkDCV(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in checkDCVInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	var only []string
	for _, n := range in.DNSNameValidations {
		if n := strings.ToLower(strings.TrimSpace(n.DNSName)); n != "" {
			only = append(only, n)
		}
	}
	res, err := s.Validation.CheckOrderDCV(r.Context(), a, o.ID, only)
	if err != nil {
		return err
	}
	v := checkDCVView{OrderStatus: res.Order.Status, CertificateID: res.Order.CertificateID, DCVStatus: "valid",
		DNSNameValidations: []nameDCVStatus{}}
	if !res.Report.AllApproved() {
		v.DCVStatus = "pending"
	}
	for _, n := range res.Report.Names {
		v.DNSNameValidations = append(v.DNSNameValidations, nameDCVStatus{DNSName: n.DNSName, Status: n.Status})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type randomValueView struct {
	DCVRandomValue string `json:"dcv_random_value"`
	ExpirationDate string `json:"expiration_date"`
}

func randomValueOf(o *store.Order) randomValueView {
	return randomValueView{DCVRandomValue: o.DCVRandomValue, ExpirationDate: stamp(o.DCVRandomExpires)}
}

// changeOrderDCVMethod: PUT /order/certificate/{id}/dcv-method → 204 for
// email, 200 {dcv_random_value, expiration_date} for the token methods.
func (s *Server) changeOrderDCVMethod(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in dcvMethodInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if o, err = s.Validation.ChangeOrderDCVMethod(r.Context(), a, o.ID, in.DCVMethod); err != nil {
		return err
	}
	if o.DCVMethod == "email" {
		noContent(w)
		return nil
	}
	writeJSON(w, http.StatusOK, randomValueOf(o))
	return nil
}

// newOrderRandomValue: PUT /order/certificate/{id}/dcv-random-value → 200.
func (s *Server) newOrderRandomValue(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if o, err = s.Validation.NewOrderRandomValue(r.Context(), a, o.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, randomValueOf(o))
	return nil
}

type resendEmailsInput struct {
	DomainApprovalEmails []validation.EmailRecipient `json:"domain_approval_emails"`
	Locale               string                      `json:"locale"`
	// Emails narrows a client order's resend to some of its addresses
	// (certorder's own, docs/decisions.md).
	Emails []string `json:"emails"`
}

// resendOrderEmails: PUT /order/certificate/{id}/resend-emails → 204.
func (s *Server) resendOrderEmails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in resendEmailsInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if l := strings.TrimSpace(in.Locale); l != "" && !validation.Locales[l] {
		return errs.InvalidValue("locale", "%q is not a supported locale.", in.Locale)
	}
	if validation.MailboxProduct(o) {
		// A client order's emails are its addresses' validation links, or
		// its pickup link once they are validated.
		if err := s.Validation.ResendMailboxEmails(r.Context(), a, o.ID, in.Emails); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
	if err := s.Validation.ResendOrderEmails(r.Context(), a, o.ID, in.DomainApprovalEmails); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// The approval page: GET shows what the link approves and a button; only
// the POST approves, so that mail scanners that open links approve nothing.
type emailLinkData struct {
	Target, Email, Error  string
	Product, Organization string
	Lang                  string // the link's message's locale
	OrderID               int64
	Done                  bool
	CSRF                  string
}

func (s *Server) emailLinkPage(w http.ResponseWriter, status int, d emailLinkData) {
	web.LinkPages.Render(w, status, "dcv_email", d)
}

// linkScope binds an approval form to its link: the form's token is good
// for this secret only.
func linkScope(kind, secret string) string {
	return kind + "\x00" + strings.ToLower(strings.TrimSpace(secret))
}

func linkFailure(err error) (int, string) {
	e := errs.As(err)
	switch {
	case e.Kind == errs.NotFound && len(e.Details) > 0:
		return http.StatusNotFound, e.Details[0].Message
	case (e.Kind == errs.Forbidden || e.Kind == errs.Unavailable) && len(e.Details) > 0:
		return statusOf(e.Kind), e.Details[0].Message
	}
	return http.StatusInternalServerError, "The approval could not be recorded; try again later."
}

// showEmailLink: GET /dcv/email/{secret}.
func (s *Server) showEmailLink(w http.ResponseWriter, r *http.Request) {
	v, err := s.Validation.EmailLinkPage(r.Context(), r.PathValue("secret"))
	if err != nil {
		status, msg := linkFailure(err)
		s.emailLinkPage(w, status, emailLinkData{Error: msg})
		return
	}
	csrf := web.FormToken(w, r, linkScope("dcv", r.PathValue("secret")))
	s.emailLinkPage(w, http.StatusOK, emailLinkData{Target: v.Target, Email: v.Email, OrderID: v.OrderID,
		Product: v.Product, Organization: v.Organization, Lang: v.Locale, CSRF: csrf})
}

// approveEmailLink: POST /dcv/email/{secret}.
func (s *Server) approveEmailLink(w http.ResponseWriter, r *http.Request) {
	if !web.CheckForm(r, linkScope("dcv", r.PathValue("secret"))) {
		s.emailLinkPage(w, http.StatusForbidden, emailLinkData{Error: "This form has expired or was not sent from its page. Open the link from the email again."})
		return
	}
	t, err := s.Validation.ApproveEmailLink(r.Context(), r.PathValue("secret"))
	if err != nil {
		if e := errs.As(err); e.Kind == errs.Internal {
			s.Log.ErrorContext(r.Context(), "approve email link", "err", err)
		}
		status, msg := linkFailure(err)
		s.emailLinkPage(w, status, emailLinkData{Error: msg})
		return
	}
	s.emailLinkPage(w, http.StatusOK, emailLinkData{Target: t.Target, Email: t.Email, OrderID: t.OrderID, Lang: t.Locale, Done: true})
}

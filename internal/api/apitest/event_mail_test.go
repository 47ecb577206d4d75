package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// mailEnv is a sandbox server whose mail goes to a real SMTP server on
// loopback (and is kept in its outbox), with people around its orders.
type mailEnv struct {
	srv  *testenv.Server
	smtp *dcvtest.SMTP
}

func startMail(t *testing.T, mod func(*testenv.Options)) *mailEnv {
	t.Helper()
	smtp := dcvtest.StartSMTP(t)
	opts := testenv.Options{Sandbox: true, SMTPURL: smtp.URL(), SMTPFrom: `"certorder CA" <ca@certorder.example>`}
	if mod != nil {
		mod(&opts)
	}
	return &mailEnv{srv: testenv.Start(t, opts), smtp: smtp}
}

var mailSeq atomic.Int64

// person is a user of the test account.
type person struct {
	id          int64
	email, name string
	key         string
}

// user adds a user of role in container, with an unrestricted key.
func (e *mailEnv) user(t *testing.T, role int, container int64, first string) person {
	t.Helper()
	n := mailSeq.Add(1)
	email := fmt.Sprintf("p%d.role%d@people.example", n, role)
	id := usrID(t)(e.srv.Do("POST", v2+"/user", mustJSON(t, map[string]any{
		"username": fmt.Sprintf("p%d.role%d", n, role), "first_name": first, "last_name": fmt.Sprintf("Person%d", n), "email": email,
		"container": map[string]any{"id": container}, "access_roles": []map[string]any{{"id": role}}})))
	_, key := usrKey(t, e.srv, id, 0)
	return person{id: id, email: email, name: fmt.Sprintf("%s Person%d", first, n), key: key}
}

// outbox lists the recipients the server queued mail of kind for about
// order id, sorted: who the recipient rules chose, whatever the relay did.
func (e *mailEnv) outbox(t *testing.T, id int64, kind string) []string {
	t.Helper()
	var out []string
	for _, m := range sbListMail(t, e.srv, "?order_id="+itoa(id)+"&kind="+kind).Mails {
		out = append(out, m.Recipients...)
	}
	slices.Sort(out)
	return out
}

// requireOutbox waits until the order's mail of kind was queued for
// exactly want (the issuance after an approval runs after its answer).
func (e *mailEnv) requireOutbox(t *testing.T, id int64, kind string, want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = e.outbox(t, id, kind); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("order %d: %s mail to %q, want %q", id, kind, got, want)
}

// received waits for the message to rcpt whose subject holds subject.
func (e *mailEnv) received(t *testing.T, rcpt, subject string) dcvtest.Message {
	t.Helper()
	return e.smtp.WaitForMatch(t, rcpt, func(m dcvtest.Message) bool { return strings.Contains(m.Subject, subject) }, 10*time.Second)
}

// createdBy decodes the 201 of an order placed with some user's key.
func createdBy(t *testing.T) func(int, http.Header, []byte) created {
	return func(status int, hdr http.Header, body []byte) created {
		t.Helper()
		return requireCreated(t, status, hdr, body)
	}
}

// orderCert is the id and serial number of an order's certificate.
func orderCert(t *testing.T, srv *testenv.Server, id int64) (int64, string) {
	t.Helper()
	_, raw := getOrder(t, srv, id)
	var o struct {
		Certificate struct {
			ID           int64  `json:"id"`
			SerialNumber string `json:"serial_number"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Certificate.ID == 0 {
		t.Fatalf("order %d: certificate id: %v %s", id, err, clip(raw))
	}
	return o.Certificate.ID, o.Certificate.SerialNumber
}

func (e *mailEnv) decide(t *testing.T, requestID int64, status, comment string) {
	t.Helper()
	code, _, body := e.srv.Do("PUT", v2+"/request/"+itoa(requestID)+"/status", mustJSON(t, map[string]any{"status": status, "processor_comment": comment}))
	if code != http.StatusNoContent {
		t.Fatalf("%s request %d: %d %s", status, requestID, code, clip(body))
	}
}

// dvOrder is a DV order body with a technical contact and an additional
// address.
func dvOrder(t *testing.T, cn, tech, techFirst, techLast string) map[string]any {
	_, csr := lcKey(t)
	b := dvBase(csr)
	certOf(b)["common_name"] = cn
	b["technical_contact"] = map[string]any{"first_name": techFirst, "last_name": techLast, "telephone": "555-0100", "email": tech}
	b["additional_emails"] = []string{"extra@watchers.example"}
	return b
}

// toName is the display name of the one recipient of m, decoded.
func toName(t *testing.T, m dcvtest.Message) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 {
		t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
	}
	return to[0].Name
}

// TestEventMail follows an order's life through its mail, as CertCentral
// documents who receives what by default: the request waiting for
// approval goes to the approvers of the order's division (administrators,
// managers of a division above it; not a manager of another division, not
// the requester) and to the order's additional emails; its approval, the
// certificate issued (with the chain attached, as PEM), a reissue, a
// duplicate and a revocation to the requester, the technical contact and
// the additional emails; a rejection, with the approver's comment, to the
// requester and the additional emails. Every message is multipart
// text/HTML with the recipient's name in To, encoded as received by a
// real SMTP server.
func TestEventMail(t *testing.T) {
	t.Parallel()
	e := startMail(t, nil)
	other := usrContainer(t, e.srv, 1, "Other division")
	manager := e.user(t, store.RoleManager, 1, "Mia")
	otherManager := e.user(t, store.RoleManager, other, "Otto")
	e.user(t, store.RoleFinanceManager, 1, "Fin")
	requester := e.user(t, store.RoleStandardUser, 1, "Sam")
	const tech, extra = "tech@ops.example", "extra@watchers.example"

	// A standard user's order waits for approval.
	body := dvOrder(t, "mail-flow.example.com", tech, "Tëch", `"Ops" Team`)
	body["comments"] = "Für den Shop, bitte."
	placed := createdBy(t)(e.srv.DoKey(requester.key, "POST", orderPath+"ssl_dv_geotrust", mustJSON(t, body)))
	placed.requirePending(t)
	e.requireOutbox(t, placed.ID, "request_pending", "admin@example.com", manager.email, extra)
	m := e.received(t, manager.email, "Approval needed: request "+itoa(placed.Requests[0].ID)+" for mail-flow.example.com")
	if !strings.Contains(m.Text, requester.name+" placed order "+itoa(placed.ID)) || !strings.Contains(m.Text, "Für den Shop, bitte.") ||
		!strings.Contains(m.Text, "/services/v2/request/"+itoa(placed.Requests[0].ID)) || !strings.Contains(m.HTML, "Für den Shop, bitte.") {
		t.Errorf("waiting mail:\n%s\n%s", m.Text, m.HTML)
	}
	if got := toName(t, m); got != manager.name {
		t.Errorf("To name %q, want %q", got, manager.name)
	}
	for _, nobody := range []string{requester.email, otherManager.email, tech} {
		if slices.Contains(e.outbox(t, placed.ID, "request_pending"), nobody) {
			t.Errorf("%s was asked to approve", nobody)
		}
	}

	// Approved: the approval, then the certificate with its chain.
	e.decide(t, placed.Requests[0].ID, "approved", "Looks good.")
	e.requireOutbox(t, placed.ID, "request_approved", requester.email, tech, extra)
	e.requireOutbox(t, placed.ID, "certificate_issued", requester.email, tech, extra)
	m = e.received(t, requester.email, "Request "+itoa(placed.Requests[0].ID)+" for mail-flow.example.com was approved")
	if !strings.Contains(m.Text, "Looks good.") || !strings.Contains(m.Text, "approved by certorder Administrator") {
		t.Errorf("approval mail:\n%s", m.Text)
	}
	m = e.received(t, tech, "Your certificate for mail-flow.example.com is issued (order "+itoa(placed.ID)+")")
	if got := toName(t, m); got != `Tëch "Ops" Team` {
		t.Errorf("To name %q", got)
	}
	certID, _ := orderCert(t, e.srv, placed.ID)
	if !strings.Contains(m.Text, fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID)) ||
		!strings.Contains(m.Text, "/services/v2/certificate/download/order/"+itoa(placed.ID)) ||
		!strings.Contains(m.HTML, fmt.Sprintf(`<a href="%s/services/v2/certificate/%d/download/format/pem_all"`, e.srv.URL, certID)) {
		t.Errorf("issued mail has no download links:\n%s\n%s", m.Text, m.HTML)
	}
	requireChainAttached(t, e.srv, m, certID, "mail-flow_example_com.pem")

	// Rejected, with the approver's comment.
	rejected := createdBy(t)(e.srv.DoKey(requester.key, "POST", orderPath+"ssl_dv_geotrust", mustJSON(t, dvOrder(t, "mail-reject.example.com", tech, "T", "C"))))
	e.decide(t, rejected.Requests[0].ID, "rejected", "Wrong name —\nplease use the shop's.")
	e.requireOutbox(t, rejected.ID, "request_rejected", requester.email, extra)
	m = e.received(t, requester.email, "Request "+itoa(rejected.Requests[0].ID)+" for mail-reject.example.com was rejected")
	if !strings.Contains(m.Text, "Wrong name —\nplease use the shop's.") {
		t.Errorf("rejection mail:\n%s", m.Text)
	}

	// A reissue, a duplicate and a revocation of an issued order.
	_, csr := lcKey(t)
	issued := lcIssuedAnswer(t, e.srv, "ssl_securesite", baseBody(csr))
	e.requireOutbox(t, issued.ID, "certificate_issued", "admin@example.com")
	_, csr2 := lcKey(t)
	re := lcOpOK(t, e.srv, issued.ID, "reissue", map[string]any{"certificate": map[string]any{"common_name": "example.com", "csr": csr2}, "skip_approval": true})
	e.requireOutbox(t, issued.ID, "reissue_issued", "admin@example.com")
	m = e.received(t, "admin@example.com", "Your reissued certificate for example.com is issued (order "+itoa(issued.ID)+")")
	requireChainAttached(t, e.srv, m, re.CertificateID, "example_com.pem")
	_, csr3 := lcKey(t)
	dup := lcOpOK(t, e.srv, issued.ID, "duplicate", map[string]any{"certificate": map[string]any{"common_name": "example.com", "csr": csr3}, "skip_approval": true})
	e.requireOutbox(t, issued.ID, "duplicate_issued", "admin@example.com")
	m = e.received(t, "admin@example.com", "Your duplicate certificate for example.com is issued (order "+itoa(issued.ID)+")")
	requireChainAttached(t, e.srv, m, dup.CertificateID, "example_com.pem")
	code, _, rb := e.srv.Do("PUT", rvCertPath(itoa(dup.CertificateID)), `{"revocation_reason":"key_compromise","comments":"Laptop lost.","skip_approval":true}`)
	if code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, clip(rb))
	}
	e.requireOutbox(t, issued.ID, "certificate_revoked", "admin@example.com")
	m = e.received(t, "admin@example.com", "Certificate revoked: order "+itoa(issued.ID))
	if !strings.Contains(m.Text, "Reason: key compromise") || !strings.Contains(m.Text, "Laptop lost.") || !strings.Contains(m.Text, "The order stays active") {
		t.Errorf("revocation mail:\n%s", m.Text)
	}

	// A revocation asked for by a standard user waits for the approvers.
	code, _, rb = e.srv.DoKey(requester.key, "PUT", rvOrderPath(placed.ID), `{"revocation_reason":"superseded"}`)
	if code != http.StatusCreated {
		t.Fatalf("revoke request: %d %s", code, clip(rb))
	}
	var rr struct{ ID int64 }
	if err := json.Unmarshal(rb, &rr); err != nil || rr.ID == 0 {
		t.Fatalf("revoke request answer %s", rb)
	}
	e.requireOutbox(t, placed.ID, "request_pending", "admin@example.com", manager.email, extra, "admin@example.com", manager.email, extra)
	m = e.received(t, manager.email, "Approval needed: request "+itoa(rr.ID))
	if !strings.Contains(m.Text, "asked to revoke the certificate of order "+itoa(placed.ID)) {
		t.Errorf("revoke request mail:\n%s", m.Text)
	}
}

// requireChainAttached: m carries one attachment, name, whose PEM is the
// issued certificate certID (as the API downloads it) and its chain.
func requireChainAttached(t *testing.T, srv *testenv.Server, m dcvtest.Message, certID int64, name string) {
	t.Helper()
	if len(m.Attachments) != 1 || m.Attachments[0].Name != name || m.Attachments[0].ContentType != "application/x-pem-file" {
		t.Fatalf("attachments %+v, want one %s", m.Attachments, name)
	}
	chain := testenv.ParsePEMChain(t, m.Attachments[0].Data)
	if len(chain) != 3 {
		t.Fatalf("attached chain holds %d certificates", len(chain))
	}
	testenv.RequireLintClean(t, chain[0].Raw)
	requireChainShape(t, chain)
	status, _, body := srv.Do("GET", fmt.Sprintf("%s/certificate/%d/download/format/pem_all", v2, certID), "")
	if status != http.StatusOK {
		t.Fatalf("download certificate %d: %d %s", certID, status, clip(body))
	}
	want := testenv.ParsePEMChain(t, body)
	for i := range chain {
		if !bytes.Equal(chain[i].Raw, want[i].Raw) {
			t.Errorf("attached certificate %d is not the downloaded one", i)
		}
	}
	if m.Text == "" || m.HTML == "" {
		t.Errorf("not multipart text/HTML: text %d bytes, HTML %d bytes", len(m.Text), len(m.HTML))
	}
}

// TestEventMailRecipientSettings: PUT /account/settings chooses, for each
// kind of mail, which groups receive it (in any of the value forms
// CertCentral's documentation shows); PUT /account's admin_email receive a
// copy of everything; additional_emails are never turned off; a setting
// with no group sends that mail to those two alone.
func TestEventMailRecipientSettings(t *testing.T) {
	t.Parallel()
	e := startMail(t, nil)
	manager := e.user(t, store.RoleManager, 1, "Mia")
	requester := e.user(t, store.RoleStandardUser, 1, "Sam")
	const extra, jane = "extra@watchers.example", "jane.doe@example.com" // jane: organization 1's contact

	code, _, body := e.srv.Do("PUT", v2+"/account", `{"admin_email":"copies@audit.example, Audit@audit.example"}`)
	if code != http.StatusNoContent {
		t.Fatalf("PUT /account: %d %s", code, body)
	}
	putSettings(t, e.srv,
		map[string]any{"name": "confirmation_email_recipients", "value": `["order-users"]`},
		map[string]any{"name": "approval_email_recipients", "value": "org-contact, admin"},
		map[string]any{"name": "rejection_email_recipients", "value": []string{}})
	copies := []string{"copies@audit.example", "Audit@audit.example"}
	order := func(cn string) created {
		_, csr := lcKey(t)
		b := baseBody(csr)
		certOf(b)["common_name"] = cn
		b["additional_emails"] = []string{extra}
		return createdBy(t)(e.srv.DoKey(requester.key, "POST", orderPath+"ssl_securesite", mustJSON(t, b)))
	}
	a := order("settings-a.example.com")
	e.requireOutbox(t, a.ID, "request_pending", append([]string{requester.email, extra}, copies...)...)
	e.decide(t, a.Requests[0].ID, "approved", "")
	approvers := append([]string{jane, "admin@example.com", manager.email, extra}, copies...)
	e.requireOutbox(t, a.ID, "request_approved", approvers...)
	e.requireOutbox(t, a.ID, "certificate_issued", approvers...)
	e.received(t, "audit@audit.example", "Your certificate for settings-a.example.com is issued")
	b := order("settings-b.example.com")
	e.decide(t, b.Requests[0].ID, "rejected", "No.")
	e.requireOutbox(t, b.ID, "request_rejected", append([]string{extra}, copies...)...)

	var got struct {
		AccountSettings []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"account_settings"`
	}
	usrGet(t, e.srv, e.srv.AdminKey, "/account/settings", &got)
	values := map[string]any{}
	for _, s := range got.AccountSettings {
		values[s.Name] = s.Value
	}
	for name, want := range map[string]string{"confirmation_email_recipients": `["order-users"]`, "approval_email_recipients": `["org-contact","admin"]`,
		"rejection_email_recipients": `[]`, "renewal_email_recipients": `["order-users","tech-contact"]`} {
		if values[name] != want {
			t.Errorf("GET /account/settings %s = %v, want %s", name, values[name], want)
		}
	}
	var acct struct {
		ID         int64  `json:"id"`
		AdminEmail string `json:"admin_email"`
	}
	usrGet(t, e.srv, e.srv.AdminKey, "/account", &acct)
	if acct.ID != 1 || acct.AdminEmail != "copies@audit.example, Audit@audit.example" {
		t.Errorf("GET /account = %+v", acct)
	}

	// Everything off: only what cannot be turned off remains.
	noLifecycleMail(t, e.srv)
	if code, _, body := e.srv.Do("PUT", v2+"/account", `{"admin_email":""}`); code != http.StatusNoContent {
		t.Fatalf("PUT /account: %d %s", code, body)
	}
	c := order("settings-c.example.com")
	e.decide(t, c.Requests[0].ID, "approved", "")
	e.requireOutbox(t, c.ID, "certificate_issued", extra)
	e.requireOutbox(t, c.ID, "request_pending", extra)
	e.requireOutbox(t, c.ID, "request_approved", extra)
}

// TestEventMailLocales: mail is written in the recipient's language: a
// user's locale first, else the order's, else English; each of en, de,
// fr, es, ja and zh_CN arrives translated.
func TestEventMailLocales(t *testing.T) {
	t.Parallel()
	e := startMail(t, nil)
	words := map[string]string{"en": "certificate", "de": "Zertifikat", "fr": "certificat", "es": "certificado", "ja": "証明書", "zh_CN": "证书"}
	for locale, word := range words {
		b := dvOrder(t, "locale-"+strings.ToLower(strings.ReplaceAll(locale, "_", "-"))+".example.com", "tech-"+locale+"@ops.example", "T", "C")
		b["locale"] = locale
		b["skip_approval"] = true
		placed := createOK(t, e.srv, "ssl_dv_geotrust", mustJSON(t, b))
		m := e.smtp.WaitForMatch(t, "tech-"+locale+"@ops.example", func(dcvtest.Message) bool { return true }, 10*time.Second)
		if !strings.Contains(m.Subject, word) || !strings.Contains(m.Text, word) || !strings.Contains(m.Text, itoa(placed.ID)) ||
			!strings.Contains(m.HTML, `lang="`+strings.ReplaceAll(locale, "_", "-")+`"`) {
			t.Errorf("%s: %q\n%s", locale, m.Subject, m.Text)
		}
	}

	// A user's own locale wins over the order's; others get the order's.
	requester := e.user(t, store.RoleStandardUser, 1, "Sam")
	if code, _, body := e.srv.Do("PUT", v2+"/user/"+itoa(requester.id), `{"locale":"fr"}`); code != http.StatusNoContent {
		t.Fatalf("PUT /user locale: %d %s", code, body)
	}
	b := dvOrder(t, "locale-mix.example.com", "tech-mix@ops.example", "T", "C")
	b["locale"] = "de"
	placed := createdBy(t)(e.srv.DoKey(requester.key, "POST", orderPath+"ssl_dv_geotrust", mustJSON(t, b)))
	// (A waiting mail still unsent when its request is decided is
	// dropped: it is read before the approval.)
	e.received(t, "admin@example.com", "Freigabe erforderlich: Anfrage "+itoa(placed.Requests[0].ID))
	e.decide(t, placed.Requests[0].ID, "approved", "")
	e.received(t, requester.email, "La demande "+itoa(placed.Requests[0].ID)+" pour locale-mix.example.com a été approuvée")
	e.received(t, "tech-mix@ops.example", "Anfrage "+itoa(placed.Requests[0].ID)+" für locale-mix.example.com wurde genehmigt")
}

// TestEventMailHostileNames: a contact's name with CR, LF, quotes and a
// header of its own reaches the relay as one encoded display name of one
// recipient; the message has no other recipient and no extra header.
func TestEventMailHostileNames(t *testing.T) {
	t.Parallel()
	e := startMail(t, nil)
	first, last := "Mallory\r\nBcc: victim@evil.example", "\"Boss\" <ceo@evil.example>,\nX-Injected: 1"
	b := dvOrder(t, "hostile.example.com", "tech@ops.example", first, last)
	b["skip_approval"] = true
	createOK(t, e.srv, "ssl_dv_geotrust", mustJSON(t, b))
	m := e.received(t, "tech@ops.example", "hostile.example.com")
	if got := toName(t, m); got != first+" "+last {
		t.Errorf("To name = %q, want %q", got, first+" "+last)
	}
	if len(m.To) != 1 || m.To[0] != "tech@ops.example" {
		t.Errorf("envelope recipients %q", m.To)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	for k := range msg.Header {
		if k == "Bcc" || k == "X-Injected" || k == "Cc" {
			t.Errorf("injected header %s: %q", k, msg.Header[k])
		}
	}
	time.Sleep(100 * time.Millisecond)
	for _, got := range e.smtp.Messages() {
		if slices.Contains(got.To, "victim@evil.example") || slices.Contains(got.To, "ceo@evil.example") {
			t.Errorf("mail reached an injected recipient: %q", got.To)
		}
	}
}

// TestEventMailRelayDown: with the relay down an order is placed and
// issued as ever; its mail waits in the outbox with the failure recorded,
// to be retried.
func TestEventMailRelayDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, SMTPURL: "smtp://" + dead})
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	placed.requireChain(t, "example.com")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l := sbListMail(t, srv, "?order_id="+itoa(placed.ID)+"&kind=certificate_issued")
		if len(l.Mails) == 1 && l.Mails[0].Status == "pending" && strings.Contains(l.Mails[0].LastError, dead) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox with the relay down: %+v", l.Mails)
		}
	}
}

// TestEventMailRetryUnderFrozenClock: with the business clock frozen (as
// TestDCVEmailBounds freezes it), a message the relay refuses for now on
// its first attempt reaches the relay once the queue's backoff has passed
// on the real clock; the outbox shows it sent, after the refusal.
func TestEventMailRetryUnderFrozenClock(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	e := startMail(t, func(o *testenv.Options) { o.Now = clock.now })
	const tech = "tech@frozen-retry.example"
	e.smtp.RejectNext(tech, "451 4.3.0 try later", 1)
	placed := lcIssuedAnswer(t, e.srv, "ssl_dv_geotrust", dvOrder(t, "frozen-retry.example.com", tech, "T", "C"))
	placed.requireChain(t, "frozen-retry.example.com")
	// Every mail to tech is sent in the end, one of them after the
	// refusal; the relay has each once.
	var mails []sbMail
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mails = sbListMail(t, e.srv, "?order_id="+itoa(placed.ID)+"&recipient="+tech).Mails
		if len(mails) > 0 && !slices.ContainsFunc(mails, func(m sbMail) bool { return m.Status != "sent" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox of %s under a frozen clock: %+v", tech, mails)
		}
	}
	if !slices.ContainsFunc(mails, func(m sbMail) bool { return strings.Contains(m.LastError, "451") }) {
		t.Errorf("no mail to %s records the refusal: %+v", tech, mails)
	}
	time.Sleep(300 * time.Millisecond) // a second copy would come now
	var got int
	for _, m := range e.smtp.Messages() {
		if slices.Contains(m.To, tech) {
			got++
		}
	}
	if got != len(mails) {
		t.Errorf("the relay got %d messages to %s, the outbox lists %d", got, tech, len(mails))
	}
}

// TestAccountSettingsRefusals: the settings calls take what CertCentral
// documents and refuse the rest, whole; only administrators change them,
// and a view-only key reads them.
func TestAccountSettingsRefusals(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{})
	manager := usrUser(t, srv, store.RoleManager, 1)
	_, managerKey := usrKey(t, srv, manager, 0)
	admin2 := usrUser(t, srv, store.RoleAdministrator, 1)
	_, viewKey := usrKey(t, srv, admin2, 102)
	setting := func(name string, value any) string {
		return mustJSON(t, map[string]any{"account_settings": []map[string]any{{"name": name, "value": value}}})
	}
	for _, c := range []struct {
		name, method, path, key string
		body                    string
		status                  int
		codes                   []string
	}{
		{name: "no settings", method: "PUT", path: accountSettingsPath, body: `{}`, status: 400, codes: []string{"missing_field:account_settings"}},
		{name: "unknown setting", method: "PUT", path: accountSettingsPath, body: setting("issued_email_recipients", "admin"), status: 400, codes: []string{"invalid_value:account_settings"}},
		{name: "unknown group", method: "PUT", path: accountSettingsPath, body: setting("approval_email_recipients", `["order-users","everyone"]`), status: 400, codes: []string{"invalid_value:account_settings"}},
		{name: "a number for recipients", method: "PUT", path: accountSettingsPath, body: setting("approval_email_recipients", 1), status: 400, codes: []string{"invalid_value:account_settings"}},
		{name: "no value", method: "PUT", path: accountSettingsPath, body: `{"account_settings":[{"name":"approval_email_recipients"}]}`, status: 400, codes: []string{"missing_field:account_settings.value"}},
		{name: "not JSON", method: "PUT", path: accountSettingsPath, body: `{`, status: 400, codes: []string{"bad_request_format"}},
		{name: "a manager", method: "PUT", path: accountSettingsPath, key: managerKey, body: setting("approval_email_recipients", "admin"), status: 403, codes: []string{denied}},
		{name: "a manager reads", method: "GET", path: accountSettingsPath, key: managerKey, status: 403, codes: []string{denied}},
		{name: "a view-only key", method: "PUT", path: accountSettingsPath, key: viewKey, body: setting("approval_email_recipients", "admin"), status: 403, codes: []string{denied}},
		{name: "account emails: not an address", method: "PUT", path: v2 + "/account", body: `{"admin_email":"a@example.com, nobody"}`, status: 400, codes: []string{"invalid_value:admin_email"}},
		{name: "account emails: a display name", method: "PUT", path: v2 + "/account", body: `{"admin_email":"Jo <jo@example.com>"}`, status: 400, codes: []string{"invalid_value:admin_email"}},
		{name: "account emails: too many", method: "PUT", path: v2 + "/account", body: mustJSON(t, map[string]any{"admin_email": manyAddresses(21)}), status: 400, codes: []string{"invalid_value:admin_email"}},
		{name: "account emails: none given", method: "PUT", path: v2 + "/account", body: `{}`, status: 400, codes: []string{"missing_field:admin_email"}},
		{name: "account emails: a manager", method: "PUT", path: v2 + "/account", key: managerKey, body: `{"admin_email":"a@example.com"}`, status: 403, codes: []string{denied}},
		{name: "user locale unknown", method: "PUT", path: v2 + "/user/" + itoa(manager), body: `{"locale":"klingon"}`, status: 400, codes: []string{"invalid_value:locale"}},
		{name: "new user locale unknown", method: "POST", path: v2 + "/user", body: `{"username":"loc","first_name":"L","last_name":"O","email":"loc@example.com","access_roles":[{"id":5}],"locale":"xx"}`, status: 400, codes: []string{"invalid_value:locale"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := c.key
			if key == "" {
				key = srv.AdminKey
			}
			status, hdr, resp := srv.DoKey(key, c.method, c.path, c.body)
			requireErrors(t, status, hdr, resp, c.status, c.codes...)
		})
	}
	// Refused calls changed nothing; the kept settings are kept as sent.
	putSettings(t, srv, map[string]any{"name": "email_preference", "value": `{"org-approval":["all"]}`},
		map[string]any{"name": "account_fund_expiry_notices", "value": 1})
	var got struct {
		AccountSettings []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"account_settings"`
	}
	usrGet(t, srv, viewKey, "/account/settings", &got)
	want := map[string]string{"confirmation_email_recipients": `"[\"admin\"]"`, "rejection_email_recipients": `"[\"order-users\"]"`,
		"approval_email_recipients": `"[\"order-users\",\"tech-contact\"]"`, "renewal_email_recipients": `"[\"order-users\",\"tech-contact\"]"`,
		"email_preference": `"{\"org-approval\":[\"all\"]}"`, "account_fund_expiry_notices": `1`}
	if len(got.AccountSettings) != len(want) {
		t.Errorf("settings %+v", got.AccountSettings)
	}
	for _, s := range got.AccountSettings {
		if want[s.Name] != string(s.Value) {
			t.Errorf("%s = %s, want %s", s.Name, s.Value, want[s.Name])
		}
	}
	// A user's locale is shown once set, and cleared by "".
	for _, l := range []string{"ja", ""} {
		if code, _, body := srv.Do("PUT", v2+"/user/"+itoa(manager), `{"locale":"`+l+`"}`); code != http.StatusNoContent {
			t.Fatalf("PUT locale %q: %d %s", l, code, body)
		}
		var u map[string]any
		usrGet(t, srv, srv.AdminKey, "/user/"+itoa(manager), &u)
		if v, ok := u["locale"]; l == "" && ok || l != "" && v != l {
			t.Errorf("locale %q: user shows %v", l, u["locale"])
		}
	}
}

func manyAddresses(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("a%d@example.com", i))
	}
	return strings.Join(out, ", ")
}

// TestMailTemplatesOverride: a template directory given to the server
// replaces the embedded template of its locale and kind.
func TestMailTemplatesOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	tpl := `{{define "subject"}}[ACME PKI] {{.CommonName}} ready{{end}}{{define "body"}}Serial {{.SerialNumber}}, order {{.OrderID}}.{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "en", "certificate_issued.txt"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := testenv.Start(t, testenv.Options{Sandbox: true, MailTemplates: dir})
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	placed.requireChain(t, "example.com")
	_, serial := orderCert(t, srv, placed.ID)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l := sbListMail(t, srv, "?order_id="+itoa(placed.ID)+"&kind=certificate_issued")
		if len(l.Mails) == 1 && l.Mails[0].Status == "sent" {
			if want := fmt.Sprintf("Serial %s, order %d.\n", serial, placed.ID); l.Mails[0].Subject != "[ACME PKI] example.com ready" || l.Mails[0].Body != want {
				t.Fatalf("kept %q %q, want body %q", l.Mails[0].Subject, l.Mails[0].Body, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %+v", l.Mails)
		}
	}
}

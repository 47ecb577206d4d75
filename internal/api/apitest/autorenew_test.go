package apitest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// TestAutoRenew: an order with auto_renew is renewed 30 days before its
// end and not a day earlier, by the order its requester would have placed
// (same product, names, key, organization, container, validity, payment,
// settings; renewal_of_order_id set), once however many engines run the
// job at once, and its contacts get the mail in the order's locale.
func TestAutoRenew(t *testing.T) {
	t.Parallel()
	smtp := dcvtest.StartSMTP(t)
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, SMTPURL: smtp.URL(),
		Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	ctx := context.Background()
	_, csr := lcKey(t)
	body := baseBody(csr)
	delete(body, "validity_years")
	body["validity_days"] = 150
	body["auto_renew"] = 1
	body["locale"] = "de"
	body["additional_emails"] = []string{"ops@example.com"}
	body["custom_renewal_message"] = "Bitte Jo anrufen."
	body["send_minus_7"] = false
	body["certificate"].(map[string]any)["dns_names"] = []string{"www.example.com"}
	id, chain := lcIssued(t, srv, "ssl_securesite", body, "example.com")
	old, err := srv.App.Store.Order(ctx, 1, id)
	if err != nil {
		t.Fatal(err)
	}
	travelTo := func(at time.Time) { shift.Store(int64(time.Until(at))) }

	travelTo(old.OrderValidTill.Add(-jobs.RenewLead - time.Hour))
	if n, err := srv.App.Jobs.RoundOf(ctx, jobs.KindRenew); err != nil || n != 0 {
		t.Fatalf("31 days before the end: %d renewals (%v)", n, err)
	}
	if o, _ := getOrder(t, srv, id); o.IsRenewed {
		t.Fatal("renewed 31 days before the end")
	}

	travelTo(old.OrderValidTill.Add(-jobs.RenewLead + time.Hour))
	// The server's own engine runs in the background too: the three may
	// share the work, never double it (the state below says how much).
	if made := raceRounds(t, srv, jobs.KindRenew); made > 1 {
		t.Errorf("the racing engines report %d renewals, want at most 1", made)
	}
	// Past the second engine's clock: its mail is due, and a round sees
	// the order renewed.
	travelTo(old.OrderValidTill.Add(-jobs.RenewLead + time.Hour + 15*time.Minute))
	if n, err := srv.App.Jobs.RoundOf(ctx, jobs.KindRenew); err != nil || n != 0 {
		t.Errorf("a later round placed %d renewals (%v)", n, err)
	}
	srv.App.Mail.Kick()

	o, _ := getOrder(t, srv, id)
	if !o.IsRenewed || o.RenewedOrderID == 0 {
		t.Fatalf("old order after the renewal: %+v", o)
	}
	nu, err := srv.App.Store.Order(ctx, 1, o.RenewedOrderID)
	if err != nil {
		t.Fatal(err)
	}
	if nu.RenewalOfOrderID != id || nu.ProductNameID != old.ProductNameID || nu.CommonName != old.CommonName ||
		!slices.Equal(nu.DNSNames, old.DNSNames) || nu.CSR != old.CSR || nu.OrganizationID != old.OrganizationID ||
		nu.ContainerID != old.ContainerID || nu.ValidityDays != 150 || nu.PaymentMethod != old.PaymentMethod ||
		nu.AutoRenew != 1 || nu.Locale != "de" || nu.CustomRenewalMessage != old.CustomRenewalMessage ||
		!slices.Equal(nu.AdditionalEmails, old.AdditionalEmails) || !slices.Equal(nu.Extra.NoticesOff, []string{store.NoticeMinus7}) ||
		nu.UserID != old.UserID {
		t.Errorf("renewal order %+v\nof %+v", nu, old)
	}
	if nu.Status != store.OrderIssued {
		t.Fatalf("renewal order is %s, want issued (validated, approval skipped as the original)", nu.Status)
	}
	c, err := srv.App.Store.Certificate(ctx, 1, nu.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	leaf := arLeaf(t, *c)
	if !leaf.NotAfter.After(chain[0].NotAfter) {
		t.Errorf("the renewal's certificate ends %v, before the old one's %v", leaf.NotAfter, chain[0].NotAfter)
	}

	// The renewal notices of the old order go to ops@example.com too.
	renewalMails := func() []dcvtest.Message {
		var out []dcvtest.Message
		for _, m := range smtp.Messages() {
			if slices.Contains(m.To, "ops@example.com") && strings.Contains(m.Subject, "automatisch verlängert") {
				out = append(out, m)
			}
		}
		return out
	}
	for deadline := time.Now().Add(10 * time.Second); len(renewalMails()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if ms := renewalMails(); len(ms) != 1 || !strings.Contains(ms[0].Body, itoa(nu.ID)) {
		t.Fatalf("%d renewal mails to ops@example.com, want 1 naming order %d: %+v", len(ms), nu.ID, ms)
	}

	// The renewal is itself renewed in its turn, not the old order again.
	travelTo(nu.OrderValidTill.Add(-jobs.RenewLead + time.Hour))
	if _, err := srv.App.Jobs.RoundOf(ctx, jobs.KindRenew); err != nil {
		t.Fatal(err)
	}
	if again, _ := getOrder(t, srv, nu.ID); !again.IsRenewed {
		t.Errorf("the renewal order was not renewed in its turn")
	}
}

// TestAutoRenewOff: without auto_renew nothing is placed.
func TestAutoRenewOff(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	_, csr := lcKey(t)
	id, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	old, err := srv.App.Store.Order(context.Background(), 1, id)
	if err != nil {
		t.Fatal(err)
	}
	shift.Store(int64(time.Until(old.OrderValidTill.Add(-jobs.RenewLead + time.Hour))))
	if n, err := srv.App.Jobs.RoundOf(context.Background(), jobs.KindRenew); err != nil || n != 0 {
		t.Fatalf("%d renewals of an order without auto_renew (%v)", n, err)
	}
	if o, _ := getOrder(t, srv, id); o.IsRenewed {
		t.Fatal("renewed without auto_renew")
	}
}

// TestSandboxAutoRenew: the sandbox walkthrough. An order with auto_renew
// is renewed once the sandbox clock is moved within 30 days of its end;
// order info shows it renewed, and the sandbox outbox keeps the
// auto_renewal mail naming the renewal.
func TestSandboxAutoRenew(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	body := baseBody(csr)
	delete(body, "validity_years")
	body["validity_days"] = 60
	body["auto_renew"] = 1
	id, _ := lcIssued(t, srv, "ssl_securesite", body, "example.com")
	sbMove(t, srv, `{"advance":"29d"}`)
	srv.App.Jobs.Round(context.Background())
	if o, _ := getOrder(t, srv, id); o.IsRenewed {
		t.Fatal("renewed 31 days before the end")
	}
	sbMove(t, srv, `{"advance":"2d"}`)
	sbWaitOffset(t, srv, 31*24*3600)
	srv.App.Jobs.Round(context.Background())
	o, _ := getOrder(t, srv, id)
	if !o.IsRenewed || o.RenewedOrderID == 0 {
		t.Fatalf("29 days before the end: %+v", o)
	}
	if nu, _ := getOrder(t, srv, o.RenewedOrderID); nu.RenewalOfOrderID != id || nu.Status != "issued" {
		t.Errorf("renewal order: %+v", nu)
	}
	var l sbMailList
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		l = sbListMail(t, srv, "?kind=auto_renewal")
		if len(l.Mails) > 0 && l.Mails[0].Status != "pending" || time.Now().After(deadline) {
			break
		}
	}
	if len(l.Mails) == 0 || l.Mails[0].OrderID != o.RenewedOrderID || !strings.Contains(l.Mails[0].Subject, "renewed automatically") {
		t.Fatalf("sandbox outbox: %+v", l.Mails)
	}
}

// raceRounds runs a round of kind on the server's engine and, at once, on a
// second engine whose clock is ahead by more than a round's lease, so that
// both claim the round and run it together; it returns how much they
// report done between them.
func raceRounds(t *testing.T, srv *testenv.Server, kind string) int64 {
	t.Helper()
	other := *srv.App.Jobs
	other.Now = func() time.Time { return srv.App.Jobs.Now().Add(10 * time.Minute) }
	var wg sync.WaitGroup
	var made atomic.Int64
	for _, e := range []*jobs.Engine{srv.App.Jobs, &other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.RoundOf(t.Context(), kind)
			if err != nil {
				t.Error(err)
			}
			made.Add(int64(n))
		}()
	}
	wg.Wait()
	return made.Load()
}

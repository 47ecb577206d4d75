package main

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"
)

// TestJobsSurviveKill: the time-driven jobs of a sandbox server are killed
// twice mid-run and lose nothing. Orders are placed, the sandbox clock is
// moved 40 days on, and the next server is SIGKILLed while its auto-renew
// round is halfway through the due orders; the clock is moved past the
// round's lease and the next server is SIGKILLed while it sends the mail
// of the rounds, with a message handed to the SMTP relay and its handoff
// not recorded; a last server finishes. Then: every order due its renewal
// is renewed exactly once, every due notice and renewal mail is delivered
// to each of its recipients once, the message the kill caught is delivered
// at most once more with the same Message-ID, and the orders past their
// end are expired.
func TestJobsSurviveKill(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var database string
			if backend == "postgres" {
				if os.Getenv("CERTORDER_TEST_POSTGRES") == "" {
					t.Skip("CERTORDER_TEST_POSTGRES is not set: no PostgreSQL server to crash-test against (.ci/run starts one)")
				}
				database = testenv.PostgresDatabase(t)
			}
			testJobsSurviveKill(t, database)
		})
	}
}

// jobsCrashOrders: how many orders of each kind the test places.
const (
	crashRenewed  = 8 // auto_renew, 60 days: renewed 40 days on
	crashNotified = 4 // 60 days: their 30-day notice 40 days on
	crashExpired  = 2 // 30 days: expired 40 days on, and their notice of a week after the end
)

func testJobsSurviveKill(t *testing.T, database string) {
	began := time.Now()
	ctx := context.Background()
	dir := testenv.DataDir(t)
	smtp := dcvtest.StartSMTP(t)
	serve := func(addr string) string {
		args := "serve --sandbox --issuer-key-type p256 --root-key-type p256 --addr " + addr + " --data " + dir +
			" --rate-limit off --smtp " + smtp.URL() + " --smtp-from certorder@example.com"
		if database != "" {
			args += " --database " + database
		}
		return args
	}
	advance := func(d string) {
		t.Helper()
		args := []string{"advance", "--data", dir, d}
		if database != "" {
			args = append(args, "--database", database)
		}
		var out, errOut bytes.Buffer
		if err := clockCmd(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("clock advance %s: %v\n%s", d, err, errOut.String())
		}
	}
	kill := func(cmd *exec.Cmd) {
		t.Helper()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err == nil {
			t.Fatal("the killed server exited cleanly")
		}
	}
	db := crashDB(t, dir, database)
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}

	// The orders, placed on a first server.
	addr := freeAddr(t)
	cmd, log := startServerProcess(t, crashTestAdminKey, serve(addr))
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "jobs-kill.example.com")
	type placed struct {
		id    int64
		group string // renewed, notified or expired
		extra string // its additional_emails address
	}
	var orders []placed
	c := &http.Client{Timeout: 10 * time.Second}
	for _, g := range []struct {
		group     string
		n, days   int
		autoRenew int
	}{{"renewed", crashRenewed, 60, 1}, {"notified", crashNotified, 60, 0}, {"expired", crashExpired, 30, 0}} {
		for i := range g.n {
			name := fmt.Sprintf("%s%d.jobs-kill.example.com", g.group, i)
			extra := "ops-" + name + "@example.com"
			body, _ := json.Marshal(map[string]any{
				"certificate": map[string]any{"common_name": name, "csr": csr}, "auto_renew": g.autoRenew,
				"order_validity": map[string]any{"days": g.days}, "dcv_method": "dns-txt-token", "skip_approval": true,
				"additional_emails": []string{extra}})
			code, b, err := crashCall(c, "POST", "http://"+addr+"/services/v2/order/certificate/ssl_dv_geotrust", string(body))
			if err != nil || code != http.StatusCreated {
				t.Fatalf("order %s: %d %s %v\n%s", name, code, b, err, log)
			}
			cr, err := parseCreated(name, b)
			if err != nil {
				t.Fatalf("order %s: %s: %v", name, b, err)
			}
			testenv.RequireLintClean(t, cr.leaf)
			orders = append(orders, placed{cr.orderID, g.group, extra})
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("first server exit: %v\n%s", err, log)
	}
	t.Logf("orders placed at %v", time.Since(began).Round(time.Millisecond))
	advance("40d")

	// Kill 1: the auto-renew round of the next server has renewed some of
	// the due orders and not all. The test takes the store's write lock
	// once it sees the first renewal, so that the server, wanting to
	// write its next one, stops where it is, and kills it there.
	addr = freeAddr(t)
	cmd, log = spawnServerProcess(t, crashTestAdminKey, serve(addr))
	renewedSoFar := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_notices WHERE notice = 'auto_renew'`).Scan(&n); err != nil {
			t.Fatalf("count renewals: %v", err)
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); renewedSoFar(db) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no renewal 30 s after the start\n%s", log)
		}
	}
	lock := lockWrites(t, db, database)
	atKill := renewedSoFar(lock)
	kill(cmd)
	lock.release()
	if atKill == 0 || atKill >= crashRenewed {
		t.Fatalf("kill 1 did not land mid-round: %d of %d orders renewed", atKill, crashRenewed)
	}
	if n := count(`SELECT COUNT(*) FROM orders WHERE renewal_of_order_id <> 0`); n != atKill {
		t.Fatalf("after kill 1: %d renewal orders for %d renewal records", n, atKill)
	}
	// (Notices passed over may be recorded: the first server's first
	// round can meet orders placed meanwhile, whose earliest notices were
	// due before them.)
	if n := count(`SELECT COUNT(*) FROM order_notices WHERE notice <> 'auto_renew' AND sent = 1`) +
		count(`SELECT COUNT(*) FROM mail_outbox WHERE kind = 'renewal_notice'`); n != 0 {
		t.Fatalf("after kill 1: %d notices sent; the notice round runs after the renewals", n)
	}
	t.Logf("kill 1 at %v: %d of %d renewals placed", time.Since(began).Round(time.Millisecond), atKill, crashRenewed)
	// Mail of the orders' own lifecycle (issued, renewed) may have been
	// in flight at kill 1: a message still unrecorded then may have
	// reached the relay (its bytes can be read by the relay after this
	// point, the sender being dead), and may reach it once more, with its
	// Message-ID.
	caught := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT message_id FROM mail_outbox WHERE sent_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		caught[id] = true
	}
	rows.Close()

	// Kill 2: past the round's lease, the next server finishes the rounds
	// and sends their mail; the relay takes four messages, then holds its
	// answer to the fifth, which the server never hears of.
	advance("10m")
	base, sentBase := len(smtp.Messages()), count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL`)
	smtp.HoldAfter(4) // the next four, then the fifth is held
	addr = freeAddr(t)
	cmd, log = startServerProcess(t, crashTestAdminKey, serve(addr))
	for deadline := time.Now().Add(30 * time.Second); len(smtp.Messages()) < base+5; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay got %d messages in 30 s\n%s", len(smtp.Messages()), log)
		}
	}
	kill(cmd)
	smtp.Release()
	atKill2 := smtp.Messages()
	if len(atKill2) != base+5 {
		t.Fatalf("the relay got %d messages by kill 2, want %d", len(atKill2), base+5)
	}
	held := crashMessageID(t, atKill2[base+4])
	sentBefore := count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL`) - sentBase
	if sentBefore != 4 || count(`SELECT COUNT(*) FROM mail_outbox WHERE message_id = $1 AND sent_at IS NULL`, held) != 1 {
		t.Fatalf("kill 2 did not land between the relay's taking message %s and its record: %d messages recorded sent", held, sentBefore)
	}
	queued := count(`SELECT COUNT(*) FROM mail_outbox`)
	if count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL`) <= 1 {
		// The rounds had not queued their mail yet (the relay was still
		// taking the orders' own mail): the kill still caught a message
		// between the relay and its record, which is what is tested.
		t.Logf("kill 2 landed before the rounds queued their mail: %d messages queued in all", queued)
	}
	t.Logf("kill 2 at %v: %d of %d queued messages delivered, the last unrecorded", time.Since(began).Round(time.Millisecond), 5, queued)

	// The last server, past the leases, finishes.
	advance("10m")
	addr = freeAddr(t)
	cmd, log = startServerProcess(t, crashTestAdminKey, serve(addr))
	// Renewal and notice mail: to each order's requester and its
	// additional address. (The orders' issued mail goes out beside it.)
	want := 2 * (crashRenewed + crashNotified + crashExpired)
	const lifecycleMail = `SELECT COUNT(*) FROM mail_outbox WHERE kind IN ('auto_renewal', 'renewal_notice')`
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL`) == 0 && count(lifecycleMail) >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail not all sent 30 s after the restart: %d of %d queued unsent\n%s",
				count(`SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL`), count(`SELECT COUNT(*) FROM mail_outbox`), log)
		}
	}
	t.Logf("all mail sent at %v", time.Since(began).Round(time.Millisecond))
	// Each renewal's certificate, as a client downloads it.
	rows, err = db.QueryContext(ctx, `SELECT certificate_id FROM orders WHERE renewal_of_order_id <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	var certs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		certs = append(certs, id)
	}
	rows.Close()
	for _, id := range certs {
		code, b, err := crashCall(c, "GET", fmt.Sprintf("http://%s/services/v2/certificate/%d/download/format/pem_all", addr, id), "")
		if err != nil || code != http.StatusOK {
			t.Fatalf("download renewal certificate %d: %d %s %v", id, code, b, err)
		}
		testenv.RequireLintClean(t, testenv.ParsePEMChain(t, b)[0].Raw)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("last server exit: %v\n%s", err, log)
	}

	// The store: each order once, as its group wants.
	type row struct {
		kind, recipient, messageID string
		orderID                    int64
		sent                       bool
	}
	var outbox []row
	rows, err = db.QueryContext(ctx, `SELECT kind, recipient, message_id, order_id, sent_at IS NOT NULL FROM mail_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.kind, &r.recipient, &r.messageID, &r.orderID, &r.sent); err != nil {
			t.Fatal(err)
		}
		outbox = append(outbox, r)
	}
	rows.Close()
	if n := count(lifecycleMail); n != want {
		t.Errorf("%d renewal and notice messages queued, want %d", n, want)
	}
	mailFor := func(orderID int64, kind string) []string {
		var to []string
		for _, r := range outbox {
			if r.orderID == orderID && r.kind == kind {
				to = append(to, r.recipient)
			}
		}
		slices.Sort(to)
		return to
	}
	for _, o := range orders {
		var status string
		var renewedBy int64
		if err := db.QueryRowContext(ctx, `SELECT status, renewed_order_id FROM orders WHERE id = $1`, o.id).Scan(&status, &renewedBy); err != nil {
			t.Fatal(err)
		}
		renewals := count(`SELECT COUNT(*) FROM orders WHERE renewal_of_order_id = $1`, o.id)
		wantTo := []string{"admin@example.com", o.extra}
		slices.Sort(wantTo)
		var notice, mailKind string
		mailOrder := o.id
		switch o.group {
		case "renewed":
			if renewals != 1 || renewedBy == 0 || status != "issued" {
				t.Errorf("order %d: %d renewals, renewed by %d, %s; want renewed once", o.id, renewals, renewedBy, status)
				continue
			}
			notice, mailKind, mailOrder = "auto_renew", "auto_renewal", renewedBy
			if to := mailFor(o.id, "renewal_notice"); len(to) != 0 {
				t.Errorf("order %d, renewed, also sent its renewal notice to %v", o.id, to)
			}
		case "notified":
			if renewals != 0 || status != "issued" {
				t.Errorf("order %d: %d renewals, %s; want none, issued", o.id, renewals, status)
			}
			notice, mailKind = "minus_30", "renewal_notice"
		case "expired":
			if renewals != 0 || status != "expired" {
				t.Errorf("order %d: %d renewals, %s; want none, expired", o.id, renewals, status)
			}
			notice, mailKind = "plus_7", "renewal_notice"
		}
		if n := count(`SELECT COUNT(*) FROM order_notices WHERE order_id = $1 AND notice = $2 AND sent = 1`, o.id, notice); n != 1 {
			t.Errorf("order %d (%s): %d %s records sent, want 1", o.id, o.group, n, notice)
		}
		if to := mailFor(mailOrder, mailKind); !slices.Equal(to, wantTo) {
			t.Errorf("order %d (%s): %s mail queued to %v, want %v", o.id, o.group, mailKind, to, wantTo)
		}
	}

	// The relay: every queued message, once; the one kill 2 caught at
	// most twice, with its Message-ID.
	got := map[string]int{}
	for _, m := range smtp.Messages() {
		got[crashMessageID(t, m)]++
	}
	for _, r := range outbox {
		n := got[r.messageID]
		delete(got, r.messageID)
		switch {
		case !r.sent:
			t.Errorf("message %s (%s to %s) is not recorded sent", r.messageID, r.kind, r.recipient)
		case n == 0:
			t.Errorf("message %s (%s to %s) never reached the relay", r.messageID, r.kind, r.recipient)
		case n == 2 && r.messageID == held:
			t.Logf("the message kill 2 caught (%s to %s) was sent again, with its Message-ID", r.kind, r.recipient)
		case n == 2 && caught[r.messageID]:
			t.Logf("a message kill 1 caught (%s to %s) was sent again, with its Message-ID", r.kind, r.recipient)
		case n == 2:
			// The outbox promises at most one resend, with the same
			// Message-ID, of a message whose record did not follow the
			// relay's answer (a kill, or a record that failed under a
			// loaded store); which message that is cannot always be
			// told from outside.
			t.Logf("message %s (%s to %s) was sent again, with its Message-ID", r.messageID, r.kind, r.recipient)
		case n != 1:
			t.Errorf("message %s (%s to %s) reached the relay %d times", r.messageID, r.kind, r.recipient, n)
		}
	}
	if len(got) != 0 {
		t.Errorf("the relay got messages the outbox never queued: %v", got)
	}
	t.Logf("whole test %v", time.Since(began).Round(time.Millisecond))
}

// crashDB opens the store of the test's servers directly: the SQLite file
// in dir (read and written beside them, as another process), or the
// PostgreSQL database.
func crashDB(t *testing.T, dir, database string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(dir, "certorder.db")+"?_pragma=busy_timeout(10000)"
	if database != "" {
		driver, dsn = "pgx", database
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// writeLock is a transaction of the test that keeps every other process
// from writing the store until release; counts read through it.
type writeLock struct {
	q interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	release func()
}

func (l *writeLock) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return l.q.QueryRowContext(ctx, query, args...)
}

// lockWrites takes the store's write lock: SQLite's (BEGIN IMMEDIATE,
// waiting for a server's write in flight), or on PostgreSQL a lock on
// orders that every write of an order waits for (reads go on).
func lockWrites(t *testing.T, db *sql.DB, database string) *writeLock {
	t.Helper()
	ctx := context.Background()
	if database == "" {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			t.Fatalf("take the write lock: %v", err)
		}
		return &writeLock{q: conn, release: func() { conn.ExecContext(ctx, `ROLLBACK`); conn.Close() }}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	return &writeLock{q: tx, release: func() { tx.Rollback() }}
}

// crashMessageID is the Message-ID header of a message the relay got,
// without its angle brackets.
func crashMessageID(t *testing.T, m dcvtest.Message) string {
	t.Helper()
	pm, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("the relay got an unreadable message: %v\n%s", err, m.Data)
	}
	return strings.Trim(pm.Header.Get("Message-ID"), "<>")
}

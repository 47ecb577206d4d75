package main

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"

	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect the store while no server runs
)

const crashTestAdminKey = "CRASHTESTADMINKEY000000000000000000000000000000000000000"

// startCrashServer runs certorder serve --sandbox on dir (and database, a
// postgres:// URL, when not empty) and waits for /healthz. The server log
// is kept for failure messages.
func startCrashServer(t *testing.T, dir, addr, database string) (*exec.Cmd, *lockedLog) {
	t.Helper()
	args := "serve --sandbox --issuer-key-type p256 --root-key-type p256 --addr " + addr + " --data " + dir + " --rate-limit off"
	if database != "" {
		args += " --database " + database
	}
	return startServerProcess(t, crashTestAdminKey, args)
}

// crashCall is one API call with the admin key; err is a transport error
// (or a body cut short), never a status.
func crashCall(c *http.Client, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-DC-DEVKEY", crashTestAdminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, err
	}
	return resp.StatusCode, b, nil
}

// crashCreated is what a 201 said about one order.
type crashCreated struct {
	orderID, certID int64
	name            string
	serial          *big.Int
	leaf            []byte // DER
}

// crashOrderBody is the immediate-issuance order for name.
func crashOrderBody(csr, name string) string {
	b, _ := json.Marshal(map[string]any{
		"certificate":    map[string]any{"common_name": name, "csr": csr},
		"order_validity": map[string]any{"years": 1},
		"dcv_method":     "dns-txt-token", "skip_approval": true,
	})
	return string(b)
}

// parseCreated reads a 201 answer: the ids and the leaf of the chain.
func parseCreated(name string, b []byte) (crashCreated, error) {
	var a struct {
		ID               int64 `json:"id"`
		CertificateID    int64 `json:"certificate_id"`
		CertificateChain []struct {
			SubjectCommonName string `json:"subject_common_name"`
			PEM               string `json:"pem"`
		} `json:"certificate_chain"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return crashCreated{}, err
	}
	if a.ID == 0 || a.CertificateID == 0 || len(a.CertificateChain) < 2 {
		return crashCreated{}, fmt.Errorf("201 without id, certificate_id or a chain of at least 2")
	}
	blk, _ := pem.Decode([]byte(a.CertificateChain[0].PEM))
	if blk == nil || blk.Type != "CERTIFICATE" {
		return crashCreated{}, fmt.Errorf("chain[0] is not a PEM certificate")
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return crashCreated{}, err
	}
	if leaf.Subject.CommonName != name {
		return crashCreated{}, fmt.Errorf("leaf common name %q, want %q", leaf.Subject.CommonName, name)
	}
	return crashCreated{orderID: a.ID, certID: a.CertificateID, name: name, serial: leaf.SerialNumber, leaf: blk.Bytes}, nil
}

// parseSerial reads the hex serial_number of the API (DigiCert style,
// upper-case hex; colons tolerated).
func parseSerial(s string) (*big.Int, bool) {
	if s == "" {
		return nil, false
	}
	return new(big.Int).SetString(strings.ReplaceAll(s, ":", ""), 16)
}

// Issue 7: crash safety. Eight clients stream immediate-issuance orders at
// a sandbox server, which is SIGKILLed with requests in flight. After a
// restart on the same store every order that got a 201 is there and
// issued, its certificate downloads byte for byte as the 201 returned it
// and lints clean, no serial is used twice, and no order, answered or not,
// is left half-made.
func TestCrashMidStreamKeepsEveryAnsweredOrder(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var database string
			if backend == "postgres" {
				if os.Getenv("CERTORDER_TEST_POSTGRES") == "" {
					t.Skip("CERTORDER_TEST_POSTGRES is not set: no PostgreSQL server to crash-test against (.ci/run starts one)")
				}
				database = testenv.PostgresDatabase(t)
			}
			testCrashMidStream(t, backend, database)
		})
	}
}

func testCrashMidStream(t *testing.T, backend, database string) {
	// Two rounds of stream and kill on the same store: the second
	// server's serials and ids must not meet the first's either. Under
	// the race detector the server is several times slower to start and
	// to issue; one round keeps the test within its time.
	rounds := 2
	if raceEnabled() {
		rounds = 1
	}
	dir := testenv.DataDir(t)
	began := time.Now()
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "crash.example.com")
	var (
		created   []crashCreated
		attempted int64
		next      atomic.Int64        // order names, unique across rounds
		left      = map[string]bool{} // intents the killed servers left
	)
	openStore := func() *sql.DB {
		t.Helper()
		var db *sql.DB
		var err error
		if backend == "sqlite" {
			db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "certorder.db")+"?mode=ro&_pragma=busy_timeout(5000)")
		} else {
			db, err = sql.Open("pgx", database)
		}
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	for round := 1; round <= rounds; round++ {
		addr := freeAddr(t)
		up := time.Now()
		cmd, log := startCrashServer(t, dir, addr, database)
		t.Logf("%s round %d: server up after %v", backend, round, time.Since(up).Round(time.Millisecond))
		cr, n := crashStream(t, fmt.Sprintf("%s round %d", backend, round), cmd, log, addr, csr, &next)
		created, attempted = append(created, cr...), attempted+n

		// While no server runs: the store itself.
		db := openStore()
		if backend == "sqlite" {
			var res string
			if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
				t.Errorf("PRAGMA integrity_check after the kill: %q %v", res, err)
			}
		}
		for sn := range checkCrashStore(t, db) {
			left[sn] = true
		}
		if backend == "sqlite" {
			db.Close()
		} else {
			var commits, rollbacks int64
			if err := db.QueryRow(`SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()`).
				Scan(&commits, &rollbacks); err == nil {
				t.Logf("postgres so far: %d transactions committed, %d rolled back (serialization retries among them)", commits, rollbacks)
			}
			db.Close()
		}
	}

	// A new process on the same store.
	addr2 := freeAddr(t)
	restarted := time.Now()
	cmd2, log2 := startCrashServer(t, dir, addr2, database)
	t.Logf("%s: last server up after %v", backend, time.Since(restarted).Round(time.Millisecond))
	c := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, body string) []byte {
		t.Helper()
		code, b, err := crashCall(c, method, "http://"+addr2+path, body)
		if err != nil || code/100 != 2 {
			t.Fatalf("%s %s: %d %s %v\n%s", method, path, code, b, err, log2)
		}
		return b
	}

	// Every order the store holds, answered or not.
	type listed struct {
		ID          int64  `json:"id"`
		Status      string `json:"status"`
		Certificate struct {
			ID           int64  `json:"id"`
			SerialNumber string `json:"serial_number"`
			CommonName   string `json:"common_name"`
		} `json:"certificate"`
	}
	var list struct {
		Orders []listed `json:"orders"`
		Page   struct {
			Total int `json:"total"`
		} `json:"page"`
	}
	if b := call("GET", "/services/v2/order/certificate?limit=1000", ""); json.Unmarshal(b, &list) != nil {
		t.Fatalf("order list: %s", b)
	}
	if list.Page.Total != len(list.Orders) {
		t.Fatalf("order list: %d of %d orders", len(list.Orders), list.Page.Total)
	}
	if int64(len(list.Orders)) > attempted {
		t.Errorf("%d orders in the store, only %d were attempted", len(list.Orders), attempted)
	}
	byID := map[int64]listed{}
	bySerial := map[string]int64{}
	certIDs := map[int64]int64{}
	download := func(certID int64) *x509.Certificate {
		t.Helper()
		chain := testenv.ParsePEMChain(t, call("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", certID), ""))
		if len(chain) < 2 {
			t.Fatalf("certificate %d: pem_all has %d certificates", certID, len(chain))
		}
		if err := chain[0].CheckSignatureFrom(chain[1]); err != nil {
			t.Fatalf("certificate %d: leaf not signed by the intermediate: %v", certID, err)
		}
		testenv.RequireLintClean(t, chain[0].Raw)
		return chain[0]
	}
	leaves := map[int64]*x509.Certificate{}
	for _, o := range list.Orders {
		byID[o.ID] = o
		// Half-made would be anything but an issued order with its
		// certificate: sandbox orders with skip_approval issue within the
		// transaction that creates them.
		serial, ok := parseSerial(o.Certificate.SerialNumber)
		if o.Status != "issued" || o.Certificate.ID == 0 || !ok {
			t.Errorf("order %d is half-made: status %q, certificate %d, serial %q", o.ID, o.Status, o.Certificate.ID, o.Certificate.SerialNumber)
			continue
		}
		key := serial.Text(16)
		if prev, dup := bySerial[key]; dup {
			t.Errorf("serial %s used by orders %d and %d", o.Certificate.SerialNumber, prev, o.ID)
		}
		bySerial[key] = o.ID
		if prev, dup := certIDs[o.Certificate.ID]; dup {
			t.Errorf("certificate %d belongs to orders %d and %d", o.Certificate.ID, prev, o.ID)
		}
		certIDs[o.Certificate.ID] = o.ID
		leaf := download(o.Certificate.ID)
		if leaf.SerialNumber.Cmp(serial) != 0 {
			t.Errorf("order %d: listed serial %s, downloaded leaf %X", o.ID, o.Certificate.SerialNumber, leaf.SerialNumber)
		}
		if leaf.Subject.CommonName != o.Certificate.CommonName {
			t.Errorf("order %d: listed common name %q, leaf %q", o.ID, o.Certificate.CommonName, leaf.Subject.CommonName)
		}
		leaves[o.ID] = leaf
	}

	// Every 201 in the store, as it was answered.
	answered := map[int64]bool{}
	for _, cr := range created {
		answered[cr.orderID] = true
		o, ok := byID[cr.orderID]
		if !ok {
			t.Errorf("order %d (%s) got a 201 and is gone after the restart", cr.orderID, cr.name)
			continue
		}
		if o.Certificate.ID != cr.certID {
			t.Errorf("order %d: certificate %d after the restart, the 201 said %d", cr.orderID, o.Certificate.ID, cr.certID)
		}
		if leaf := leaves[cr.orderID]; leaf != nil && !bytes.Equal(leaf.Raw, cr.leaf) {
			t.Errorf("order %d: the certificate downloaded after the restart (serial %X) is not the one the 201 returned (serial %X)",
				cr.orderID, leaf.SerialNumber, cr.serial)
		}
		var info struct {
			Status      string `json:"status"`
			Certificate struct {
				ID           int64  `json:"id"`
				SerialNumber string `json:"serial_number"`
			} `json:"certificate"`
		}
		if b := call("GET", fmt.Sprintf("/services/v2/order/certificate/%d", cr.orderID), ""); json.Unmarshal(b, &info) != nil {
			t.Fatalf("order %d info: %s", cr.orderID, b)
		}
		if s, ok := parseSerial(info.Certificate.SerialNumber); info.Status != "issued" || info.Certificate.ID != cr.certID || !ok || s.Cmp(cr.serial) != 0 {
			t.Errorf("order %d info after the restart: status %q, certificate %d, serial %q; the 201 gave certificate %d, serial %X",
				cr.orderID, info.Status, info.Certificate.ID, info.Certificate.SerialNumber, cr.certID, cr.serial)
		}
	}
	unanswered := 0
	for id := range byID {
		if !answered[id] {
			unanswered++ // created, its 201 lost with the server: complete (checked above)
		}
	}
	t.Logf("%s: after the restart %d orders: %d answered 201 before a kill, %d committed with their answer lost", backend,
		len(list.Orders), len(created), unanswered)

	// The restarted server goes on issuing, with a fresh serial.
	code, b, err := crashCall(c, "POST", "http://"+addr2+"/services/v2/order/certificate/ssl_dv_geotrust",
		crashOrderBody(csr, "crash-after.example.com"))
	if err != nil || code != http.StatusCreated {
		t.Fatalf("order after the restart: %d %s %v\n%s", code, b, err, log2)
	}
	cr, err := parseCreated("crash-after.example.com", b)
	if err != nil {
		t.Fatalf("order after the restart: %s: %v", b, err)
	}
	if prev, dup := bySerial[cr.serial.Text(16)]; dup {
		t.Errorf("the order after the restart reused the serial of order %d", prev)
	}
	if left[cr.serial.Text(16)] {
		t.Errorf("the order after the restart took serial %X, which a killed server held with its intent", cr.serial)
	}
	if _, dup := byID[cr.orderID]; dup {
		t.Errorf("the order after the restart reused the id %d", cr.orderID)
	}
	testenv.RequireLintClean(t, cr.leaf)

	cmd2.Process.Signal(syscall.SIGTERM)
	if err := cmd2.Wait(); err != nil {
		t.Errorf("second server exit: %v\n%s", err, log2)
	}
	// A clean shutdown deletes the intents of the serials its own pool
	// held, never those the killed servers left unrecorded: those may
	// have been signed, and CRLs and OCSP must go on answering for them.
	db := openStore()
	now := intentSerials(t, context.Background(), db)
	// The intents of recorded serials, the killed servers' too, are
	// deleted by the next server's batches and its shutdown.
	var total int
	if err := db.QueryRow(`SELECT COUNT(*) FROM issuance_intents`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if total != len(now) {
		t.Errorf("after a clean shutdown %d issuance intents, %d of them of recorded serials", total, total-len(now))
	}
	for sn := range left {
		if !now[sn] {
			t.Errorf("the intent of serial %s, left by a killed server, was deleted by the next one", sn)
		}
	}
	if len(now) != len(left) {
		t.Errorf("after a clean shutdown %d intents, want the %d the killed servers left", len(now), len(left))
	}
	t.Logf("%s: whole test %v", backend, time.Since(began).Round(time.Millisecond))
}

// raceEnabled: this test binary, and so the server it runs, was built
// with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// crashStream runs eight clients placing immediate-issuance orders at the
// server at addr and SIGKILLs it with requests in flight: once 40 orders
// got their 201, or after 2 s when at least one did. It returns the 201s
// and the number of orders attempted.
func crashStream(t *testing.T, what string, cmd *exec.Cmd, log *lockedLog, addr, csr string, next *atomic.Int64) ([]crashCreated, int64) {
	t.Helper()
	const (
		clients     = 8
		killAfterOK = 40
		killAfter   = 2 * time.Second
		giveUp      = 15 * time.Second
	)
	orderURL := "http://" + addr + "/services/v2/order/certificate/ssl_dv_geotrust"
	var (
		mu        sync.Mutex
		created   []crashCreated
		bad       []string // answers the live server should not have given
		attempted atomic.Int64
		failed    atomic.Int64 // transport errors, expected once the server is gone
		okCount   atomic.Int64
		inFlight  atomic.Int64
		killed    atomic.Bool
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Its own connections: a request dies with the server
			// (connection reset or refused).
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("crash-%d.example.com", next.Add(1))
				attempted.Add(1)
				inFlight.Add(1)
				code, b, err := crashCall(c, "POST", orderURL, crashOrderBody(csr, name))
				inFlight.Add(-1)
				switch {
				case err != nil:
					failed.Add(1)
					if !killed.Load() {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s before the kill: %v", name, err))
						mu.Unlock()
					}
					time.Sleep(5 * time.Millisecond) // refused at once: do not spin
				case code != http.StatusCreated:
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: %d %s", name, code, b))
					mu.Unlock()
				default:
					cr, err := parseCreated(name, b)
					mu.Lock()
					if err != nil {
						bad = append(bad, fmt.Sprintf("%s: 201 %s: %v", name, b, err))
					} else {
						created = append(created, cr)
					}
					mu.Unlock()
					okCount.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	for {
		ok, el := okCount.Load(), time.Since(start)
		if ok >= killAfterOK || ok > 0 && el >= killAfter || el >= giveUp {
			break
		}
		time.Sleep(time.Millisecond)
	}
	killed.Store(true)
	killAt, flying := time.Since(start), inFlight.Load()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed server exited cleanly")
	}
	atKill := okCount.Load()
	time.Sleep(50 * time.Millisecond) // the clients meet the dead server
	close(stop)
	wg.Wait()
	t.Logf("%s: killed %v into the stream with %d orders answered 201 and %d requests in flight; %d attempted, %d transport errors, %d answers after the kill",
		what, killAt.Round(time.Millisecond), atKill, flying, attempted.Load(), failed.Load(), okCount.Load()-atKill)
	if os.Getenv("CERTORDER_CRASH_LOG") == "1" {
		t.Logf("%s: server log:\n%s", what, log)
	}
	if len(bad) > 0 {
		t.Errorf("%s: the live server gave %d answers other than 201:\n%s\nserver log:\n%s", what, len(bad), strings.Join(bad, "\n"), log)
	}
	if len(created) == 0 {
		t.Fatalf("%s: no order got a 201 in %v\n%s", what, giveUp, log)
	}
	if flying == 0 || failed.Load() == 0 {
		t.Fatalf("%s: the kill did not land mid-stream (%d in flight, %d failed)", what, flying, failed.Load())
	}
	return created, attempted.Load()
}

// checkCrashStore looks at the store of a killed server: every order is
// issued with its certificate, every certificate signed and its serial
// reserved for its order. The same SQL serves SQLite and PostgreSQL.
func checkCrashStore(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct{ what, query string }{
		{"orders not issued", `SELECT COUNT(*) FROM orders WHERE status <> 'issued'`},
		{"issued orders without their signed certificate", `SELECT COUNT(*) FROM orders o WHERE NOT EXISTS
			(SELECT 1 FROM certificates c WHERE c.id = o.certificate_id AND c.order_id = o.id AND c.der IS NOT NULL AND c.status = 'issued')`},
		{"certificates without a DER or serial", `SELECT COUNT(*) FROM certificates WHERE der IS NULL OR serial_number IS NULL OR serial_number = ''`},
		{"certificates of no order", `SELECT COUNT(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.certificate_id = c.id)`},
		{"certificates whose serial is not reserved for their order", `SELECT COUNT(*) FROM certificates c WHERE NOT EXISTS
			(SELECT 1 FROM serials s WHERE s.serial_number = c.serial_number AND s.order_id = c.order_id)`},
		{"serials used twice", `SELECT COUNT(*) FROM (SELECT serial_number FROM certificates GROUP BY serial_number HAVING COUNT(*) > 1) d`},
		// A recorded certificate whose intent counted as abandoned would
		// be listed on the CRL as revoked while OCSP calls it good.
		{"certificates whose serial is an abandoned issuance", `SELECT COUNT(*) FROM certificates c WHERE EXISTS
			(SELECT 1 FROM issuance_intents i WHERE i.serial_number = c.serial_number
				AND NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial_number = i.serial_number))`},
	} {
		var n int
		if err := db.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
			t.Fatalf("store: %s: %v", c.what, err)
		}
		if n != 0 {
			t.Errorf("store after the kill: %d %s", n, c.what)
		}
	}
	// A serial reserved in a transaction that never committed is rolled
	// back with it; any left would be harmless but worth knowing.
	var orphans, orders int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM serials s WHERE NOT EXISTS
		(SELECT 1 FROM certificates c WHERE c.serial_number = s.serial_number)`).Scan(&orphans); err != nil {
		t.Fatalf("store: orphan serials: %v", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&orders); err != nil {
		t.Fatalf("store: orders: %v", err)
	}
	// The serials the killed process held ahead (and any it signed without
	// recording) keep their intents: CRLs list them as revoked later.
	intents := intentSerials(t, ctx, db)
	t.Logf("store after the kill: %d orders, %d reserved serials without a certificate, %d issuance intents left", orders, orphans, len(intents))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("store checks timed out")
	}
	return intents
}

// intentSerials are the serials of the store's issuance intents that
// no recorded certificate completed (those CRLs list once old enough), as
// big.Int's hex.
func intentSerials(t *testing.T, ctx context.Context, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT serial_number FROM issuance_intents i
		WHERE NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial_number = i.serial_number)`)
	if err != nil {
		t.Fatalf("store: issuance intents: %v", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var sn string
		if err := rows.Scan(&sn); err != nil {
			t.Fatalf("store: issuance intents: %v", err)
		}
		n, ok := parseSerial(sn)
		if !ok {
			t.Fatalf("store: issuance intent with serial %q", sn)
		}
		out[n.Text(16)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("store: issuance intents: %v", err)
	}
	return out
}

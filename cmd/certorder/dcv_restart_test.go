package main

import (
	"bytes"
	"crypto/elliptic"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"

	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect the store while no server runs
)

const killTestAdminKey = "KILLTESTADMINKEY0000000000000000000000000000000000000000"

// startRealServer runs certorder serve without --sandbox, its DCV and CAA
// lookups going to the DNS server at dnsAddr, whose zones are unsigned (and
// no real root is reachable): DNSSEC validation is off.
func startRealServer(t *testing.T, dir, addr, dnsAddr string) (*exec.Cmd, *lockedLog) {
	t.Helper()
	return startServerProcess(t, killTestAdminKey, "serve --issuer-key-type p256 --root-key-type p256 --addr "+addr+" --data "+dir+
		" --dns-resolver "+dnsAddr+" --dnssec off --dcv-retry 100ms --dcv-poll 100ms --dcv-timeout 500ms --rate-limit off --log-level debug")
}

// startServerProcess runs the test binary as certorder with args (TestMain)
// and the admin key, and waits for /healthz on the --addr of args. The
// process's stderr (the server log) is kept for failure messages; the
// process is killed when the test ends.
func startServerProcess(t *testing.T, adminKey, args string) (*exec.Cmd, *lockedLog) {
	t.Helper()
	cmd, log := spawnServerProcess(t, adminKey, args)
	fields := strings.Fields(args)
	addr := ""
	for i, f := range fields {
		if f == "--addr" && i+1 < len(fields) {
			addr = fields[i+1]
		}
	}
	waitHealthy(t, addr, log)
	return cmd, log
}

// spawnServerProcess starts the server process as startServerProcess does
// but returns at once, for a test that watches what it does while it
// starts.
func spawnServerProcess(t *testing.T, adminKey, args string) (*exec.Cmd, *lockedLog) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1", "CERTORDER_ADMIN_KEY="+adminKey, "CERTORDER_TEST_ARGS="+args)
	log := &lockedLog{}
	cmd.Stdout, cmd.Stderr = io.Discard, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, log
}

// waitHealthy waits for /healthz of the server at addr.
func waitHealthy(t *testing.T, addr string, log *lockedLog) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedLog is the child's stderr, written by os/exec's copying goroutine
// and read by the test for failure messages.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func killTestCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-DC-DEVKEY", killTestAdminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// storeState is what the SQLite file says about one order.
type storeState struct {
	orderStatus    string
	certs, issued  int // certificate rows of the order; those with a DER
	serials        int // serials reserved for the order
	checks         int // dcv_checks rows of the order
	attempts       int
	lastError      string
	nextAt         time.Time
	checkUpdatedAt time.Time
}

// readStore opens the data directory's database while no server runs.
func readStore(t *testing.T, dir string, orderID int64) storeState {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "certorder.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s storeState
	q := func(query string, dst ...any) {
		t.Helper()
		if err := db.QueryRow(query, orderID).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(`SELECT status FROM orders WHERE id = ?`, &s.orderStatus)
	q(`SELECT COUNT(*), COUNT(der) FROM certificates WHERE order_id = ?`, &s.certs, &s.issued)
	q(`SELECT COUNT(*) FROM serials WHERE order_id = ?`, &s.serials)
	q(`SELECT COUNT(*) FROM dcv_checks WHERE kind = 'order' AND object_id = ?`, &s.checks)
	if s.checks == 1 {
		var next, upd string
		q(`SELECT attempts, last_error, next_at, updated_at FROM dcv_checks WHERE kind = 'order' AND object_id = ?`,
			&s.attempts, &s.lastError, &next, &upd)
		const layout = "2006-01-02T15:04:05.000000Z"
		s.nextAt, _ = time.Parse(layout, next)
		s.checkUpdatedAt, _ = time.Parse(layout, upd)
	}
	return s
}

// Issue 6: the background validation survives a crash. The server is
// SIGKILLed while the worker keeps failing to look up the order's token
// (SERVFAIL); after the record is published and a new process starts on the
// same data directory, the worker resumes the check from the store and
// issues the order, once.
func TestServerKilledMidValidationIssuesAfterRestart(t *testing.T) {
	const name = "kill-test.example.com"
	const base = "example.com" // the order's DCV target: the registrable domain (base_domain scope)
	d := dcvtest.StartDNS(t)
	d.Fail(base, dns.RcodeServerFailure)
	d.Fail("_dnsauth."+base, dns.RcodeServerFailure)
	dir := testenv.DataDir(t)

	// First process: place the order; the worker starts looking.
	addr := freeAddr(t)
	start := time.Now()
	cmd, log1 := startRealServer(t, dir, addr, d.Addr())
	t.Logf("first server up after %v", time.Since(start).Round(time.Millisecond))
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), name)
	body, _ := json.Marshal(map[string]any{
		"certificate": map[string]any{"common_name": name, "dns_names": []string{name}, "csr": csr,
			"signature_hash": "sha256"},
		"dcv_method": "dns-txt-token", "skip_approval": true, "order_validity": map[string]any{"years": 1},
	})
	code, b := killTestCall(t, "POST", "http://"+addr+"/services/v2/order/certificate/ssl_dv_geotrust", string(body))
	if code != http.StatusCreated {
		t.Fatalf("create order: %d %s", code, b)
	}
	var created struct {
		ID             int64  `json:"id"`
		CertificateID  int64  `json:"certificate_id"`
		DCVRandomValue string `json:"dcv_random_value"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.ID == 0 || created.CertificateID == 0 || created.DCVRandomValue == "" {
		t.Fatalf("create order answer %s: %v", b, err)
	}
	orderURL := func(addr string) string {
		return fmt.Sprintf("http://%s/services/v2/order/certificate/%d", addr, created.ID)
	}
	orderStatus := func(addr string) (string, map[string]any) {
		t.Helper()
		code, b := killTestCall(t, "GET", orderURL(addr), "")
		if code != http.StatusOK {
			t.Fatalf("order info: %d %s", code, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("order info %s: %v", b, err)
		}
		s, _ := v["status"].(string)
		return s, v
	}
	if s, _ := orderStatus(addr); s != "pending" {
		t.Fatalf("order status %q before validation, want pending", s)
	}

	// Mid-validation: two looks have failed and the third has begun (its
	// first TXT query arrived); the kill lands in it or right after. A
	// look killed midway leaves its check claimed for the worker's lease
	// (six lookup timeouts: 3 s here), after which the restarted process
	// takes it again.
	deadline := time.Now().Add(15 * time.Second)
	for d.Queries(base, dns.TypeTXT) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not look up the token three times (%d TXT queries)\n%s", d.Queries(base, dns.TypeTXT), log1)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("third look %v after the start", time.Since(start).Round(time.Millisecond))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the killed server exited cleanly")
	}
	killedAt := time.Now()
	queriesAtKill := d.Queries(base, dns.TypeTXT)

	// While no server runs: nothing issued, the check is in the store.
	st := readStore(t, dir, created.ID)
	if st.orderStatus != "pending" || st.issued != 0 {
		t.Fatalf("after the kill: order %q with %d issued certificates, want pending with none", st.orderStatus, st.issued)
	}
	if st.checks != 1 || st.attempts < 2 || !strings.Contains(st.lastError, "SERVFAIL") {
		t.Fatalf("after the kill: %d checks, attempts %d, last error %q; want one check with >= 2 failed looks",
			st.checks, st.attempts, st.lastError)
	}
	if st.nextAt.After(killedAt.Add(30 * time.Second)) {
		t.Fatalf("after the kill the check is not due before %v (held by a lease?)", st.nextAt)
	}

	// The record appears while the server is down.
	d.Fail(base, 0)
	d.Fail("_dnsauth."+base, 0)
	d.SetTXT(base, created.DCVRandomValue)

	// Second process on the same data: it resumes and issues.
	addr2 := freeAddr(t)
	restartedAt := time.Now()
	cmd2, log2 := startRealServer(t, dir, addr2, d.Addr())
	t.Logf("second server up after %v", time.Since(restartedAt).Round(time.Millisecond))
	var info map[string]any
	deadline = time.Now().Add(30 * time.Second)
	for {
		var s string
		s, info = orderStatus(addr2)
		if s == "issued" {
			break
		}
		if s != "pending" {
			t.Fatalf("order status %q after restart: %v\n%s", s, info, log2)
		}
		if time.Now().After(deadline) {
			t.Fatalf("order still %q 30s after restart (worker did not resume?); %d TXT queries since the kill\n%s",
				s, d.Queries(base, dns.TypeTXT)-queriesAtKill, log2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("issued %v after the restart", time.Since(restartedAt).Round(time.Millisecond))
	if d.Queries(base, dns.TypeTXT) <= queriesAtKill {
		t.Fatal("issued without a new TXT lookup")
	}

	cert, _ := info["certificate"].(map[string]any)
	if id, _ := cert["id"].(float64); int64(id) != created.CertificateID {
		t.Fatalf("order's certificate id %v, want %d (order info %v)", cert["id"], created.CertificateID, info)
	}
	download := func() []byte {
		t.Helper()
		code, b := killTestCall(t, "GET", fmt.Sprintf("http://%s/services/v2/certificate/%d/download/format/pem_all",
			addr2, created.CertificateID), "")
		if code != http.StatusOK {
			t.Fatalf("download: %d %s", code, b)
		}
		return b
	}
	pem1 := download()
	chain := testenv.ParsePEMChain(t, pem1)
	if len(chain) < 2 {
		t.Fatalf("pem_all has %d certificates", len(chain))
	}
	leaf := chain[0]
	if !slices.Equal(leaf.DNSNames, []string{name}) {
		t.Fatalf("leaf DNS names %v, want [%s]", leaf.DNSNames, name)
	}
	if err := leaf.CheckSignatureFrom(chain[1]); err != nil {
		t.Fatalf("leaf not signed by the intermediate: %v", err)
	}
	testenv.RequireLintClean(t, leaf.Raw)
	serial, _ := cert["serial_number"].(string)
	if n, ok := new(big.Int).SetString(strings.ReplaceAll(serial, ":", ""), 16); !ok || n.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("order info serial %q, downloaded leaf serial %x", serial, leaf.SerialNumber)
	}
	if again := testenv.ParsePEMChain(t, download()); !again[0].Equal(leaf) {
		t.Fatalf("second download differs: serial %x, first %x", again[0].SerialNumber, leaf.SerialNumber)
	}
	for _, list := range []string{"reissue", "duplicate"} {
		code, b = killTestCall(t, "GET", orderURL(addr2)+"/"+list, "")
		var l struct {
			Certificates []json.RawMessage `json:"certificates"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &l) != nil || len(l.Certificates) != 0 {
			t.Fatalf("%s list of the order: %d %s; want none", list, code, b)
		}
	}

	// Exactly one issuance in the store: one certificate, one serial ever
	// reserved, and the check gone.
	cmd2.Process.Signal(syscall.SIGTERM)
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("second server exit: %v\n%s", err, log2)
	}
	st = readStore(t, dir, created.ID)
	if st.orderStatus != "issued" || st.certs != 1 || st.issued != 1 || st.serials != 1 || st.checks != 0 {
		t.Fatalf("after issuance: %+v; want issued, 1 certificate, 1 serial, no check", st)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 8: certorder bench runs a real server process, places orders at
// each concurrency and prints one row per level with certificates issued
// and no errors. Short windows keep the test quick; the figures themselves
// are not judged here.
func TestBenchPrintsRows(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr bytes.Buffer
	// Under the race detector the server is several times slower: a
	// 300 ms window could end before any order does.
	duration := "300ms"
	if raceEnabled() {
		duration = "3s"
	}
	cfg, err := parseBenchFlags([]string{"--duration", duration, "--warmup", "0", "--concurrency", "1,4",
		"--issuers", "p256", "--sign-time", "50ms", "--probe", "100ms", "--out", out}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.command = benchTestCommand
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rep *benchReport
	for attempt := 1; ; attempt++ {
		stdout.Reset()
		began := time.Now()
		rep, err = runBench(ctx, cfg, &stdout, &stderr)
		t.Logf("bench took %v\n%s", time.Since(began).Round(time.Millisecond), stdout.String())
		// A window with neither a certificate nor an error saw no order
		// complete at all: a stall of the shared machine longer than the
		// window. That alone earns one more run; errors never do.
		var failed *benchFailed
		if err == nil || !errors.As(err, &failed) || attempt == 2 {
			break
		}
		stalled := true
		for _, f := range failed.rows {
			stalled = stalled && f.row.certs == 0 && f.row.errors == 0 && f.row.outside == 0
		}
		if !stalled {
			break
		}
		t.Logf("a window completed no order; running once more")
	}
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}

	// certorder, the minimal floor and the minimal+lint floor at 1 and 4,
	// then the HTTP floor (replaying certorder's first answer, which
	// benchOrder accepts only as an issued certificate): the rows in this
	// order, whatever order they were measured in.
	type rowID struct {
		server, issuer string
		conc           int
	}
	want := []rowID{{serverCertorder, "p256", 1}, {serverMinimal, "p256", 1}, {serverLintFloor, "p256", 1},
		{serverCertorder, "p256", 4}, {serverMinimal, "p256", 4}, {serverLintFloor, "p256", 4},
		{serverHTTP, "-", 1}, {serverHTTP, "-", 4}}
	if len(rep.rows) != len(want) {
		t.Fatalf("%d result rows, want %d: %v", len(rep.rows), len(want), want)
	}
	for i, r := range rep.rows {
		if got := (rowID{r.server, r.issuer, r.concurrency}); got != want[i] {
			t.Errorf("row %d is %v, want %v", i, got, want[i])
		}
		if r.certs == 0 || r.errors != 0 {
			t.Errorf("%s %s at %d: %d certificates, %d errors (first: %s)\n%s", r.server, r.issuer, r.concurrency, r.certs, r.errors, r.firstError, stderr.String())
		}
	}

	// The second level starts one server later than the first: the
	// progress lines (stderr, in the order measured) of the last run.
	var atFour []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "bench:" && f[2] == "p256" && f[3] == "c=4:" {
			atFour = append(atFour, f[1])
		}
	}
	if n := len(atFour); n < 3 || !slices.Equal(atFour[n-3:], []string{serverMinimal, serverLintFloor, serverCertorder}) {
		t.Errorf("measured at 4 clients in the order %v, want minimal, minimal+lint, certorder", atFour)
	}

	// The printed table: a row per server and level whose certs/s
	// (column 5) is positive and errors (column 8) zero.
	printed := map[rowID]bool{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != len(benchColumns) || f[0] == "server" {
			continue
		}
		conc, _ := strconv.Atoi(f[2])
		rate, err := strconv.ParseFloat(f[4], 64)
		if err != nil || rate <= 0 {
			t.Errorf("printed row %q: certs/s %q not positive", line, f[4])
		}
		if f[7] != "0" {
			t.Errorf("printed row %q: errors %q", line, f[7])
		}
		// certorder's store counters from its /metrics (columns 11 and
		// 12): at least one call per commit and some WAL pages per
		// certificate; the floors serve no counters.
		if f[0] == serverCertorder {
			if c, err := strconv.ParseFloat(f[10], 64); err != nil || c < 1 {
				t.Errorf("printed row %q: store calls/commit %q", line, f[10])
			}
			if p, err := strconv.ParseFloat(f[11], 64); err != nil || p <= 0 {
				t.Errorf("printed row %q: WAL pages/cert %q", line, f[11])
			}
		} else if f[10] != "-" || f[11] != "-" {
			t.Errorf("printed row %q: store counters %q %q for a floor", line, f[10], f[11])
		}
		printed[rowID{f[0], f[1], conc}] = true
	}
	for _, w := range want {
		if !printed[w] {
			t.Errorf("no row printed for %v:\n%s", w, stdout.String())
		}
	}
	// The targets against the minimal floor, the HTTP floor beside them,
	// and the stall probe under both tables.
	for _, want := range []string{"ECDSA P-256", "RSA-2048", "targets (against the minimal floor of the same run):",
		"p256 at 1 client: p50", "p256 at 4 clients:", "the minimal floor's", "of the HTTP floor's", "stall probe at the start: busy loop on",
		"p256 at 4 clients: the minimal floor with certorder's lint:", "p256 at 1 client: the minimal floor with certorder's lint: p50"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if n := strings.Count(stdout.String(), "stall probes (busy loop on every CPU"); n != 2 {
		t.Errorf("the probe summary is printed %d times, want under each of the 2 tables:\n%s", n, stdout.String())
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| certorder | p256 | 1 |") || !strings.Contains(string(md), "| minimal | p256 | 4 |") ||
		!strings.Contains(string(md), "stall probe at the start") {
		t.Errorf("--out markdown lacks the rows:\n%s", md)
	}
}

// A 201 that carries no certificate counts as an error, as does any other
// status.
func TestBenchOrderChecksIssuance(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
		resp string
	}{
		{"issued", true, `{"id":1,"certificate_id":2,"certificate_chain":[{"pem":"-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"}]}`},
		{"pending", false, `{"id":1,"request_id":3}`},
		{"no chain", false, `{"id":1,"certificate_id":2}`},
		{"not pem", false, `{"id":1,"certificate_id":2,"certificate_chain":[{"pem":"x"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := benchTestServer(t, 201, c.resp)
			err := benchOrder(context.Background(), srv.Client(), srv.URL, http.Header{}, []byte("{}"), new(bytes.Buffer))
			if (err == nil) != c.ok {
				t.Errorf("benchOrder on %s: %v", c.resp, err)
			}
		})
	}
	srv := benchTestServer(t, 400, `{"errors":[{"code":"invalid_csr"}]}`)
	if err := benchOrder(context.Background(), srv.Client(), srv.URL, http.Header{}, []byte("{}"), new(bytes.Buffer)); err == nil {
		t.Error("benchOrder took a 400 for issuance")
	}
}

func benchTestServer(t *testing.T, code int, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// benchTestCommand runs the bench's children as this test binary run as
// main (TestMain).
func benchTestCommand(args []string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1", "CERTORDER_TEST_ARGS="+strings.Join(args, " "))
	return cmd, nil
}

// The bench's child pays for every order from the account balance: it
// must start with enough for any run (the default balance covers about
// 6,700 orders, fewer than one default run places).
func TestBenchChildBalanceCoversLongRuns(t *testing.T) {
	cfg, err := parseBenchFlags([]string{"--issuers", "p256"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.command = benchTestCommand
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := startBenchServer(ctx, cfg, "p256")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop(false)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.addr+"/services/v2/finance/balance", nil)
	req.Header.Set("X-DC-DEVKEY", srv.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Balance string `json:"balance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	usd, err := strconv.ParseFloat(b.Balance, 64)
	if err != nil {
		t.Fatalf("balance %q: %v", b.Balance, err)
	}
	// Ten million orders at the dearest list price in the catalogue
	// (under 10,000 USD a year) is far more than any run places.
	if want := 1e7 * 1e4; usd < want {
		t.Errorf("the bench child starts with %.2f USD, want at least %.0f (ten million orders)", usd, want)
	}
}

// A run in which orders fail is a failed run: runBench returns an error
// naming the rows and their error counts after printing the tables, and
// the output says FAILED, so a run whose rows are error answers is never
// mistaken for a measurement.
func TestBenchFailsLoudlyOnErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// A balance for two orders: the uncounted first one and one more;
	// every later order answers insufficient_funds.
	cfg, err := parseBenchFlags([]string{"--duration", "300ms", "--warmup", "0", "--concurrency", "2",
		"--issuers", "p256", "--sign-time", "20ms", "--probe", "50ms", "--minimal=false", "--lint-floor=false", "--floor=false", "--server-args", "--initial-balance 300"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.command = benchTestCommand
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := runBench(ctx, cfg, &stdout, &stderr)
	var failed *benchFailed
	if !errors.As(err, &failed) {
		t.Fatalf("runBench with failing orders returned %v, want a benchFailed error\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if rep == nil || len(rep.rows) != 1 {
		t.Fatalf("report %+v, want the one row printed", rep)
	}
	if len(failed.rows) != 1 || failed.rows[0].row.errors+failed.rows[0].row.outside == 0 {
		t.Errorf("failed rows %+v, want the one row with its errors counted", failed.rows)
	}
	for _, want := range []string{"insufficient_funds", "errors in the window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(stdout.String(), "FAILED") {
		t.Errorf("output does not say FAILED:\n%s", stdout.String())
	}
}

// The minimal floor does what its rows claim: a 201 of the asked size
// whose leaf is signed by its issuer for the name of the body, once its
// row is committed; a CSR whose signature does not verify is refused.
// With the lint, a leaf that breaks a lint is refused, which the floor
// without it issues.
func TestBenchMinimalIssues(t *testing.T) {
	for _, tc := range []struct {
		kt   string
		lint bool
	}{{"p256", false}, {"rsa2048", false}, {"p256", true}, {"rsa2048", true}} {
		kt := tc.kt
		t.Run(fmt.Sprintf("%s/lint=%v", kt, tc.lint), func(t *testing.T) {
			key, err := minimalKey(kt)
			if err != nil {
				t.Fatal(err)
			}
			issuer, err := minimalIssuer(key)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			db, insert, err := minimalStore(dir, "", minimalTable(tc.lint))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			jobs := make(chan *minimalJob)
			defer close(jobs)
			go minimalCommitter(db, insert, jobs)
			srv := httptest.NewServer(minimalHandler(key, issuer, jobs, 4000, tc.lint))
			defer srv.Close()

			bodies, err := benchBodies(3, "sha256")
			if err != nil {
				t.Fatal(err)
			}
			for i, body := range bodies {
				var buf bytes.Buffer
				if err := benchOrder(context.Background(), srv.Client(), srv.URL, http.Header{}, body, &buf); err != nil {
					t.Fatalf("order %d: %v", i, err)
				}
				if buf.Len() != 4000 {
					t.Errorf("answer of %d bytes, want 4000", buf.Len())
				}
				var a createdAnswer
				json.Unmarshal(buf.Bytes(), &a)
				blk, _ := pem.Decode([]byte(a.CertificateChain[0].PEM))
				leaf, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if err := leaf.CheckSignatureFrom(issuer); err != nil {
					t.Errorf("leaf not signed by the issuer: %v", err)
				}
				if name := fmt.Sprintf("bench-%d.example.com", i); leaf.Subject.CommonName != name || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name {
					t.Errorf("leaf names %q %v, want %s", leaf.Subject.CommonName, leaf.DNSNames, name)
				}
			}
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM ` + minimalTable(tc.lint)).Scan(&n); err != nil || n != 3 {
				t.Errorf("%d rows stored (%v), want 3", n, err)
			}
			var req map[string]map[string]any
			// A name under no top-level domain breaks e_dnsname_not_valid_tld.
			json.Unmarshal(bodies[1], &req)
			req["certificate"]["common_name"] = "host.invalidtld"
			badName, _ := json.Marshal(req)
			err = benchOrder(context.Background(), srv.Client(), srv.URL, http.Header{}, badName, new(bytes.Buffer))
			if tc.lint && (err == nil || !strings.Contains(err.Error(), "status 500") || !strings.Contains(err.Error(), "e_dnsname_not_valid_tld")) {
				t.Errorf("a leaf that breaks a lint, linted: %v, want a 500 naming the lint", err)
			} else if !tc.lint && err != nil {
				t.Errorf("a leaf that breaks a lint, not linted: %v, want it issued", err)
			}
			// A refused leaf is not stored.
			want := 4
			if tc.lint {
				want = 3
			}
			if err := db.QueryRow(`SELECT COUNT(*) FROM ` + minimalTable(tc.lint)).Scan(&n); err != nil || n != want {
				t.Errorf("%d rows stored after the lint-breaking order (%v), want %d", n, err, want)
			}
			// A CSR signed by another key than the one it carries.
			json.Unmarshal(bodies[0], &req)
			csr := req["certificate"]["csr"].(string)
			blk, _ := pem.Decode([]byte(csr))
			der := bytes.Clone(blk.Bytes)
			der[len(der)-3] ^= 0xff // inside the signature
			req["certificate"]["csr"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
			bad, _ := json.Marshal(req)
			if err := benchOrder(context.Background(), srv.Client(), srv.URL, http.Header{}, bad, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "status 400") {
				t.Errorf("a CSR with a broken signature: %v, want a 400", err)
			}
		})
	}
}

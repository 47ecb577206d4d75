package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
		"--issuers", "p256", "--sign-time", "50ms", "--out", out}, &stderr)
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

	// p256 at 1 and 4, then the HTTP floor (replaying p256's first
	// answer, which benchOrder accepts only as an issued certificate).
	if len(rep.rows) != 4 {
		t.Fatalf("%d result rows, want 4 (p256 and the floor, at 1 and 4)", len(rep.rows))
	}
	for i, r := range rep.rows {
		want := []struct {
			issuer string
			conc   int
		}{{"p256", 1}, {"p256", 4}, {floorIssuer, 1}, {floorIssuer, 4}}[i]
		if r.issuer != want.issuer || r.concurrency != want.conc {
			t.Errorf("row %d is %s at %d, want %s at %d", i, r.issuer, r.concurrency, want.issuer, want.conc)
		}
		if r.certs == 0 || r.errors != 0 {
			t.Errorf("%s at %d: %d certificates, %d errors (first: %s)\n%s", r.issuer, r.concurrency, r.certs, r.errors, r.firstError, stderr.String())
		}
	}

	// The printed table: a row per level whose certs/s (column 4) is
	// positive and errors (column 7) zero.
	printed := map[int]bool{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != len(benchColumns) || f[0] != "p256" {
			continue
		}
		conc, _ := strconv.Atoi(f[1])
		rate, err := strconv.ParseFloat(f[3], 64)
		if err != nil || rate <= 0 {
			t.Errorf("printed row %q: certs/s %q not positive", line, f[3])
		}
		if f[6] != "0" {
			t.Errorf("printed row %q: errors %q", line, f[6])
		}
		printed[conc] = true
	}
	if !printed[1] || !printed[4] {
		t.Errorf("rows printed for concurrency %v, want 1 and 4:\n%s", printed, stdout.String())
	}
	for _, want := range []string{"ECDSA P-256", "RSA-2048", "targets (issue 8):", "p50 at concurrency 1 < 1.5 ms",
		"p256 at concurrency 4:", "of the HTTP floor's"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| p256 | 1 |") || !strings.Contains(string(md), "| p256 | 4 |") {
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
		"--issuers", "p256", "--sign-time", "20ms", "--floor=false", "--server-args", "--initial-balance 300"}, &stderr)
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

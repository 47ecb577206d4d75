package apitest

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestRequestID: every answer names its request in X-Request-ID (the
// client's own when it sent a sane one, a fresh one otherwise), whatever
// route or outcome, and every line the server logs for the request, in
// the HTTP edge and in the order engine below it, carries that ID.
func TestRequestID(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Log: slog.New(logs)})
	csr := testenv.CSR(t, testenv.RSAKey(t), "ignored")
	order := mustJSON(t, baseBody(csr))
	send := func(method, path, body, id string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n := len(resp.Header.Values("X-Request-ID")); n != 1 {
			t.Fatalf("%s %s: %d X-Request-ID headers", method, path, n)
		}
		return resp.StatusCode, resp.Header.Get("X-Request-ID")
	}
	fresh := func(id string) bool { return len(id) == 32 && strings.Trim(id, "0123456789abcdef") == "" }
	for _, tc := range []struct {
		name, method, path, body, sent string
		status                         int
		echoed                         bool
	}{
		{"order, client's ID", "POST", orderPath + "ssl_securesite", order, "trace-7f3a:order.1", 201, true},
		{"order, no ID", "POST", orderPath + "ssl_securesite", order, "", 201, false},
		{"error envelope", "GET", orderPath + "999999", "", "0f8e2a4c-9b1d-4e6f-8a3b-2c5d7e9f1a0b", 404, true},
		{"unknown route", "GET", "/services/v2/no/such/route", "", "", 404, false},
		{"one-character ID", "GET", "/services/v2/user/me", "", "x", 200, true},
		{"ID with a space", "GET", "/healthz", "", "two words", 200, false},
		{"ID with a line break", "GET", "/healthz", "", "a\tb", 200, false},
		{"overlong ID", "GET", "/healthz", "", strings.Repeat("a", 129), 200, false},
		{"console page", "GET", "/console/signin", "", "console-1", 200, true},
	} {
		status, got := send(tc.method, tc.path, tc.body, tc.sent)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
		if tc.echoed && got != tc.sent {
			t.Errorf("%s: X-Request-ID %q, want the client's %q", tc.name, got, tc.sent)
		}
		if !tc.echoed && !fresh(got) {
			t.Errorf("%s: X-Request-ID %q, want a fresh 32-digit hex ID", tc.name, got)
		}
	}
	// The order's lines: its audit event (order engine) and the edge's
	// request line (debug level, logged when the answer is written).
	for _, msg := range []string{"audit", "request"} {
		deadline := time.Now().Add(2 * time.Second)
		for !logs.hasWithAttr(msg, "request_id", "trace-7f3a:order.1") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !logs.hasWithAttr(msg, "request_id", "trace-7f3a:order.1") {
			t.Errorf("no %q line with the order's request_id; logs:\n%s", msg, logs)
		}
	}
}

// hasWithAttr: a record with that message carries the attribute.
func (l *recordedLogs) hasWithAttr(msg, key, value string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = a.Key == key && a.Value.String() == value
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

package apitest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestUnparsableRequests: requests net/http refuses before any handler
// runs (a malformed %-escape in the path, no Host header) are answered in
// the envelope with Content-Type exactly application/json, not in plain
// text; requests it can read are answered by the API as before. Raw TCP,
// since no HTTP client sends such requests.
func TestUnparsableRequests(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	host := strings.TrimPrefix(srv.URL, "http://")
	cases := []struct {
		name    string
		request string
		status  int
		code    string // "" for a success
	}{
		{"malformed escape in an order path", "GET /services/v2/order/certificate/%zz HTTP/1.1\r\nHost: " + host + "\r\nX-DC-DEVKEY: " + srv.AdminKey + "\r\n\r\n",
			http.StatusBadRequest, "bad_request_format"},
		{"truncated escape", "GET /services/v2/order/certificate/1%2 HTTP/1.1\r\nHost: " + host + "\r\n\r\n", http.StatusBadRequest, "bad_request_format"},
		{"malformed escape, POST with a body", "POST /services/v2/order/certificate/ssl_%zzsecuresite HTTP/1.1\r\nHost: " + host +
			"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", http.StatusBadRequest, "bad_request_format"},
		{"no Host header", "GET /services/v2/product HTTP/1.1\r\n\r\n", http.StatusBadRequest, "bad_request_format"},
		{"a readable request still reaches the API", "GET /services/v2/order/certificate/%7A%7A HTTP/1.1\r\nHost: " + host + "\r\nX-DC-DEVKEY: " + srv.AdminKey + "\r\n\r\n",
			http.StatusNotFound, "not_found|order"},
		{"healthz", "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n", http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tc.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.code == "" {
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, clip(body))
				}
				return
			}
			requireErrors(t, resp.StatusCode, resp.Header, body, tc.status, tc.code)
		})
	}
}

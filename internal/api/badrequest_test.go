package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/certorder/certorder/internal/errs"
)

// TestEnvelopeRefusal: the answers http.Server writes by itself to requests
// it cannot read become the envelope with their status; anything else
// written to the connection passes unchanged.
func TestEnvelopeRefusal(t *testing.T) {
	const hdrs = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	cases := []struct {
		name   string
		in     string
		status int // 0: passed unchanged
		code   string
	}{
		{"bad request", "HTTP/1.1 400 Bad Request" + hdrs + "400 Bad Request", 400, "bad_request_format"},
		{"bad request with a reason", "HTTP/1.1 400 Bad Request: missing required Host header" + hdrs + "400 Bad Request: missing required Host header", 400, "bad_request_format"},
		{"headers too large", "HTTP/1.1 431 Request Header Fields Too Large" + hdrs + "431 Request Header Fields Too Large", 431, "request_too_large"},
		{"unsupported transfer encoding", "HTTP/1.1 501 Not Implemented" + hdrs + "Unsupported transfer encoding", 501, "bad_request_format"},
		{"a handler's answer", "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 2\r\n\r\n{}", 0, ""},
		{"a handler's plain text", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx", 0, ""},
		{"a body", `{"errors":[]}`, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := envelopeRefusal([]byte(tc.in))
			if tc.status == 0 {
				if ok {
					t.Fatalf("rewritten: %s", out)
				}
				return
			}
			if !ok {
				t.Fatal("not rewritten")
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatal(err)
			}
			var env struct{ Errors []errs.Detail }
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || len(env.Errors) != 1 || env.Errors[0].Code != tc.code || env.Errors[0].Message == "" {
				t.Errorf("got %d %+v, want %d %s", resp.StatusCode, env.Errors, tc.status, tc.code)
			}
			if ct := resp.Header["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" || !resp.Close {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

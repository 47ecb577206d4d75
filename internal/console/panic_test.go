package console

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicAnswersPage: a console page that panics answers the console's
// HTML error page, never the API's JSON envelope, with a page's headers
// and none the page had set; the panic is logged as the API logs one
// (message, method, path with any link secret redacted, value, stack).
// The password link's page panics for real here: its server has no store.
func TestPanicAnswersPage(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		handler    http.HandlerFunc
		wantPath   string
	}{
		{name: "a page's own panic", path: "/console/boom", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Disposition", `attachment; filename="x.pem"`)
			panic("boom")
		}, wantPath: "/console/boom"},
		{name: "a password link with no store behind it", path: "/console/password/SECRETVALUE", wantPath: "/console/password/[redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := New(&Server{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			if tc.handler != nil {
				s.mux.Handle("GET "+tc.path, tc.handler)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("status %d", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := w.Header().Get("Content-Disposition"); cd != "" {
				t.Errorf("Content-Disposition %q kept", cd)
			}
			if w.Header().Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy")
			}
			body := w.Body.String()
			if !strings.Contains(body, "<!doctype html>") || !strings.Contains(body, "Something went wrong") || strings.Contains(body, `"errors"`) {
				t.Errorf("body:\n%s", body)
			}
			log := logs.String()
			for _, want := range []string{`"msg":"panic in handler"`, `"method":"GET"`, `"path":"` + tc.wantPath + `"`, `"stack":"goroutine`} {
				if !strings.Contains(log, want) {
					t.Errorf("the log lacks %s:\n%s", want, log)
				}
			}
			if strings.Contains(log, "SECRETVALUE") {
				t.Error("the log holds the link's secret")
			}
		})
	}
}

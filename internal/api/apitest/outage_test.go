package apitest

import (
	"crypto/elliptic"
	"net/http"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestPostgresStopped: while the PostgreSQL server is really stopped,
// reads, writes and the readiness check answer 503 service_unavailable in
// the envelope with Retry-After, instead of a bare internal error; once it
// runs again the server recovers by itself.
func TestPostgresStopped(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgresCluster(t)
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Database: pg.DSN})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	order := mustJSON(t, baseBody(csr))
	if status, _, body := srv.Do("GET", "/healthz", ""); status != http.StatusOK {
		t.Fatalf("healthz before the outage: %d %s", status, clip(body))
	}
	createOK(t, srv, "ssl_securesite", order)

	pg.Stop()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/services/v2/order/certificate", ""},
		{"POST", orderPath + "ssl_securesite", order},
		{"GET", "/healthz", ""},
	} {
		status, hdr, body := srv.Do(tc.method, tc.path, tc.body)
		requireErrors(t, status, hdr, body, http.StatusServiceUnavailable, "service_unavailable")
		if got := hdr.Get("Retry-After"); got != "10" {
			t.Errorf("%s %s: Retry-After %q, want 10", tc.method, tc.path, got)
		}
	}

	pg.Start()
	deadline := time.Now().Add(40 * time.Second)
	for {
		status, _, body := srv.Do("GET", "/healthz", "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz after the restart: still %d %s", status, clip(body))
		}
		time.Sleep(200 * time.Millisecond)
	}
	createOK(t, srv, "ssl_securesite", order)
}

package apitest

import (
	"crypto/elliptic"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
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

// TestSQLiteDiskFull: with the data directory on a filesystem that is
// really full, an order is refused with 503 service_unavailable and
// Retry-After and the readiness check fails; once there is room again
// orders go through and the server is ready, without a restart.
//
// The filesystem is a small tmpfs of the test's own, which takes the
// privilege to mount (root with CAP_SYS_ADMIN, as on CI's machines); the
// test is skipped, saying why, without it. The store's own test
// (internal/store/sqlite TestFullDatabase) reaches SQLITE_FULL without
// privileges.
func TestSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	if os.Getenv("CERTORDER_TEST_STORE") == "postgres" {
		t.Skip("a SQLite test: CERTORDER_TEST_STORE=postgres")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	srv := testenv.Start(t, testenv.Options{Sandbox: true, DataDir: dir})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	order := mustJSON(t, baseBody(csr))
	createOK(t, srv, "ssl_securesite", order)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	status, hdr, body := srv.Do("POST", orderPath+"ssl_securesite", order)
	requireErrors(t, status, hdr, body, http.StatusServiceUnavailable, "service_unavailable")
	if got := hdr.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After %q, want 10", got)
	}
	status, hdr, body = srv.Do("GET", "/healthz", "")
	requireErrors(t, status, hdr, body, http.StatusServiceUnavailable, "service_unavailable")
	// Reads go on.
	if status, _, body := srv.Do("GET", "/services/v2/order/certificate", ""); status != http.StatusOK {
		t.Errorf("list while the disk is full: %d %s", status, clip(body))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	createOK(t, srv, "ssl_securesite", order)
	if status, _, body := srv.Do("GET", "/healthz", ""); status != http.StatusOK {
		t.Errorf("healthz once there is room: %d %s", status, clip(body))
	}
}

// fill writes the file until its filesystem has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

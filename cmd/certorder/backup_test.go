package main

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestBackupAndRestore: a backup taken while orders keep arriving is a
// consistent store; restoring it (server stopped) brings back exactly what
// it holds; a backup of another CA is refused; a backup never overwrites.
func TestBackupAndRestore(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example")
	place := func(srv *testenv.Server, n int) (int64, error) {
		body := fmt.Sprintf(`{"certificate":{"common_name":"backup-%d.example.com","csr":%q},"order_validity":{"years":1},`+
			`"dcv_method":"dns-txt-token","skip_approval":true}`, n, csr)
		status, _, b := srv.Do("POST", "/services/v2/order/certificate/ssl_dv_geotrust", body)
		var v struct{ ID int64 }
		if status != http.StatusCreated || json.Unmarshal(b, &v) != nil {
			return 0, fmt.Errorf("order %d: %d %s", n, status, b)
		}
		return v.ID, nil
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := backupCmd(context.Background(), args[0], args[1:], &out, &errOut)
		return out.String(), err
	}
	var before []int64
	for i := range 3 {
		id, err := place(srv, i)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, id)
	}

	// Orders keep coming while the backup is taken.
	backup := filepath.Join(t.TempDir(), "certorder.backup")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 100; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := place(srv, i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	if out, err := run("backup", "--data", srv.DataDir, "--out", backup); err != nil || !strings.Contains(out, backup) {
		t.Fatalf("backup: %v %q", err, out)
	}
	close(stop)
	wg.Wait()
	if _, err := run("backup", "--data", srv.DataDir, "--out", backup); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second backup to the same file: %v, want a refusal", err)
	}
	after, err := place(srv, 999)
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	if _, err := run("restore", "--data", srv.DataDir, "--from", backup); err != nil {
		t.Fatalf("restore: %v", err)
	}
	srv.Restart()
	for _, id := range before {
		if status, _, b := srv.Do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", id), ""); status != http.StatusOK ||
			!strings.Contains(string(b), `"status":"issued"`) {
			t.Errorf("order %d after restore: %d %s", id, status, b)
		}
	}
	if status, _, _ := srv.Do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", after), ""); status != http.StatusNotFound {
		t.Errorf("order %d placed after the backup: %d after restore, want 404", after, status)
	}
	// The restored store takes new orders.
	if _, err := place(srv, 1000); err != nil {
		t.Fatal(err)
	}

	other := testenv.Start(t, testenv.Options{Sandbox: true})
	foreign := filepath.Join(t.TempDir(), "other.backup")
	if _, err := run("backup", "--data", other.DataDir, "--out", foreign); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := run("restore", "--data", srv.DataDir, "--from", foreign); err == nil || !strings.Contains(err.Error(), "another CA") {
		t.Fatalf("restore of another CA's backup: %v, want a refusal", err)
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeJSONLogsAndMetricsAddr: serve --log-format json writes one JSON
// object a line, the lines of a request carrying its X-Request-ID, and
// --metrics-addr moves /metrics to its own listener.
func TestServeJSONLogsAndMetricsAddr(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1", "CERTORDER_ADMIN_KEY=",
		"CERTORDER_TEST_ARGS=serve --sandbox --issuer-key-type p256 --root-key-type p256 --log-format json --log-level debug"+
			" --addr "+addr+" --metrics-addr "+metricsAddr+" --data "+dir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var mu sync.Mutex
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	get := func(url, id string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(20 * time.Second); get("http://"+addr+"/healthz", "") != 200; {
		if time.Now().After(deadline) {
			t.Fatal("server did not become healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := get("http://"+addr+"/healthz", "probe-42"); got != 200 {
		t.Fatalf("healthz: %d", got)
	}
	if got := get("http://"+metricsAddr+"/metrics", ""); got != 200 {
		t.Errorf("GET /metrics on --metrics-addr: %d, want 200", got)
	}
	if got := get("http://"+addr+"/metrics", ""); got != 404 {
		t.Errorf("GET /metrics on --addr: %d, want 404 (served on --metrics-addr)", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	<-done
	found := false
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, l)
		}
		if m["msg"] == "request" && m["request_id"] == "probe-42" {
			found = true
		}
	}
	if !found {
		t.Errorf("no request line with request_id probe-42 among:\n%s", strings.Join(lines, "\n"))
	}
}

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as certorder, so the real main runs
// in its own process and receives real signals.
func TestMain(m *testing.M) {
	if os.Getenv("CERTORDER_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"certorder"}, strings.Fields(os.Getenv("CERTORDER_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startMain(t *testing.T, dir, addr string, env ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1",
		"CERTORDER_TEST_ARGS=serve --sandbox --issuer-key-type p256 --root-key-type p256 --addr "+addr+" --data "+dir)
	cmd.Env = append(cmd.Env, env...)
	var out strings.Builder
	cmd.Stdout = &out
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, &out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServeShutsDownOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			addr := freeAddr(t)
			cmd, out := startMain(t, dir, addr, "CERTORDER_ADMIN_KEY=")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %v: %v", sig, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no exit after %v", sig)
			}
			key, err := os.ReadFile(filepath.Join(dir, "admin-api-key"))
			if err != nil || !strings.Contains(out.String(), strings.TrimSpace(string(key))) {
				t.Fatalf("generated key not printed and written: %v %q", err, out.String())
			}
		})
	}
}

func TestAdminKeyFromEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	const key = "ENVKEY0123456789ENVKEY0123456789ENVKEY01"
	cmd, out := startMain(t, dir, addr, "CERTORDER_ADMIN_KEY="+key)
	req, _ := http.NewRequest("GET", "http://"+addr+"/services/v2/user/me", nil)
	req.Header.Set("X-DC-DEVKEY", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("key from CERTORDER_ADMIN_KEY refused: %v %v", err, resp)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "admin-api-key")); !os.IsNotExist(err) {
		t.Fatalf("a chosen key must not be written to disk: %v", err)
	}
	if strings.Contains(out.String(), key) {
		t.Fatal("a chosen key must not be printed")
	}
}

// TestServeRefusesBadCatalogue: a catalogue file with mistakes stops
// certorder serve before it opens anything, and says where each mistake is.
func TestServeRefusesBadCatalogue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "catalog.txt")
	if err := os.WriteFile(file, []byte("# ours\ndisable ssl_nope\nprice ssl_plus cheap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1",
		"CERTORDER_TEST_ARGS=serve --sandbox --addr "+freeAddr(t)+" --data "+data+" --catalog "+file)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("serve with a bad catalogue: %v, want exit status 1; output %s", err, out)
	}
	for _, want := range []string{file + `:2:9: no product has the name_id "ssl_nope"`, file + `:3:16: price "cheap"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data directory was created before the catalogue was checked: %v", err)
	}
}

// TestServeRefusesBadMailTemplates: a template directory with a template
// that names a field its kind lacks stops certorder serve before it
// opens anything, naming the file and the field.
func TestServeRefusesBadMailTemplates(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates", "de", "certificate_issued.txt")
	if err := os.MkdirAll(filepath.Dir(tpl), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tpl, []byte(`{{define "subject"}}{{.CommonName}}{{end}}{{define "body"}}{{.Fingerprint}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1",
		"CERTORDER_TEST_ARGS=serve --sandbox --addr "+freeAddr(t)+" --data "+data+" --mail-templates "+filepath.Join(dir, "templates"))
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("serve with a bad template: %v, want exit status 1; output %s", err, out)
	}
	for _, want := range []string{tpl, "Fingerprint"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data directory was created before the templates were checked: %v", err)
	}
}

// TestServeRefusesBadSandboxFlags: a fault rule with a mistake (an unknown
// fault, a misspelt field) stops the start, saying what is wrong, and the
// sandbox's flags are refused without --sandbox; nothing is opened.
func TestServeRefusesBadSandboxFlags(t *testing.T) {
	for _, tc := range []struct {
		args string
		exit int
		want string
	}{
		{`--sandbox --sandbox-fault {"fault":"eror"}`, 2, "fault is one of rate_limit, error, delay, drop"},
		{`--sandbox --sandbox-fault {"fault":"error","stauts":503}`, 2, `unknown field "stauts"`},
		{`--sandbox-fault {"fault":"error"}`, 1, "need --sandbox"},
		{`--sandbox-seed run-1`, 1, "need --sandbox"},
		{`--sandbox-keep-csr`, 1, "need --sandbox"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CERTORDER_TEST_AS_MAIN=1",
			"CERTORDER_TEST_ARGS=serve --addr "+freeAddr(t)+" --data "+data+" "+tc.args)
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != tc.exit {
			t.Errorf("%s: %v, want exit status %d; output %s", tc.args, err, tc.exit, out)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: output lacks %q:\n%s", tc.args, tc.want, out)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%s: the data directory was created: %v", tc.args, err)
		}
	}
}

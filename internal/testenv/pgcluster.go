package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// PostgresCluster is a PostgreSQL server of one test's own, which the test
// may stop and start again: the store outage tests stop it for real, which
// the shared server of CERTORDER_TEST_POSTGRES must never be.
type PostgresCluster struct {
	DSN string // postgres://... of its "postgres" database

	t    testing.TB
	bin  string
	dir  string
	port int
	cred *syscall.Credential // run as this user (initdb refuses root)
}

// StartPostgresCluster initialises and starts a throwaway cluster with
// the installed PostgreSQL's initdb and pg_ctl, stopped and removed when
// the test ends. Like every PostgreSQL test it runs only where
// CERTORDER_TEST_POSTGRES says PostgreSQL is there to test against, and
// it is skipped, saying why, without the server binaries.
func StartPostgresCluster(t testing.TB) *PostgresCluster {
	t.Helper()
	PostgresServer(t) // skips without CERTORDER_TEST_POSTGRES
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl) to start a cluster of the test's own")
	}
	sort.Strings(bins)
	c := &PostgresCluster{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "certorder-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run a cluster as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync")
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.Start()
	t.Cleanup(func() {
		if c.running() {
			c.Stop()
		}
	})
	return c
}

func (c *PostgresCluster) data() string { return filepath.Join(c.dir, "data") }

// Start starts the cluster and waits until it takes connections.
func (c *PostgresCluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off", c.dir, c.port))
}

// Stop shuts the cluster down (fast mode: sessions are ended, as by an
// administrator's shutdown) and waits until it is gone.
func (c *PostgresCluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop")
}

func (c *PostgresCluster) running() bool {
	_, err := os.Stat(filepath.Join(c.data(), "postmaster.pid"))
	return err == nil
}

func (c *PostgresCluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

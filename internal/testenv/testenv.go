// Package testenv starts real certorder servers for tests: a real SQLite
// file in a temporary directory, a real CA hierarchy, the real HTTP stack on
// a loopback port. It also makes CSRs and lints certificates with zlint.
package testenv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/app"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/testenv/pkilint"
	"github.com/certorder/certorder/internal/validation"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for PostgresDatabase
	"golang.org/x/crypto/ocsp"
)

// Server is a running certorder on loopback.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:41234
	// MetricsURL is the base URL of the metrics listener
	// (Options.MetricsListener), empty without one.
	MetricsURL string
	AdminKey   string
	DataDir    string
	App        *app.App
	Sandbox    bool

	t      testing.TB
	cancel context.CancelFunc
	check  *openAPICheck // nil when CERTORDER_TEST_OPENAPI=0
	done   chan error
	addr   string
	opts   Options // reused by Restart
}

// Options tune a test server.
type Options struct {
	Sandbox  bool
	DataDir  string // reuse a directory (restart tests); default t.TempDir()
	AdminKey string
	Now      func() time.Time
	// Account options (see app.Config).
	ApprovalMode            string
	RequireUniqueAltOrderID bool
	InitialBalanceCents     int64
	DisallowSkipApproval    bool
	IssuingCASelection      bool
	// RevokeOrderWithCertificate: revoking an order's only certificate
	// revokes the order (app.Config).
	RevokeOrderWithCertificate bool
	// RateLimits is off unless a test turns it on.
	RateLimits []ratelimit.Rule
	// DCV is the lookups' setup. Without a Resolver the server gets an
	// empty DNS server of its own on loopback (every CAA lookup finds no
	// record), so that no test ever asks the machine's resolver. DNSSEC
	// validation is off unless DCV.DNSSEC asks for it.
	DCV     dcv.Config
	SMTPURL string
	// SMTPFrom is the sender of all mail; MailTemplates a template
	// directory over the embedded ones (app.Config).
	SMTPFrom, MailTemplates string
	SandboxRules            []validation.SandboxRule
	// SandboxFaults and SandboxSeed: fault rules from the start and the
	// seed of repeatable values (app.Config).
	SandboxFaults  []faults.Spec
	SandboxSeed    string
	SandboxKeepCSR bool
	// Database is the store: "" is SQLite in DataDir (or, when
	// CERTORDER_TEST_STORE=postgres, a fresh PostgreSQL database), a
	// postgres:// URL shares that database (replica tests; see
	// PostgresDatabase).
	Database string
	// DCVPoll defaults to 1 s, DCVRetry to 100 ms and DCVRetryMax to 1 s
	// in tests: a test waiting on the worker never waits on a long backoff.
	DCVPoll, DCVRetry, DCVRetryMax time.Duration
	// MailRetry defaults to 100 ms and MailRetryMax to 1 s in tests: a
	// message the relay refused once is soon tried again.
	MailRetry, MailRetryMax time.Duration
	// IssuerKeyType is the TLS issuer's key; default RSA-2048, which
	// signs every hash the seeds allow.
	IssuerKeyType ca.KeyType
	// Log receives the server's logs (tests of what is logged); nil
	// discards them unless CERTORDER_TEST_LOG=1.
	Log *slog.Logger
	// Catalog is the server's product catalogue (a catalogue file's); nil
	// is the built-in one.
	Catalog *catalog.Catalog
	// MetricsListener serves /metrics on a listener of its own
	// (Server.MetricsURL) instead of the API's.
	MetricsListener bool
	// PublicURL is what certificates name for AIA and CRLs; default the
	// server's own loopback URL, which the tests fetch from. A test of
	// what a production certificate carries sets a public name instead
	// (zlint warns about an AIA naming a host with no public suffix).
	PublicURL string
	// ConsoleTrustedProxies are the proxies whose X-Forwarded-For the
	// console's sign-in throttle believes (app.Config).
	ConsoleTrustedProxies []netip.Prefix
}

// DataDir is a fresh data directory removed when the test ends. It lives
// on tmpfs (/dev/shm) where the machine has one: the SQLite files are as
// real as on disk, but the fsync of every durable commit costs nothing, and
// tests commit thousands of times. CERTORDER_TEST_DISK=1 keeps them on disk.
func DataDir(t testing.TB) string {
	t.Helper()
	if os.Getenv("CERTORDER_TEST_DISK") != "1" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			if dir, err := os.MkdirTemp("/dev/shm", "certorder-test-"); err == nil {
				t.Cleanup(func() { os.RemoveAll(dir) })
				return dir
			}
		}
	}
	return t.TempDir()
}

// migratedDB is an empty SQLite store with every migration applied, made
// once per test binary by the real sqlite.Open. Migrating each of a
// package's hundreds of servers from scratch was an eighth of the apitest
// suite's CPU under -race; the migrations themselves are still run here,
// and by the store's own tests and every non-test start.
var migratedDB = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "certorder-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "certorder.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil { // the last close checkpoints the WAL into the file
		return nil, err
	}
	return os.ReadFile(path)
})

// seedMigratedDB puts a copy of migratedDB in dir unless dir has a store.
func seedMigratedDB(t testing.TB, dir string) {
	t.Helper()
	path := filepath.Join(dir, "certorder.db")
	if _, err := os.Stat(path); err == nil {
		return
	}
	b, err := migratedDB()
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("template database: %v", err)
	}
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = DataDir(t)
	}
	if opts.AdminKey == "" {
		opts.AdminKey = "TESTADMINKEY" + strings.Repeat("0", 40)
	}
	if opts.Database == "" && os.Getenv("CERTORDER_TEST_STORE") == "postgres" {
		opts.Database = PostgresDatabase(t)
	}
	if opts.Database == "" {
		seedMigratedDB(t, opts.DataDir)
	}
	if opts.DCV.Resolver == "" {
		opts.DCV.Resolver = dcvtest.StartDNS(t).Addr()
	}
	if opts.DCV.Timeout == 0 {
		opts.DCV.Timeout = 2 * time.Second
	}
	if opts.DCV.DNSSEC == "" {
		// The loopback zones are unsigned and no test may reach the real
		// root: a test validates only when it signs its zones and says so
		// (dcv.DNSSECValidate with their trust anchors).
		opts.DCV.DNSSEC = dcv.DNSSECOff
	}
	if opts.DCVPoll == 0 {
		// Events kick the worker at once; the poll only notices retries
		// coming due. Dozens of test servers run in parallel, so it is slow
		// unless a test of the validation itself asks otherwise.
		opts.DCVPoll = time.Second
	}
	if opts.DCVRetry == 0 {
		opts.DCVRetry = 100 * time.Millisecond
	}
	if opts.DCVRetryMax == 0 {
		opts.DCVRetryMax = time.Second
	}
	if opts.MailRetry == 0 {
		opts.MailRetry = 100 * time.Millisecond
	}
	if opts.MailRetryMax == 0 {
		opts.MailRetryMax = time.Second
	}
	s := &Server{DataDir: opts.DataDir, AdminKey: opts.AdminKey, Sandbox: opts.Sandbox, t: t, opts: opts}
	s.start(opts, "127.0.0.1:0")
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(opts Options, addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	var logOut io.Writer = io.Discard
	if os.Getenv("CERTORDER_TEST_LOG") == "1" { // the servers' logs, when a test needs explaining
		logOut = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))
	if opts.Log != nil {
		log = opts.Log
	}
	issuerKey := opts.IssuerKeyType
	if issuerKey == "" {
		issuerKey = ca.KeyRSA2048
	}
	publicURL := s.URL
	if opts.PublicURL != "" {
		publicURL = opts.PublicURL
	}
	var metricsLn net.Listener
	if opts.MetricsListener {
		if metricsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			ln.Close()
			s.t.Fatalf("listen: %v", err)
		}
		s.MetricsURL = "http://" + metricsLn.Addr().String()
	}
	a, err := app.Open(context.Background(), app.Config{
		DataDir: opts.DataDir, Database: opts.Database, PublicURL: publicURL, Sandbox: opts.Sandbox, AdminKey: opts.AdminKey,
		// A P-256 root is fast to make.
		IssuerKeyType: issuerKey, RootKeyType: ca.KeyP256, Log: log, Now: opts.Now,
		ApprovalMode: opts.ApprovalMode, RequireUniqueAltOrderID: opts.RequireUniqueAltOrderID, ConsoleTrustedProxies: opts.ConsoleTrustedProxies,
		InitialBalanceCents: opts.InitialBalanceCents, DisallowSkipApproval: opts.DisallowSkipApproval,
		IssuingCASelection: opts.IssuingCASelection, RevokeOrderWithCertificate: opts.RevokeOrderWithCertificate,
		RateLimits: opts.RateLimits,
		DCV:        opts.DCV, SMTPURL: opts.SMTPURL, SMTPFrom: opts.SMTPFrom, MailTemplates: opts.MailTemplates, SandboxRules: opts.SandboxRules, DCVPoll: opts.DCVPoll, DCVRetry: opts.DCVRetry, DCVRetryMax: opts.DCVRetryMax,
		MailRetry: opts.MailRetry, MailRetryMax: opts.MailRetryMax,
		CAKeySource: sharedCAKey, Catalog: opts.Catalog, SandboxFaults: opts.SandboxFaults, SandboxSeed: opts.SandboxSeed,
		SandboxKeepCSR: opts.SandboxKeepCSR, MetricsListener: metricsLn,
	})
	if err != nil {
		ln.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		s.t.Fatalf("open app: %v", err)
	}
	s.App = a
	s.check = newOpenAPICheck(s.t, a.API)
	a.Handler = s.check.wrap(a.API)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() {
		err := a.Serve(ctx, ln, 10*time.Second)
		a.Close()
		s.done <- err
	}()
}

// Stop shuts the server down gracefully; calling it twice is harmless.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server stopped with error: %v", err)
	}
	s.cancel = nil
	s.check.report(s.t)
}

// Restart stops the server and starts a new process-equivalent on the same
// data directory and the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(s.opts, s.addr)
}

// Do sends a request with the admin key and returns status and body.
func (s *Server) Do(method, path string, body string) (int, http.Header, []byte) {
	return s.DoKey(s.AdminKey, method, path, body)
}

// DoKey sends a request with the given key ("" sends none).
func (s *Server) DoKey(key, method, path string, body string) (int, http.Header, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if key != "" {
		req.Header.Set("X-DC-DEVKEY", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// RSAKey is one RSA-2048 key shared by a test binary (generation is slow).
func RSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

// ECKey makes a fresh ECDSA key on curve.
func ECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa key: %v", err)
	}
	return k
}

// CSR makes a PEM CSR for key with a subject CN (which certorder must
// ignore: names come from the JSON body).
func CSR(t testing.TB, key crypto.Signer, cn string) string {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatalf("create csr: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// OneLine strips line breaks from a PEM, as some clients send CSRs.
func OneLine(p string) string { return strings.ReplaceAll(p, "\n", "") }

// RequireLintClean fails the test when zlint reports an error or fatal
// result on the certificate.
func RequireLintClean(t testing.TB, der []byte) {
	t.Helper()
	if _, ok := lintedClean.Load(string(der)); ok {
		return
	}
	errs, _, err := ca.LintCertificate(der)
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("zlint errors on issued certificate: %v", errs)
	}
	lintedClean.Store(string(der), true)
}

// RequireCRLClean fails the test unless der is a CRL of issuer that
// passes certorder's CRL lints and the RFC 5280 and BR rules of
// pkilint.RequireCRLClean; it returns the parsed CRL.
func RequireCRLClean(t testing.TB, der []byte, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	return pkilint.RequireCRLClean(t, der, issuer)
}

// RequireOCSPClean fails the test unless der is a signed OCSP response
// about serial from issuer that passes zlint's OCSP lints and the RFC
// 6960 and BR rules of pkilint.RequireOCSPClean; it returns the parsed
// response.
func RequireOCSPClean(t testing.TB, der []byte, issuer *x509.Certificate, serial *big.Int) *ocsp.Response {
	t.Helper()
	return pkilint.RequireOCSPClean(t, der, issuer, serial)
}

// lintedClean holds the DER of certificates already found clean: every
// test meets the same roots and intermediates, and a certificate's lint
// result never changes, so each is linted once per test binary.
var lintedClean sync.Map

// ParsePEMChain decodes every CERTIFICATE block, failing on anything else.
func ParsePEMChain(t testing.TB, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("unexpected PEM block %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("parse certificate: %v", err)
		}
		out = append(out, c)
	}
	if len(strings.TrimSpace(string(data))) != 0 {
		t.Fatalf("trailing data after PEM blocks: %q", data)
	}
	return out
}

// caKeys are the CA keys every test server's hierarchy is made of: one
// per key type and place in the hierarchy, generated once per test binary.
// Keys stay distinct within a hierarchy (each place has its own), while
// the RSA generation that used to be half of a test server's start is paid
// once. Every hierarchy still gets its own certificates.
var caKeys struct {
	sync.Mutex
	m map[string]*caKey
}

type caKey struct {
	once sync.Once
	key  crypto.Signer
	err  error
}

func sharedCAKey(kt ca.KeyType, slot string) (crypto.Signer, error) {
	caKeys.Lock()
	if caKeys.m == nil {
		caKeys.m = map[string]*caKey{}
	}
	k, ok := caKeys.m[string(kt)+"/"+slot]
	if !ok {
		k = &caKey{}
		caKeys.m[string(kt)+"/"+slot] = k
	}
	caKeys.Unlock()
	k.once.Do(func() { k.key, k.err = ca.NewKey(kt) })
	return k.key, k.err
}

// StoreSQL opens the database of a server's store directly, for a test to
// read or write beside the server as another process would: the SQLite
// file certorder.db in dir, or the PostgreSQL database when database is
// set. readOnly opens the SQLite file read-only.
func StoreSQL(t testing.TB, dir, database string, readOnly bool) *sql.DB {
	t.Helper()
	mode := ""
	if readOnly {
		mode = "mode=ro&"
	}
	driver, dsn := "sqlite", "file:"+filepath.Join(dir, "certorder.db")+"?"+mode+"_pragma=busy_timeout(10000)"
	if database != "" {
		driver, dsn = "pgx", database
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresServer is the PostgreSQL server tests may use (.ci/run starts
// one and names it in CERTORDER_TEST_POSTGRES); without it the test is
// skipped, saying why.
func PostgresServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CERTORDER_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("CERTORDER_TEST_POSTGRES is not set: no PostgreSQL server to test against (.ci/run starts one)")
	}
	return dsn
}

// PostgresDatabase creates an empty database on the test server, dropped
// when the test ends, and returns its URL.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	dsn := PostgresServer(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "certorder_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", dsn); err == nil {
			admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			admin.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

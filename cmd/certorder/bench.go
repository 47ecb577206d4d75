package main

// certorder bench (issue 8): a load benchmark. It starts certorder serve
// as a child process on loopback with a fresh SQLite store for each
// issuing key type, places immediate-issuance orders at several
// concurrencies for a bounded time, and prints one row per (issuer,
// concurrency) next to the bare signing rates of this machine and the
// issue's targets.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// benchConfig is what the flags say.
type benchConfig struct {
	duration, warmup time.Duration
	signTime         time.Duration
	probe            time.Duration
	levels           []int
	issuers          []string
	product          string
	keep             bool
	floor            bool
	minimal          bool
	lintFloor        bool
	database         string
	serverArgs       []string
	out              string
	// command makes the child process for the serve arguments args. By
	// default it is this executable; tests run their own binary as main.
	command func(args []string) (*exec.Cmd, error)
}

const benchPoolSize = 256

func parseBenchFlags(args []string, stderr io.Writer) (*benchConfig, error) {
	cfg := &benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per (server, issuer, concurrency)")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "load before each measured window, not counted")
	conc := fs.String("concurrency", "1,8,64", "comma-separated numbers of concurrent clients")
	issuers := fs.String("issuers", "p256,rsa2048", "comma-separated issuing key types, each on its own fresh server: p256, p384, rsa2048, rsa3072, rsa4096")
	fs.StringVar(&cfg.product, "product", "ssl_dv_geotrust", "product ordered (a TLS product that issues at once in --sandbox with skip_approval)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the servers' data directories (their paths are printed)")
	fs.BoolVar(&cfg.minimal, "minimal", true, "also measure the minimal-issuance floor: a child that checks the CSR, signs with crypto/x509 under the same key type and stores one row with group commit")
	fs.BoolVar(&cfg.lintFloor, "lint-floor", true, "also measure the minimal floor that lints every leaf as certorder does (minimal+lint): what the lint the targets keep leaves of the minimal floor's rate")
	fs.BoolVar(&cfg.floor, "floor", true, "also measure the HTTP floor: a child that answers every order with a canned 201 (what loopback and net/http cost here)")
	fs.StringVar(&cfg.database, "database", "", "a postgres:// URL: the store of certorder and of the minimal floor (an empty database, one issuer); empty is SQLite on disk in each child's temporary directory")
	fs.DurationVar(&cfg.probe, "probe", 2*time.Second, "length of each stall probe (a busy loop on every CPU, run before each server and at the end)")
	serverArgs := fs.String("server-args", "", "extra arguments appended to certorder serve, space-separated")
	fs.StringVar(&cfg.out, "out", "", "also write the results as markdown to this file")
	fs.DurationVar(&cfg.signTime, "sign-time", time.Second, "time of each bare signing measurement")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: certorder bench [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if cfg.duration <= 0 || cfg.warmup < 0 || cfg.signTime <= 0 || cfg.probe <= 0 {
		return nil, errors.New("bench: --duration, --sign-time and --probe must be positive, --warmup not negative")
	}
	for _, v := range splitList(*conc) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("bench: --concurrency: %q is not a number from 1 to 4096", v)
		}
		cfg.levels = append(cfg.levels, n)
	}
	for _, v := range splitList(*issuers) {
		switch v {
		case "p256", "p384", "rsa2048", "rsa3072", "rsa4096":
		default:
			return nil, fmt.Errorf("bench: --issuers: unknown key type %q", v)
		}
		cfg.issuers = append(cfg.issuers, v)
	}
	if len(cfg.levels) == 0 || len(cfg.issuers) == 0 {
		return nil, errors.New("bench: --concurrency and --issuers must not be empty")
	}
	if cfg.database != "" && len(cfg.issuers) > 1 {
		// A database remembers the CA created in it, and with it the
		// issuer's key type.
		return nil, errors.New("bench: --database takes one issuer (a database keeps the CA of its first start)")
	}
	cfg.serverArgs = strings.Fields(*serverArgs)
	cfg.command = func(args []string) (*exec.Cmd, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return exec.Command(exe, args...), nil
	}
	return cfg, nil
}

// benchCmd is `certorder bench`.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	_, err = runBench(ctx, cfg, stdout, stderr)
	return err
}

// The servers a row can be of.
const (
	serverCertorder = "certorder"
	// serverMinimal is the minimal-issuance floor (bench_minimal.go).
	serverMinimal = "minimal"
	// serverLintFloor is the minimal floor that also lints every leaf as
	// certorder lints its drafts (bench-minimal --lint).
	serverLintFloor = "minimal+lint"
	// serverHTTP is the HTTP floor (bench_floor.go); its rows have no
	// issuer.
	serverHTTP = "http-floor"
)

// benchReport is everything one run measured.
type benchReport struct {
	env    string
	store  string
	sign   []signResult
	rows   []levelResult
	probes []probeResult
}

// runBench measures and prints; progress goes to stderr, the tables to
// stdout (and cfg.out).
func runBench(ctx context.Context, cfg *benchConfig, stdout, stderr io.Writer) (*benchReport, error) {
	rep := &benchReport{env: fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d, %s; product %s; %v measured after %v warmup per row",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cfg.product, cfg.duration, cfg.warmup),
		store: "SQLite (WAL, synchronous=FULL) on disk in " + os.TempDir()}
	if cfg.database != "" {
		rep.store = "PostgreSQL (" + redactURL(cfg.database) + ")"
	}
	fmt.Fprintf(stderr, "bench: %s; store %s\n", rep.env, rep.store)

	probe := func(when string) {
		p := busyProbe(ctx, when, cfg.probe)
		rep.probes = append(rep.probes, p)
		fmt.Fprintf(stderr, "bench: %s\n", p)
	}
	probe("at the start")

	fmt.Fprintf(stderr, "bench: bare signing, %v per measurement\n", cfg.signTime)
	var err error
	var floorAnswer []byte // the first real 201, replayed by the HTTP floor
	if rep.sign, err = measureSigning(cfg.signTime); err != nil {
		return nil, err
	}

	fmt.Fprintf(stderr, "bench: %d CSRs (distinct P-256 keys and names)\n", benchPoolSize)
	pools := map[string][][]byte{}
	for _, iss := range cfg.issuers {
		hash := benchHash(iss)
		if pools[hash] == nil {
			if pools[hash], err = benchBodies(benchPoolSize, hash); err != nil {
				return nil, err
			}
		}
	}

	for i, iss := range cfg.issuers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i > 0 {
			probe("before " + iss)
		}
		answer, err := rep.runIssuer(ctx, cfg, iss, pools[benchHash(iss)], stderr)
		if err != nil {
			return nil, err
		}
		if floorAnswer == nil {
			floorAnswer = answer
		}
	}

	if cfg.floor && floorAnswer != nil {
		probe("before the HTTP floor")
		srv, err := startFloorServer(ctx, cfg, floorAnswer)
		if err != nil {
			return nil, fmt.Errorf("bench: HTTP floor: %w", err)
		}
		fmt.Fprintf(stderr, "bench: HTTP floor: pid %d on %s answers every order with the first real answer (%d bytes)\n",
			srv.cmd.Process.Pid, srv.addr, len(floorAnswer))
		url := "http://" + srv.addr + "/services/v2/order/certificate/" + cfg.product
		for _, conc := range cfg.levels {
			r, err := rep.measure(ctx, cfg, srv, serverHTTP, "-", url, pools[benchHash(cfg.issuers[0])], conc, stderr)
			if err != nil {
				srv.stop(cfg.keep)
				return nil, err
			}
			rep.rows = append(rep.rows, r)
		}
		if err := srv.stop(cfg.keep); err != nil {
			fmt.Fprintf(stderr, "bench: HTTP floor: stop: %v\n", err)
		}
	}
	probe("at the end")

	rep.writeText(stdout)
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return rep, err
		}
		rep.writeMarkdown(f)
		if err := f.Close(); err != nil {
			return rep, err
		}
	}
	if bad := rep.failures(); len(bad) > 0 {
		return rep, &benchFailed{rows: bad}
	}
	return rep, nil
}

// runIssuer measures certorder with issuer iss and, level by level in
// turn with it, the minimal floors of the same key type: the rows of a
// concurrency are minutes apart at most, so a machine whose load changes
// during the run moves them all. It returns certorder's first answer.
func (rep *benchReport) runIssuer(ctx context.Context, cfg *benchConfig, iss string, bodies [][]byte, stderr io.Writer) ([]byte, error) {
	began := time.Now()
	srv, err := startBenchServer(ctx, cfg, iss)
	if err != nil {
		return nil, fmt.Errorf("bench: issuer %s: %w", iss, err)
	}
	defer srv.stop(cfg.keep)
	fmt.Fprintf(stderr, "bench: issuer %s: server pid %d on %s, data %s, healthy after %v\n",
		iss, srv.cmd.Process.Pid, srv.addr, srv.dir, time.Since(began).Round(time.Millisecond))
	// The benchmark measures issuance: the sandbox would otherwise keep
	// a "certificate issued" mail in its outbox for every order (a
	// queued row, rendered and marked kept by the mail sender), which
	// is the sandbox's mail load, not an order's.
	if err := benchNoLifecycleMail(ctx, srv.addr, srv.key); err != nil {
		return nil, fmt.Errorf("bench: issuer %s: %w", iss, err)
	}
	url := "http://" + srv.addr + "/services/v2/order/certificate/" + cfg.product
	answer, err := firstOrder(ctx, srv, url, bodies[0])
	if err != nil {
		return nil, fmt.Errorf("bench: issuer %s: first order: %w\n%s", iss, err, srv.log)
	}
	fmt.Fprintf(stderr, "bench: issuer %s: first order issued\n", iss)

	// The floors of this issuer, each started beside certorder and
	// measured in turn with it.
	type levelServer struct {
		srv       *benchServer
		name, url string
	}
	servers := []levelServer{{srv, serverCertorder, url}}
	for _, f := range []struct {
		on   bool
		name string
		lint bool
	}{{cfg.minimal, serverMinimal, false}, {cfg.lintFloor, serverLintFloor, true}} {
		if !f.on {
			continue
		}
		fs, err := startMinimalServer(ctx, cfg, iss, len(answer), f.lint)
		if err != nil {
			return nil, fmt.Errorf("bench: %s floor %s: %w", f.name, iss, err)
		}
		defer fs.stop(cfg.keep)
		u := "http://" + fs.addr + "/services/v2/order/certificate/" + cfg.product
		if _, err := firstOrder(ctx, fs, u, bodies[0]); err != nil {
			return nil, fmt.Errorf("bench: %s floor %s: first order: %w\n%s", f.name, iss, err, fs.log)
		}
		fmt.Fprintf(stderr, "bench: %s floor %s: pid %d on %s, first order issued\n", f.name, iss, fs.cmd.Process.Pid, fs.addr)
		servers = append(servers, levelServer{fs, f.name, u})
	}
	// Each level starts one server later than the level before, so that
	// no server always runs right after the same other one (whose writes
	// may still be reaching the disk, or whose heap the machine is still
	// reclaiming). The rows keep certorder's order.
	for li, conc := range cfg.levels {
		level := make([]levelResult, len(servers))
		for k := range servers {
			j := (li + k) % len(servers)
			r, err := rep.measure(ctx, cfg, servers[j].srv, servers[j].name, iss, servers[j].url, bodies, conc, stderr)
			if err != nil {
				return nil, err
			}
			level[j] = r
		}
		rep.rows = append(rep.rows, level...)
	}
	if cfg.keep {
		fmt.Fprintf(stderr, "bench: issuer %s: data kept in %s\n", iss, srv.dir)
	}
	return answer, nil
}

// firstOrder places one order, not counted: it fails fast on a product or
// a server that does not issue at once, and pays for what the server's
// first order initializes. It returns the answer.
func firstOrder(ctx context.Context, srv *benchServer, url string, body []byte) ([]byte, error) {
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	answer := new(bytes.Buffer)
	err := benchOrder(fctx, &http.Client{}, url, http.Header{"X-Dc-Devkey": {srv.key}, "Content-Type": {"application/json"}}, body, answer)
	return answer.Bytes(), err
}

// measure runs one level against srv and returns its row.
func (rep *benchReport) measure(ctx context.Context, cfg *benchConfig, srv *benchServer, server, issuer, url string, bodies [][]byte, conc int, stderr io.Writer) (levelResult, error) {
	r := runLevel(ctx, srv, url, bodies, conc, cfg.warmup, cfg.duration)
	r.server, r.issuer = server, issuer
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	fmt.Fprintf(stderr, "bench: %s %s c=%d: %d answers, %.1f/s, p50 %s ms, p99 %s ms, %d errors\n",
		server, issuer, conc, r.certs, r.certsPerSec(), ms(r.p50), ms(r.p99), r.errors+r.outside)
	if r.firstError != "" {
		fmt.Fprintf(stderr, "bench: %s %s c=%d: first error: %s\n", server, issuer, conc, r.firstError)
	}
	if !srv.alive() {
		return r, fmt.Errorf("bench: %s %s: the server exited: %v\n%s", server, issuer, srv.waitErr, srv.log)
	}
	return r, nil
}

// redactURL drops the password of a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "?"
	}
	return u.Redacted()
}

// benchFailed is a run in which some row did not measure issuance: its
// figures would be those of error answers, so the command fails (exit 1)
// after printing them.
type benchFailed struct {
	rows []rowFailure
}

// rowFailure is one row that failed and why.
type rowFailure struct {
	row  levelResult
	text string
}

func (e *benchFailed) Error() string {
	lines := make([]string, len(e.rows))
	for i, f := range e.rows {
		lines[i] = f.text
	}
	return fmt.Sprintf("bench: %d rows failed, the figures above are not issuance figures:\n  %s", len(e.rows), strings.Join(lines, "\n  "))
}

// failures are the rows with any error, in the measured window or out of
// it (warmup, requests that ended after the window), and the rows whose
// window completed no certificate at all.
func (rep *benchReport) failures() []rowFailure {
	var out []rowFailure
	for _, r := range rep.rows {
		switch {
		case r.errors > 0 || r.outside > 0:
			out = append(out, rowFailure{r, fmt.Sprintf("%s %s c=%d: %d errors in the window, %d outside it (first: %.300s)",
				r.server, r.issuer, r.concurrency, r.errors, r.outside, r.firstError)})
		case r.certs == 0:
			out = append(out, rowFailure{r, fmt.Sprintf("%s %s c=%d: no certificate completed in the window", r.server, r.issuer, r.concurrency)})
		}
	}
	return out
}

// benchHash is the signature_hash an issuer of key type kt signs with
// (ECDSA issuers are held to the hash of their curve).
func benchHash(kt string) string {
	if kt == "p384" {
		return "sha384"
	}
	return "sha256"
}

// target is one PASS/FAIL line of the targets.
type target struct {
	status string // PASS, FAIL or INFO
	text   string
}

// The targets, as multiples of the minimal-issuance floor measured in the
// same run: certorder's certificates/s at least minRateRatio of the
// floor's at every concurrency above one, its p99 there at most
// maxLatencyRatio of the floor's, and its p50 at one client at most
// maxLatencyRatio of the floor's. The latency targets are the P-256
// issuer's; other issuers get them as INFO lines.
const (
	minRateRatio    = 0.75
	maxLatencyRatio = 1.5
)

// targets checks certorder's rows against the minimal floor's rows of the
// same issuer and concurrency, and sets beside them the HTTP floor and the
// bare signatures (INFO).
func (rep *benchReport) targets() []target {
	var out []target
	add := func(status, format string, a ...any) { out = append(out, target{status, fmt.Sprintf(format, a...)}) }
	passIf := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	row := func(server, iss string, conc int) (levelResult, bool) {
		for _, r := range rep.rows {
			if r.server == server && r.issuer == iss && r.concurrency == conc {
				return r, true
			}
		}
		return levelResult{}, false
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return math.Inf(1)
		}
		return a / b
	}
	for _, r := range rep.rows {
		if r.server != serverCertorder {
			continue
		}
		m, ok := row(serverMinimal, r.issuer, r.concurrency)
		if !ok || m.certs == 0 || r.certs == 0 {
			continue
		}
		latency := "INFO"
		if r.issuer == "p256" {
			latency = ""
		}
		if r.concurrency == 1 {
			q := ratio(float64(r.p50), float64(m.p50))
			st := latency
			if st == "" {
				st = passIf(q <= maxLatencyRatio)
			}
			add(st, "%s at 1 client: p50 %s ms = %.2f× the minimal floor's %s ms (target <= %.2g×)", r.issuer, ms(r.p50), q, ms(m.p50), maxLatencyRatio)
		} else {
			q := r.certsPerSec() / m.certsPerSec()
			add(passIf(q >= minRateRatio), "%s at %d clients: %.1f certificates/s = %.2f× the minimal floor's %.1f (target >= %.2g×)",
				r.issuer, r.concurrency, r.certsPerSec(), q, m.certsPerSec(), minRateRatio)
			q = ratio(float64(r.p99), float64(m.p99))
			st := latency
			if st == "" {
				st = passIf(q <= maxLatencyRatio)
			}
			add(st, "%s at %d clients: p99 %s ms = %.2f× the minimal floor's %s ms (target <= %.2g×)", r.issuer, r.concurrency, ms(r.p99), q, ms(m.p99), maxLatencyRatio)
		}
		if c, mc := r.perCert(r.srvCPU, r.srvCPUOK), m.perCert(m.srvCPU, m.srvCPUOK); !math.IsNaN(c) && !math.IsNaN(mc) {
			add("INFO", "%s at %s: server CPU per certificate %.3f ms, the minimal floor's %.3f ms (%.2f×)", r.issuer, clients(r.concurrency), c, mc, c/mc)
		}
		// The minimal floor with certorder's lint: what the lint, which
		// the targets keep, leaves of the floor before certorder does
		// anything else.
		if l, ok := row(serverLintFloor, r.issuer, r.concurrency); ok && l.certs > 0 {
			text := fmt.Sprintf("%s at %s: the minimal floor with certorder's lint: ", r.issuer, clients(r.concurrency))
			if r.concurrency == 1 {
				text += fmt.Sprintf("p50 %s ms = %.2f× the minimal floor's; certorder's = %.2f× its", ms(l.p50), ratio(float64(l.p50), float64(m.p50)), ratio(float64(r.p50), float64(l.p50)))
			} else {
				text += fmt.Sprintf("%.1f certificates/s = %.2f× the minimal floor's, p99 %s ms = %.2f× its; certorder's = %.2f× its",
					l.certsPerSec(), l.certsPerSec()/m.certsPerSec(), ms(l.p99), ratio(float64(l.p99), float64(m.p99)), r.certsPerSec()/l.certsPerSec())
			}
			if lc := l.perCert(l.srvCPU, l.srvCPUOK); !math.IsNaN(lc) {
				text += fmt.Sprintf("; server CPU per certificate %.3f ms", lc)
			}
			add("INFO", "%s", text)
		}
	}
	// Against the HTTP floor at the same concurrency: what loopback and
	// net/http alone allow here.
	for _, r := range rep.rows {
		f, ok := row(serverHTTP, "-", r.concurrency)
		if r.server == serverHTTP || !ok || f.certsPerSec() == 0 {
			continue
		}
		text := fmt.Sprintf("%s %s at %s: %.1f certificates/s = %.1f%% of the HTTP floor's %.1f answers/s",
			r.server, r.issuer, clients(r.concurrency), r.certsPerSec(), 100*r.certsPerSec()/f.certsPerSec(), f.certsPerSec())
		if c, fc := r.perCert(r.srvCPU, r.srvCPUOK), f.perCert(f.srvCPU, f.srvCPUOK); !math.IsNaN(c) && !math.IsNaN(fc) {
			text += fmt.Sprintf("; server CPU per certificate %.3f ms, per answer of the HTTP floor %.3f ms", c, fc)
		}
		add("INFO", "%s", text)
	}
	return out
}

// clients is "1 client", "8 clients".
func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// rowCells is one result row as text cells.
func (r levelResult) rowCells() []string {
	return []string{r.server, r.issuer, strconv.Itoa(r.concurrency), strconv.FormatInt(r.certs, 10),
		fmt.Sprintf("%.1f", r.certsPerSec()), ms(r.p50), ms(r.p99), strconv.FormatInt(r.errors, 10),
		msf(r.perCert(r.srvCPU, r.srvCPUOK)), msf(r.perCert(r.cliCPU, r.cliCPUOK)),
		r.callsPerCommit(), r.pagesPerCert(),
		strconv.Itoa(r.stalls), ms(r.longestStall), stalledShare(r)}
}

var benchColumns = []string{"server", "issuer", "clients", "certificates", "certs/s", "p50 ms", "p99 ms", "errors",
	"server CPU ms/cert", "client CPU ms/cert", "store calls/commit", "WAL pages/cert", "stalls", "longest stall ms", "stalled %"}

// callsPerCommit is the group commit's mean batch in the window: the
// store calls (an order is one) per transaction committed. "-" where the
// server does not say (the floors).
func (r levelResult) callsPerCommit() string {
	if !r.writesOK || r.commits <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.calls/r.commits)
}

// pagesPerCert is the pages the store wrote to SQLite's WAL in the window
// per certificate issued in it: the disk writes behind an order, which
// group commit shares among the orders of a batch. "-" where not counted
// (the floors, PostgreSQL).
func (r levelResult) pagesPerCert() string {
	if !r.pagesOK || r.certs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.pages/float64(r.certs))
}

// stalledShare is the stalls' overruns added up, as a share of the window:
// roughly how much of it the machine ran nobody.
func stalledShare(r levelResult) string {
	if r.window <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", 100*r.stalled.Seconds()/r.window.Seconds())
}

func signCells(s signResult) []string {
	return []string{s.alg, strconv.Itoa(s.goroutines), fmt.Sprintf("%.1f", s.microsEach()), fmt.Sprintf("%.0f", s.perSec())}
}

var signColumns = []string{"bare signature (SHA-256)", "goroutines", "µs each", "signatures/s"}

// probeNote sums the run's stall probes in one line, printed under every
// table: a run whose probes lost much measured a busy machine.
func (rep *benchReport) probeNote() string {
	if len(rep.probes) == 0 {
		return "stall probe: not run"
	}
	var worst probeResult
	shares := make([]string, len(rep.probes))
	for i, p := range rep.probes {
		shares[i] = fmt.Sprintf("%.1f%%", 100*p.lostShare())
		if i == 0 || p.lostShare() > worst.lostShare() {
			worst = p
		}
	}
	return fmt.Sprintf("stall probes (busy loop on every CPU, %v each, nothing of the bench running): lost %s of their time; worst %s, load average then %s",
		rep.probes[0].length, strings.Join(shares, ", "), worst.when, worst.load)
}

// writeText prints the aligned plain-text tables and the targets.
func (rep *benchReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "certorder bench: %s\nstore: %s\n\n", rep.env, rep.store)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	line(signColumns)
	for _, s := range rep.sign {
		line(signCells(s))
	}
	tw.Flush()
	fmt.Fprintf(w, "%s\n\n", rep.probeNote())
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line(benchColumns)
	for _, r := range rep.rows {
		line(r.rowCells())
	}
	tw.Flush()
	fmt.Fprintf(w, "%s\n", rep.probeNote())
	for _, p := range rep.probes {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "targets (against the minimal floor of the same run):")
	for _, t := range rep.targets() {
		fmt.Fprintf(w, "  %-4s  %s\n", t.status, t.text)
	}
	if bad := rep.failures(); len(bad) > 0 {
		fmt.Fprintf(w, "\nFAILED: %d rows with errors or without a certificate:\n", len(bad))
		for _, f := range bad {
			fmt.Fprintf(w, "  %s\n", f.text)
		}
	}
}

// writeMarkdown writes the same as markdown.
func (rep *benchReport) writeMarkdown(w io.Writer) {
	table := func(cols []string, rows [][]string) {
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
		seps := make([]string, len(cols))
		for i := range seps {
			seps[i] = "---:"
		}
		seps[0] = "---"
		fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "## certorder bench\n\n%s; store: %s\n\n", rep.env, rep.store)
	var sr [][]string
	for _, s := range rep.sign {
		sr = append(sr, signCells(s))
	}
	table(signColumns, sr)
	fmt.Fprintf(w, "%s\n\n", rep.probeNote())
	var rr [][]string
	for _, r := range rep.rows {
		rr = append(rr, r.rowCells())
	}
	table(benchColumns, rr)
	fmt.Fprintf(w, "%s:\n\n", rep.probeNote())
	for _, p := range rep.probes {
		fmt.Fprintf(w, "- %s\n", p)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (against the minimal floor of the same run):")
	fmt.Fprintln(w)
	for _, t := range rep.targets() {
		fmt.Fprintf(w, "- **%s** %s\n", t.status, t.text)
	}
	if bad := rep.failures(); len(bad) > 0 {
		fmt.Fprintf(w, "\n**FAILED**: %d rows with errors or without a certificate:\n\n", len(bad))
		for _, f := range bad {
			fmt.Fprintf(w, "- %s\n", f.text)
		}
	}
}

// ms is a duration in milliseconds with 2 decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// msf is a millisecond figure with 3 decimals, n/a when not measured.
func msf(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}

func nan() float64 { return math.NaN() }

// benchNoLifecycleMail turns off every recipient group of the account's
// lifecycle mail (PUT /account/settings).
func benchNoLifecycleMail(ctx context.Context, addr, key string) error {
	body := `{"account_settings":[{"name":"confirmation_email_recipients","value":"[]"},{"name":"rejection_email_recipients","value":"[]"},` +
		`{"name":"approval_email_recipients","value":"[]"},{"name":"renewal_email_recipients","value":"[]"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/services/v2/account/settings", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-DC-DEVKEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("turn lifecycle mail off: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("turn lifecycle mail off: %s %s", resp.Status, b)
	}
	return nil
}

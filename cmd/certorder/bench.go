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
	levels           []int
	issuers          []string
	product          string
	keep             bool
	floor            bool
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
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per (issuer, concurrency)")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "load before each measured window, not counted")
	conc := fs.String("concurrency", "1,8,64", "comma-separated numbers of concurrent clients")
	issuers := fs.String("issuers", "p256,rsa2048", "comma-separated issuing key types, each on its own fresh server: p256, p384, rsa2048, rsa3072, rsa4096")
	fs.StringVar(&cfg.product, "product", "ssl_dv_geotrust", "product ordered (a TLS product that issues at once in --sandbox with skip_approval)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the servers' data directories (their paths are printed)")
	fs.BoolVar(&cfg.floor, "floor", true, "also measure the HTTP floor: a child that answers every order with a canned 201 (what loopback and net/http cost here)")
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
	if cfg.duration <= 0 || cfg.warmup < 0 || cfg.signTime <= 0 {
		return nil, errors.New("bench: --duration and --sign-time must be positive, --warmup not negative")
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

// benchReport is everything one run measured.
type benchReport struct {
	env  string
	sign []signResult
	rows []levelResult
}

// runBench measures and prints; progress goes to stderr, the tables to
// stdout (and cfg.out).
func runBench(ctx context.Context, cfg *benchConfig, stdout, stderr io.Writer) (*benchReport, error) {
	rep := &benchReport{env: fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d, %s; product %s; %v measured after %v warmup per level",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cfg.product, cfg.duration, cfg.warmup)}
	fmt.Fprintf(stderr, "bench: %s\n", rep.env)

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

	for _, iss := range cfg.issuers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		began := time.Now()
		srv, err := startBenchServer(ctx, cfg, iss)
		if err != nil {
			return nil, fmt.Errorf("bench: issuer %s: %w", iss, err)
		}
		fmt.Fprintf(stderr, "bench: issuer %s: server pid %d on %s, data %s, healthy after %v\n",
			iss, srv.cmd.Process.Pid, srv.addr, srv.dir, time.Since(began).Round(time.Millisecond))
		// The benchmark measures issuance: the sandbox would otherwise keep
		// a "certificate issued" mail in its outbox for every order (a
		// queued row, rendered and marked kept by the mail sender), which
		// is the sandbox's mail load, not an order's.
		if err := benchNoLifecycleMail(ctx, srv.addr, srv.key); err != nil {
			srv.stop(cfg.keep)
			return nil, fmt.Errorf("bench: issuer %s: %w", iss, err)
		}
		url := "http://" + srv.addr + "/services/v2/order/certificate/" + cfg.product
		// One order first, not counted: it fails fast on a product or a
		// server that does not issue at once, and pays for what the
		// server's first order initializes.
		first := time.Now()
		fctx, fcancel := context.WithTimeout(ctx, time.Minute)
		answer := new(bytes.Buffer)
		err = benchOrder(fctx, &http.Client{}, url, http.Header{"X-Dc-Devkey": {srv.key}, "Content-Type": {"application/json"}},
			pools[benchHash(iss)][0], answer)
		fcancel()
		if floorAnswer == nil {
			floorAnswer = answer.Bytes()
		}
		if err != nil {
			srv.stop(cfg.keep)
			return nil, fmt.Errorf("bench: issuer %s: first order: %w\n%s", iss, err, srv.log)
		}
		fmt.Fprintf(stderr, "bench: issuer %s: first order issued in %v\n", iss, time.Since(first).Round(time.Microsecond))
		if err := rep.runLevels(ctx, cfg, srv, iss, url, pools[benchHash(iss)], stderr); err != nil {
			return nil, err
		}
		if cfg.keep {
			fmt.Fprintf(stderr, "bench: issuer %s: data kept in %s\n", iss, srv.dir)
		}
	}

	if cfg.floor && floorAnswer != nil {
		srv, err := startFloorServer(ctx, cfg, floorAnswer)
		if err != nil {
			return nil, fmt.Errorf("bench: HTTP floor: %w", err)
		}
		fmt.Fprintf(stderr, "bench: HTTP floor: pid %d on %s answers every order with the first real answer (%d bytes)\n",
			srv.cmd.Process.Pid, srv.addr, len(floorAnswer))
		url := "http://" + srv.addr + "/services/v2/order/certificate/" + cfg.product
		if err := rep.runLevels(ctx, cfg, srv, floorIssuer, url, pools[benchHash(cfg.issuers[0])], stderr); err != nil {
			return nil, err
		}
	}

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
			out = append(out, rowFailure{r, fmt.Sprintf("%s c=%d: %d errors in the window, %d outside it (first: %.300s)",
				r.issuer, r.concurrency, r.errors, r.outside, r.firstError)})
		case r.certs == 0:
			out = append(out, rowFailure{r, fmt.Sprintf("%s c=%d: no certificate completed in the window", r.issuer, r.concurrency)})
		}
	}
	return out
}

// floorIssuer names the HTTP floor's rows (bench_floor.go).
const floorIssuer = "floor"

// runLevels measures srv at every concurrency into rows named issuer,
// then stops srv.
func (rep *benchReport) runLevels(ctx context.Context, cfg *benchConfig, srv *benchServer, issuer, url string, bodies [][]byte, stderr io.Writer) error {
	for _, conc := range cfg.levels {
		r := runLevel(ctx, srv, url, bodies, conc, cfg.warmup, cfg.duration)
		r.issuer = issuer
		if ctx.Err() != nil {
			srv.stop(cfg.keep)
			return ctx.Err()
		}
		rep.rows = append(rep.rows, r)
		fmt.Fprintf(stderr, "bench: %s c=%d: %d answers, %.1f/s, p50 %s ms, p99 %s ms, %d errors\n",
			issuer, conc, r.certs, r.certsPerSec(), ms(r.p50), ms(r.p99), r.errors)
		if r.firstError != "" {
			fmt.Fprintf(stderr, "bench: %s c=%d: first error: %s\n", issuer, conc, r.firstError)
		}
		if !srv.alive() {
			srv.stop(cfg.keep)
			return fmt.Errorf("bench: %s: the server exited: %v\n%s", issuer, srv.waitErr, srv.log)
		}
	}
	if err := srv.stop(cfg.keep); err != nil {
		fmt.Fprintf(stderr, "bench: %s: server stop: %v\n", issuer, err)
	}
	return nil
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
	status string // PASS, FAIL, SKIP or INFO
	text   string
}

// targets checks the figures against the rows:
//   - P-256 issuer: >= 2000 certificates/s at concurrency 64 with p99 < 60 ms
//     and zero errors; p50 < 1.5 ms at concurrency 1; server CPU per
//     certificate < 0.9 ms (at every level measured);
//   - RSA-2048 issuer: certificates/s at its best concurrency >= 80% of
//     the bare RSA-2048 signatures/s on all cores.
func (rep *benchReport) targets() []target {
	var out []target
	check := func(ok bool, format string, a ...any) {
		s := "FAIL"
		if ok {
			s = "PASS"
		}
		out = append(out, target{s, fmt.Sprintf(format, a...)})
	}
	row := func(iss string, conc int) (levelResult, bool) {
		for _, r := range rep.rows {
			if r.issuer == iss && r.concurrency == conc {
				return r, true
			}
		}
		return levelResult{}, false
	}
	best := func(iss string) (levelResult, bool) {
		var b levelResult
		found := false
		for _, r := range rep.rows {
			if r.issuer == iss && (!found || r.certsPerSec() > b.certsPerSec()) {
				b, found = r, true
			}
		}
		return b, found
	}
	bare := func(alg string) float64 {
		var v float64
		for _, s := range rep.sign {
			if s.alg == alg && s.goroutines == runtime.GOMAXPROCS(0) {
				v = s.perSec()
			}
		}
		return v
	}
	has := func(iss string) bool { _, ok := best(iss); return ok }

	if has("p256") {
		if r, ok := row("p256", 64); ok {
			check(r.certsPerSec() >= 2000, "p256: certificates/s at concurrency 64 >= 2000: %.1f", r.certsPerSec())
			check(r.certs > 0 && r.p99 < 60*time.Millisecond, "p256: p99 at concurrency 64 < 60 ms: %s ms", ms(r.p99))
			check(r.errors == 0, "p256: errors at concurrency 64 = 0: %d", r.errors)
		} else {
			out = append(out, target{"SKIP", "p256: concurrency 64 not measured (>= 2000 certificates/s, p99 < 60 ms, zero errors)"})
		}
		if r, ok := row("p256", 1); ok {
			check(r.certs > 0 && r.p50 < 1500*time.Microsecond, "p256: p50 at concurrency 1 < 1.5 ms: %s ms", ms(r.p50))
		} else {
			out = append(out, target{"SKIP", "p256: concurrency 1 not measured (p50 < 1.5 ms)"})
		}
		var worst levelResult
		worstV, all := math.Inf(-1), true
		for _, r := range rep.rows {
			if r.issuer != "p256" {
				continue
			}
			v := r.perCert(r.srvCPU, r.srvCPUOK)
			if math.IsNaN(v) {
				all = false
				continue
			}
			if v > worstV {
				worst, worstV = r, v
			}
		}
		if !all || math.IsInf(worstV, -1) {
			out = append(out, target{"SKIP", "p256: server CPU per certificate < 0.9 ms: not measured at every level (/proc/<pid>/stat)"})
		} else {
			check(worstV < 0.9, "p256: server CPU per certificate < 0.9 ms at every level: worst %.3f ms (concurrency %d)", worstV, worst.concurrency)
		}
		if b, _ := best("p256"); bare("ECDSA P-256") > 0 {
			out = append(out, target{"INFO", fmt.Sprintf("p256: certificates/s at best concurrency (%d: %.1f) / bare ECDSA P-256 signatures/s, all cores (%.0f) = %.1f%%",
				b.concurrency, b.certsPerSec(), bare("ECDSA P-256"), 100*b.certsPerSec()/bare("ECDSA P-256"))})
		}
	}
	// Against the HTTP floor at the same concurrency: the share of the
	// machine's loopback HTTP rate certorder reaches, and the server CPU
	// per certificate beyond what answering a canned 201 costs.
	for _, r := range rep.rows {
		f, ok := row(floorIssuer, r.concurrency)
		if r.issuer == floorIssuer || !ok || f.certsPerSec() == 0 {
			continue
		}
		text := fmt.Sprintf("%s at concurrency %d: %.1f certificates/s = %.1f%% of the HTTP floor's %.1f answers/s",
			r.issuer, r.concurrency, r.certsPerSec(), 100*r.certsPerSec()/f.certsPerSec(), f.certsPerSec())
		if c, fc := r.perCert(r.srvCPU, r.srvCPUOK), f.perCert(f.srvCPU, f.srvCPUOK); !math.IsNaN(c) && !math.IsNaN(fc) {
			text += fmt.Sprintf("; server CPU per certificate %.3f ms, of which the floor's HTTP %.3f ms", c, fc)
		}
		out = append(out, target{"INFO", text})
	}
	if b, ok := best("rsa2048"); ok {
		if sig := bare("RSA-2048"); sig > 0 {
			ratio := b.certsPerSec() / sig
			check(ratio >= 0.8, "rsa2048: certificates/s at best concurrency (%d: %.1f) / bare RSA-2048 signatures/s, all cores (%.0f) >= 80%%: %.1f%%",
				b.concurrency, b.certsPerSec(), sig, 100*ratio)
		}
	}
	return out
}

// rowCells is one result row as text cells.
func (r levelResult) rowCells() []string {
	return []string{r.issuer, strconv.Itoa(r.concurrency), strconv.FormatInt(r.certs, 10),
		fmt.Sprintf("%.1f", r.certsPerSec()), ms(r.p50), ms(r.p99), strconv.FormatInt(r.errors, 10),
		msf(r.perCert(r.srvCPU, r.srvCPUOK)), msf(r.perCert(r.cliCPU, r.cliCPUOK)),
		strconv.Itoa(r.stalls), ms(r.longestStall), stalledShare(r)}
}

var benchColumns = []string{"issuer", "concurrency", "certificates", "certs/s", "p50 ms", "p99 ms", "errors",
	"server CPU ms/cert", "client CPU ms/cert", "stalls", "longest stall ms", "stalled %"}

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

// writeText prints the aligned plain-text tables and the targets.
func (rep *benchReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "certorder bench: %s\n\n", rep.env)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	line(signColumns)
	for _, s := range rep.sign {
		line(signCells(s))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line(benchColumns)
	for _, r := range rep.rows {
		line(r.rowCells())
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "targets (issue 8):")
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
	fmt.Fprintf(w, "## certorder bench\n\n%s\n\n", rep.env)
	var sr [][]string
	for _, s := range rep.sign {
		sr = append(sr, signCells(s))
	}
	table(signColumns, sr)
	var rr [][]string
	for _, r := range rep.rows {
		rr = append(rr, r.rowCells())
	}
	table(benchColumns, rr)
	fmt.Fprintln(w, "Targets (issue 8):")
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

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// benchServer is one certorder serve child process on loopback with its
// own fresh data directory.
type benchServer struct {
	cmd     *exec.Cmd
	dir     string
	addr    string
	key     string
	log     *tailLog
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startBenchServer starts `certorder serve --sandbox --rate-limit off` for
// issuer (an --issuer-key-type) on a free loopback port and a fresh
// temporary data directory, with an administrator key of our choosing
// given through CERTORDER_ADMIN_KEY, and waits for /healthz.
func startBenchServer(ctx context.Context, cfg *benchConfig, issuer string) (*benchServer, error) {
	s, err := newBenchServer(cfg, issuer)
	if err != nil {
		return nil, err
	}
	kb := make([]byte, 24)
	if _, err := rand.Read(kb); err != nil {
		s.stop(cfg.keep)
		return nil, err
	}
	s.key = "BENCH" + strings.ToUpper(hex.EncodeToString(kb))

	// The account's balance pays for every order: the default (1,000,000
	// USD) runs out after about 6,700 of them, well within one run.
	args := []string{"serve", "--sandbox", "--rate-limit", "off", "--data", s.dir, "--addr", s.addr, "--issuer-key-type", issuer,
		"--initial-balance", benchBalanceUSD}
	if cfg.database != "" {
		args = append(args, "--database", cfg.database)
	}
	args = append(args, cfg.serverArgs...)
	return s.start(ctx, cfg, args)
}

// benchBalanceUSD is the bench child's starting balance: a trillion US
// dollars, billions of orders at any list price of the catalogue, so that
// no run of any length meets insufficient_funds.
const benchBalanceUSD = "1000000000000"

// startFloorServer starts `certorder bench-floor` (bench_floor.go) on a
// free loopback port, answering every order with answer.
func startFloorServer(ctx context.Context, cfg *benchConfig, answer []byte) (*benchServer, error) {
	s, err := newBenchServer(cfg, serverHTTP)
	if err != nil {
		return nil, err
	}
	s.key = "FLOOR"
	file := filepath.Join(s.dir, "answer.json")
	if err := os.WriteFile(file, answer, 0o600); err != nil {
		s.stop(cfg.keep)
		return nil, err
	}
	return s.start(ctx, cfg, []string{"bench-floor", "--addr", s.addr, "--answer", file})
}

// startMinimalServer starts `certorder bench-minimal` (bench_minimal.go)
// with an issuer of key type issuer on a free loopback port, storing in a
// fresh temporary directory (or cfg.database), its answers padded to
// answerSize bytes; lint: the minimal+lint floor (bench-minimal --lint).
func startMinimalServer(ctx context.Context, cfg *benchConfig, issuer string, answerSize int, lint bool) (*benchServer, error) {
	name := serverMinimal
	if lint {
		name = "minimal-lint"
	}
	s, err := newBenchServer(cfg, name+"-"+issuer)
	if err != nil {
		return nil, err
	}
	s.key = "MINIMAL"
	args := []string{"bench-minimal", "--addr", s.addr, "--key-type", issuer, "--data", s.dir, "--answer-size", strconv.Itoa(answerSize)}
	if cfg.database != "" {
		args = append(args, "--database", cfg.database)
	}
	if lint {
		args = append(args, "--lint")
	}
	return s.start(ctx, cfg, args)
}

// newBenchServer is a child not yet started: a fresh temporary directory
// named after name and a free loopback address.
func newBenchServer(cfg *benchConfig, name string) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "certorder-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	s := &benchServer{dir: dir, log: &tailLog{max: 64 << 10}, exited: make(chan struct{})}
	if s.addr, err = freeLoopbackAddr(); err != nil {
		s.stop(cfg.keep)
		return nil, err
	}
	return s, nil
}

// start runs the child with args and waits until it answers /healthz.
func (s *benchServer) start(ctx context.Context, cfg *benchConfig, args []string) (*benchServer, error) {
	fail := func(err error) (*benchServer, error) {
		s.stop(cfg.keep)
		return nil, err
	}
	var err error
	if s.cmd, err = cfg.command(args); err != nil {
		return fail(err)
	}
	if s.cmd.Env == nil {
		s.cmd.Env = os.Environ()
	}
	s.cmd.Env = append(s.cmd.Env, "CERTORDER_ADMIN_KEY="+s.key)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, s.log
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fail(fmt.Errorf("start server: %w", err))
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := c.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return fail(fmt.Errorf("server exited before it was healthy: %v\n%s", s.waitErr, s.log))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("server not healthy after 90s: %v\n%s", err, s.log))
		}
	}
}

// alive reports whether the child still runs.
func (s *benchServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop ends the child with SIGTERM (SIGKILL after 15 s) and removes its
// data directory unless keep.
func (s *benchServer) stop(keep bool) error {
	var err error
	if s.cmd != nil && s.alive() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			err = s.waitErr
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			err = errors.New("server did not stop within 15s of SIGTERM; killed")
		}
	}
	if !keep {
		os.RemoveAll(s.dir)
	}
	return err
}

// cpu is the child's user plus system CPU time, all its threads, from
// fields 14 (utime) and 15 (stime) of /proc/<pid>/stat. Linux counts them
// in clock ticks of USER_HZ, which is 100 on every architecture Go runs on
// (sysconf(_SC_CLK_TCK) returns it; the kernel's own HZ does not matter),
// so one tick is 10 ms. Elsewhere there is no /proc and ok is false.
func (s *benchServer) cpu() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const userHZ = 100
	return time.Duration(ut+st) * time.Second / userHZ, true
}

// storeWrites are a certorder child's store counters read from its
// /metrics: transactions committed, the calls in them, and the pages its
// SQLite writer wrote to the WAL (pagesOK false on PostgreSQL).
type storeWrites struct {
	commits, calls, pages float64
	pagesOK               bool
}

// writes scrapes the child's /metrics for its storeWrites; ok is false
// where there are none (the floors serve no /metrics).
func (s *benchServer) writes(ctx context.Context) (w storeWrites, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/metrics", nil)
	if err != nil {
		return w, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return w, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return w, false
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return w, false
	}
	counter := func(name string) (float64, bool) {
		f := fams[name]
		if f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetCounter() == nil {
			return 0, false
		}
		return f.GetMetric()[0].GetCounter().GetValue(), true
	}
	var haveCommits, haveCalls bool
	w.commits, haveCommits = counter("certorder_store_commits_total")
	w.calls, haveCalls = counter("certorder_store_committed_calls_total")
	w.pages, w.pagesOK = counter("certorder_store_wal_pages_written_total")
	return w, haveCommits && haveCalls
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tailLog keeps the last max bytes of the server's log for error messages.
type tailLog struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (l *tailLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*l.max { // trimmed now and then, not on every line
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-l.max:]...)
	}
	return len(p), nil
}

func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > l.max {
		b = b[len(b)-l.max:]
	}
	return string(b)
}

// benchBodies makes n order bodies for immediate issuance, each with its
// own P-256 key and name bench-<i>.example.com, marshalled once so the
// load loop only sends bytes.
func benchBodies(n int, hash string) ([][]byte, error) {
	bodies := make([][]byte, n)
	for i := range n {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("bench-%d.example.com", i)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		}, key)
		if err != nil {
			return nil, err
		}
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		bodies[i], err = json.Marshal(map[string]any{
			"certificate":    map[string]any{"common_name": name, "csr": csr, "signature_hash": hash},
			"order_validity": map[string]any{"years": 1},
			"dcv_method":     "dns-txt-token",
			"skip_approval":  true,
		})
		if err != nil {
			return nil, err
		}
	}
	return bodies, nil
}

// levelResult is one table row: one issuer at one concurrency.
type levelResult struct {
	server      string // serverCertorder, serverMinimal, serverLintFloor or serverHTTP
	issuer      string // the issuer's key type; "-" for the HTTP floor
	concurrency int
	window      time.Duration
	certs       int64 // 201s with an issued certificate completed in the window
	errors      int64 // anything else completed in the window
	// outside are the errors of requests that completed in the warmup or
	// after the window: not in the row's figures, but a failed run all
	// the same.
	outside  int64
	p50, p99 time.Duration
	srvCPU   time.Duration
	srvCPUOK bool
	cliCPU   time.Duration
	cliCPUOK bool
	// The store's work in the window, from certorder's /metrics: commits,
	// the calls they carried and the WAL pages written (writesOK false for
	// the floors, pagesOK false on PostgreSQL).
	commits, calls, pages float64
	writesOK, pagesOK     bool
	firstError            string
	// stalls are the times the machine did not run this process when it
	// should have (see probeStalls): on a virtual machine whose vCPUs are
	// descheduled they, not certorder, make the tail latency.
	stalls       int
	longestStall time.Duration
	stalled      time.Duration // the stalls' overruns added up
}

func (r levelResult) certsPerSec() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.certs) / r.window.Seconds()
}

// perCert is d spread over the certificates, in ms; ok false or no
// certificate gives NaN (printed n/a).
func (r levelResult) perCert(d time.Duration, ok bool) float64 {
	if !ok || r.certs == 0 {
		return nan()
	}
	return float64(d) / float64(time.Millisecond) / float64(r.certs)
}

// benchWorker is one client goroutine's own state; nothing is shared
// between workers while they run.
type benchWorker struct {
	lat      []time.Duration
	errors   int64
	outside  int64
	firstErr string
	buf      bytes.Buffer
}

// createdAnswer is the part of a 201 that shows issuance.
type createdAnswer struct {
	ID               int64 `json:"id"`
	CertificateID    int64 `json:"certificate_id"`
	CertificateChain []struct {
		PEM string `json:"pem"`
	} `json:"certificate_chain"`
}

// runLevel places orders at url from conc goroutines: warmup first (not
// counted), then a window of d whose completions make the row. The CPU
// time of the server and of this process is read at the window's edges.
func runLevel(ctx context.Context, srv *benchServer, url string, bodies [][]byte, conc int, warmup, d time.Duration) levelResult {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conc,
		MaxIdleConnsPerHost: 2 * conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	res := levelResult{concurrency: conc, window: d}
	workers := make([]*benchWorker, conc)
	// The store's counters are scraped just outside the CPU window (a
	// scrape costs the server a few milliseconds): they cover the window
	// and those milliseconds, which over seconds of window is noise.
	var w0 storeWrites
	var wOK0 bool
	if warmup <= 0 {
		w0, wOK0 = srv.writes(ctx)
	}
	start := time.Now()
	t0 := start.Add(warmup)
	t1 := t0.Add(d)
	var srv0, cli0 time.Duration
	var srvOK0, cliOK0 bool
	if warmup <= 0 {
		srv0, srvOK0 = srv.cpu()
		cli0, cliOK0 = selfCPU()
	}
	var wg sync.WaitGroup
	for w := range conc {
		bw := &benchWorker{lat: make([]time.Duration, 0, 4096)}
		workers[w] = bw
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := http.Header{"X-Dc-Devkey": {srv.key}, "Content-Type": {"application/json"}}
			for i := w; ctx.Err() == nil; i += conc {
				began := time.Now()
				if !began.Before(t1) {
					return
				}
				err := benchOrder(ctx, client, url, hdr, bodies[i%len(bodies)], &bw.buf)
				end := time.Now()
				if end.Before(t0) || !end.Before(t1) {
					if err != nil {
						bw.outside++
						if bw.firstErr == "" {
							bw.firstErr = err.Error()
						}
						time.Sleep(time.Millisecond) // do not spin on a dead server
					}
					continue
				}
				if err != nil {
					bw.errors++
					if bw.firstErr == "" {
						bw.firstErr = err.Error()
					}
					time.Sleep(time.Millisecond)
					continue
				}
				bw.lat = append(bw.lat, end.Sub(began))
			}
		}()
	}
	if warmup > 0 {
		sleepUntil(ctx, t0)
		w0, wOK0 = srv.writes(ctx)
		srv0, srvOK0 = srv.cpu()
		cli0, cliOK0 = selfCPU()
	}
	res.stalls, res.longestStall, res.stalled = probeStalls(ctx, t1)
	srv1, srvOK1 := srv.cpu()
	cli1, cliOK1 := selfCPU()
	w1, wOK1 := srv.writes(ctx)
	wg.Wait()
	if wOK0 && wOK1 {
		res.commits, res.calls, res.writesOK = w1.commits-w0.commits, w1.calls-w0.calls, true
		res.pages, res.pagesOK = w1.pages-w0.pages, w0.pagesOK && w1.pagesOK
	}

	res.srvCPU, res.srvCPUOK = srv1-srv0, srvOK0 && srvOK1
	res.cliCPU, res.cliCPUOK = cli1-cli0, cliOK0 && cliOK1
	var all []time.Duration
	for _, bw := range workers {
		all = append(all, bw.lat...)
		res.errors += bw.errors
		res.outside += bw.outside
		if res.firstError == "" {
			res.firstError = bw.firstErr
		}
	}
	res.certs = int64(len(all))
	slices.Sort(all)
	res.p50, res.p99 = percentile(all, 50), percentile(all, 99)
	return res
}

// benchOrder places one order and checks that the 201 carries an issued
// certificate: an order id, a certificate id and a PEM certificate first
// in the chain. Any other answer is an error.
func benchOrder(ctx context.Context, c *http.Client, url string, hdr http.Header, body []byte, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = hdr
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, buf.Bytes())
	}
	var a createdAnswer
	if err := json.Unmarshal(buf.Bytes(), &a); err != nil {
		return fmt.Errorf("201 not JSON: %v", err)
	}
	if a.ID <= 0 || a.CertificateID <= 0 || len(a.CertificateChain) == 0 {
		return fmt.Errorf("201 without an issued certificate (id %d, certificate_id %d, %d in the chain): %.300s",
			a.ID, a.CertificateID, len(a.CertificateChain), buf.Bytes())
	}
	if blk, _ := pem.Decode([]byte(a.CertificateChain[0].PEM)); blk == nil || blk.Type != "CERTIFICATE" || len(blk.Bytes) == 0 {
		return fmt.Errorf("201 whose certificate_chain[0] is not a PEM certificate")
	}
	return nil
}

// stallThreshold: a 5 ms sleep that lasts this much longer was a stall.
const stallThreshold = 20 * time.Millisecond

// probeStalls sleeps 5 ms at a time until end and counts the sleeps that
// overran by more than stallThreshold: time in which the machine ran
// neither this process nor (on 2 cores, under load) much else. Costs 200
// wake-ups a second.
func probeStalls(ctx context.Context, end time.Time) (n int, longest, total time.Duration) {
	const tick = 5 * time.Millisecond
	for ctx.Err() == nil && time.Now().Before(end) {
		t := time.Now()
		time.Sleep(tick)
		if over := time.Since(t) - tick; over > stallThreshold {
			n++
			longest = max(longest, over)
			total += over
		}
	}
	return n, longest, total
}

// percentile is the nearest-rank percentile p of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// Command certorder is a certificate authority that speaks the
// CertCentral Services API v2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/app"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/logging"
	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/validation"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: certorder <command> [flags]

commands:
  serve    run the API server (see certorder serve -h)
  user     add, list or delete users, set console passwords (certorder user add|list|delete|passwd|totp-off --data DIR ...)
  key      create, list or revoke API keys (certorder key create|list|revoke --data DIR ...)
  container  add or list containers (certorder container add|list --data DIR ...)
  org      grant an organization validation (certorder org validate --data DIR --org ID --type ov)
  domain   grant a domain validation (certorder domain validate --data DIR --domain example.com)
  jobs     run the due time-driven jobs once: expiry, renewal notices (certorder jobs run --data DIR)
  backup   consistent snapshot of the SQLite store while the server runs (certorder backup --data DIR --out FILE)
  restore  put a backup in place, server stopped (certorder restore --data DIR --from FILE)
  clock    show or move the sandbox's business clock forward (certorder clock advance --data DIR 30d)
  notices  show or set the account's and containers' default renewal notice switches (certorder notices set --data DIR --off minus_90)
  bench    load benchmark against child servers on loopback (certorder bench -h)
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "user", "key", "container":
		err = adminCmd(context.Background(), os.Args[1], os.Args[2:], os.Stdout, os.Stderr)
	case "org", "domain":
		err = validationCmd(context.Background(), os.Args[1], os.Args[2:], os.Stdout, os.Stderr)
	case "jobs":
		err = jobsCmd(context.Background(), os.Args[2:], os.Stdout, os.Stderr)
	case "backup", "restore":
		err = backupCmd(context.Background(), os.Args[1], os.Args[2:], os.Stdout, os.Stderr)
	case "clock":
		err = clockCmd(context.Background(), os.Args[2:], os.Stdout, os.Stderr)
	case "notices":
		err = noticesCmd(context.Background(), os.Args[2:], os.Stdout, os.Stderr)
	case "bench":
		err = benchCmd(context.Background(), os.Args[2:], os.Stdout, os.Stderr)
	case "bench-floor": // bench's own child (bench_floor.go), not for users
		err = benchFloorCmd(os.Args[2:])
	case "bench-minimal": // bench's minimal-issuance floor (bench_minimal.go), not for users
		err = benchMinimalCmd(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "certorder:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	metricsAddr := fs.String("metrics-addr", "", "address of a separate listener for GET /metrics (Prometheus); empty serves /metrics on --addr, off serves it nowhere")
	data := fs.String("data", "./certorder-data", "data directory (SQLite database, CA keys)")
	database := fs.String("database", "", "store: empty for SQLite in --data, or a postgres:// URL shared by several certorder processes")
	sandbox := fs.Bool("sandbox", false, "sandbox mode: organizations and domains count as validated, orders issue at once")
	publicURL := fs.String("public-url", "", "http:// base URL that certificates name for AIA and CRL (default http://<addr>)")
	issuerKey := fs.String("issuer-key-type", string(ca.KeyRSA2048), "key type of a newly created issuing CA: rsa2048, rsa3072, p256, p384")
	rootKey := fs.String("root-key-type", string(ca.KeyP384), "key type of a newly created root CA: p384, p256, rsa3072, rsa4096")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", logging.FormatText, "log lines as text (key=value) or json (one JSON object a line)")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "how long in-flight requests may finish on shutdown")
	approval := fs.String("approval-mode", "one_step", "account approval mode: one_step, two_step or auto (applied on every start)")
	uniqueAlt := fs.Bool("require-unique-alternative-order-id", false, "refuse an order whose alternative_order_id an earlier order has")
	balance := fs.Float64("initial-balance", float64(app.DefaultBalanceCents)/100, "account balance in USD on first start")
	allowSkip := fs.Bool("allow-skip-approval", true, "let administrators and managers send skip_approval (applied on every start)")
	caSelection := fs.Bool("issuing-ca-selection", false, "let orders choose their issuing CA with certificate.ca_cert_id; when off it is ignored (applied on every start)")
	revokeOrder := fs.Bool("revoke-order-with-certificate", false, "revoking the only certificate of an order (PUT /certificate/{id}/revoke) revokes the order too; off, the order stays issued and can be reissued (applied on every start)")
	limits := fs.String("rate-limit", "100/5s,1000/5m", "per API key request limits, comma-separated N/duration, or off")
	resolver := fs.String("dns-resolver", "", "host:port of the DNS resolver for DCV and CAA lookups (default: first nameserver of /etc/resolv.conf)")
	dcvTimeout := fs.Duration("dcv-timeout", 5*time.Second, "timeout of one DCV/CAA DNS exchange or HTTP fetch")
	httpPort := fs.Int("dcv-http-port", 80, "port http-token validation fetches connect to")
	httpsPort := fs.Int("dcv-https-port", 443, "port of https:// redirects during http-token validation")
	allowPrivate := fs.Bool("dcv-allow-private", false, "let http-token validation connect to non-public addresses: private, loopback, NAT64... (testing only)")
	caaIDs := fs.String("caa-identities", dcv.DefaultCAAIdentity, "comma-separated issuer domain names that authorize this CA in CAA records")
	cnameTarget := fs.String("dcv-cname-target", dcv.DefaultCNAMETarget, "target host of dns-cname-token records")
	dnssec := fs.String("dnssec", string(dcv.DNSSECValidate), "DNSSEC validation of DCV and CAA lookups: validate, or off (testing only: the Baseline Requirements forbid it)")
	trustAnchor := fs.String("dnssec-trust-anchor", "", "file of DS or DNSKEY records (zone file syntax, e.g. unbound's root.key) to validate from instead of the built-in IANA root KSKs")
	smtpURL := fs.String("smtp", "", "SMTP relay of all mail (DCV, approvals, issued and revoked certificates, renewal notices), smtp://[user:pass@]host:port or smtps://... (empty: no email is sent)")
	smtpFrom := fs.String("smtp-from", "", "sender of all mail, an address with or without a display name (default certorder@localhost)")
	mailTemplates := fs.String("mail-templates", "", "directory of mail templates (<locale>/<kind>.txt and .html) overriding the built-in ones; every template is checked at start and a broken one stops it")
	consoleURL := fs.String("console-url", "", "public base URL of the web console (https://ca.example.com) that mailed password links name (default --public-url)")
	dcvRetry := fs.Duration("dcv-retry", validation.DefaultDCVRetry, "first delay between background checks of a pending validation (doubles up to an hour)")
	dcvPoll := fs.Duration("dcv-poll", validation.DefaultDCVPoll, "how often the validation worker looks for checks coming due")
	catalogFile := fs.String("catalog", "", "catalogue file that disables, renames, prices and aliases products (format in README); a bad file stops the start")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof; see docs/performance.md)")
	var trustedProxies []netip.Prefix
	fs.Func("trusted-proxy", "address or CIDR range of a reverse proxy in front of the console whose X-Forwarded-For names the client the sign-in throttle counts and whose X-Forwarded-Proto: https gives the console's cookies their __Host- names (repeatable; without it every client is its connection's peer)", func(v string) error {
		p, err := parsePrefix(v)
		if err == nil {
			trustedProxies = append(trustedProxies, p)
		}
		return err
	})
	var sandboxRules []validation.SandboxRule
	fs.Func("sandbox-rule", "MATCH=OUTCOME: in --sandbox, names with the label or under the domain MATCH pass, fail, stay pending, caa-fail or ev-pending (EV orders wait for their approval) (repeatable)", func(v string) error {
		r, err := validation.ParseSandboxRule(v)
		if err == nil {
			sandboxRules = append(sandboxRules, r)
		}
		return err
	})
	var sandboxFaults []faults.Spec
	fs.Func("sandbox-fault", `in --sandbox, a fault rule in force from the start for every account, in JSON as POST /services/v2/sandbox/faults takes it, e.g. {"route":"POST /order/certificate/{product}","fault":"error","status":503,"every":3} (repeatable; README "Sandbox: fault injection")`, func(v string) error {
		sp, err := faults.ParseFlag(v)
		if err == nil {
			sandboxFaults = append(sandboxFaults, sp)
		}
		return err
	})
	sandboxSeed := fs.String("sandbox-seed", "", "in --sandbox, any text that makes DCV random values, the first half of serial numbers and fault rules' random draws repeat from run to run (never keys or link secrets)")
	keepCSR := fs.Bool("sandbox-keep-csr", false, "in --sandbox, keep CSRs in full in the conformance report's request examples (otherwise a CSR shows as its length)")
	fs.Parse(args)
	if !*sandbox && (len(sandboxFaults) > 0 || *sandboxSeed != "" || *keepCSR) {
		return errors.New("--sandbox-fault, --sandbox-seed and --sandbox-keep-csr need --sandbox")
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log, err := logging.New(os.Stderr, *logFormat, lvl)
	if err != nil {
		return fmt.Errorf("--log-format: %w", err)
	}
	rules, err := ratelimit.Parse(*limits)
	if err != nil {
		return fmt.Errorf("--rate-limit: %w", err)
	}

	// The catalogue file is read before anything else opens: a file with
	// mistakes stops the start, naming each line.
	var products *catalog.Catalog
	if *catalogFile != "" {
		if products, err = catalog.LoadFile(*catalogFile); err != nil {
			return fmt.Errorf("--catalog: %w", err)
		}
	}

	var anchors []dns.RR
	if *trustAnchor != "" && dcv.DNSSECMode(*dnssec) == dcv.DNSSECOff {
		return errors.New("--dnssec-trust-anchor: DNSSEC validation is off (--dnssec off)")
	}
	if dcv.DNSSECMode(*dnssec) == dcv.DNSSECOff && !*sandbox {
		log.Warn("DNSSEC validation of DCV and CAA lookups is off (--dnssec off): forged answers for signed zones are believed")
	}
	if *trustAnchor != "" {
		f, err := os.Open(*trustAnchor)
		if err != nil {
			return fmt.Errorf("--dnssec-trust-anchor: %w", err)
		}
		anchors, err = dcv.ParseTrustAnchors(f, *trustAnchor)
		f.Close()
		if err != nil {
			return fmt.Errorf("--dnssec-trust-anchor: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	setServerGCPercent()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile() // written when the server stops (SIGTERM or SIGINT)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var metricsLn net.Listener
	if *metricsAddr != "" && *metricsAddr != "off" {
		if metricsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	a, err := app.Open(ctx, app.Config{
		DataDir: *data, Database: *database, PublicURL: base, Sandbox: *sandbox, AdminKey: os.Getenv("CERTORDER_ADMIN_KEY"),
		IssuerKeyType: ca.KeyType(*issuerKey), RootKeyType: ca.KeyType(*rootKey), Log: log, Out: os.Stdout,
		ApprovalMode: *approval, RequireUniqueAltOrderID: *uniqueAlt, InitialBalanceCents: int64(math.Round(*balance * 100)),
		DisallowSkipApproval: !*allowSkip, IssuingCASelection: *caSelection, RevokeOrderWithCertificate: *revokeOrder, RateLimits: rules,
		DCV: dcv.Config{Resolver: *resolver, Timeout: *dcvTimeout, HTTPPort: *httpPort, HTTPSPort: *httpsPort,
			AllowPrivate: *allowPrivate, CAAIdentities: splitList(*caaIDs), CNAMETarget: *cnameTarget,
			DNSSEC: dcv.DNSSECMode(*dnssec), TrustAnchors: anchors},
		SMTPURL: *smtpURL, SMTPFrom: *smtpFrom, ConsoleURL: *consoleURL, SandboxRules: sandboxRules, DCVRetry: *dcvRetry, DCVPoll: *dcvPoll,
		Catalog: products, MailTemplates: *mailTemplates, SandboxFaults: sandboxFaults, SandboxSeed: *sandboxSeed,
		SandboxKeepCSR: *keepCSR, MetricsListener: metricsLn, NoMetrics: *metricsAddr == "off", ConsoleTrustedProxies: trustedProxies,
	})
	if err != nil {
		ln.Close()
		return err
	}
	metricsAt := ln.Addr().String() + "/metrics"
	switch {
	case metricsLn != nil:
		metricsAt = metricsLn.Addr().String() + "/metrics"
	case *metricsAddr == "off":
		metricsAt = "off"
	}
	log.Info("certorder serving", "addr", ln.Addr().String(), "public_url", base, "data", *data, "sandbox", *sandbox, "metrics", metricsAt)
	serr := a.Serve(ctx, ln, *grace)
	cerr := a.Close()
	log.Info("certorder stopped")
	return errors.Join(serr, cerr)
}

// splitList reads a comma-separated flag value.
// parsePrefix reads an address (a range of one) or a CIDR range.
func parsePrefix(v string) (netip.Prefix, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setServerGCPercent sets the collector's target for a serving process:
// an order allocates a few hundred kilobytes that die with it and the
// live heap is small, so collecting at 4× the live heap instead of 2×
// takes the collector from about 7% of an order's CPU to a fraction
// (docs/performance.md). GOGC in the environment wins. The bench's floors
// set the same, so that certorder is not measured against floors tuned
// worse than itself.
func setServerGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// startCPUProfile profiles the process's CPU into the file path until
// stop is called; an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

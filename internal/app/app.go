// Package app wires one certorder process together: the data directory,
// the store, the CA hierarchy, the order engine and the HTTP API, and the
// first-start bootstrap of the account. cmd/certorder and the tests both
// start servers through it.
package app

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/console"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/logging"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/notify"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/revocation"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/seeded"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/backend"
	"github.com/certorder/certorder/internal/validation"
)

// Config is what a server needs to start.
type Config struct {
	DataDir string
	// Database is the store: empty for SQLite in DataDir, or a
	// postgres:// URL. The CA keys stay in DataDir either way.
	Database string
	// PublicURL is the http:// base that certificates name for AIA and CRL
	// URLs (relying parties fetch them over plain HTTP).
	PublicURL     string
	Sandbox       bool
	AdminKey      string // used on first start only; generated when empty
	RootKeyType   ca.KeyType
	IssuerKeyType ca.KeyType
	Log           *slog.Logger
	Now           func() time.Time
	// Out receives the one-time notice of a generated admin key.
	Out io.Writer
	// ApprovalMode of the account, applied on every start: one_step
	// (default), two_step or auto (spec §3.6).
	ApprovalMode string
	// RequireUniqueAltOrderID refuses a repeated alternative_order_id,
	// applied on every start.
	RequireUniqueAltOrderID bool
	// RevokeOrderWithCertificate makes revoking the only certificate of an
	// order (PUT /certificate/{id}/revoke) revoke the order too, applied on
	// every start; off (the default), the order stays issued and can be
	// reissued (spec §4.4).
	RevokeOrderWithCertificate bool
	// InitialBalanceCents is the account balance on first start; zero
	// means DefaultBalanceCents.
	InitialBalanceCents int64
	// DisallowSkipApproval turns off the account option that lets
	// administrators and managers send skip_approval (applied on every
	// start; allowed by default).
	DisallowSkipApproval bool
	// IssuingCASelection turns on the account option that lets orders,
	// reissues and duplicates choose their issuing CA with
	// certificate.ca_cert_id (applied on every start; off by default, when
	// ca_cert_id is ignored).
	IssuingCASelection bool
	// RateLimits is each API key's request budget; nil is unlimited.
	RateLimits []ratelimit.Rule
	// DCV configures the lookups of domain control validation and CAA
	// (resolver, timeouts, HTTP ports, CAA identities, CNAME target).
	DCV dcv.Config
	// SMTPURL is the relay of every mail (smtp://host:port); empty means
	// none is sent (the sandbox keeps its mail in its outbox). SMTPFrom is
	// the sender.
	SMTPURL, SMTPFrom string
	// MailTemplates is a directory of templates laid over the embedded
	// ones (<locale>/<kind>.txt and .html); empty uses the embedded ones.
	// Every template is checked when the server opens.
	MailTemplates string
	// SandboxRules script sandbox validation outcomes by name.
	SandboxRules []validation.SandboxRule
	// SandboxFaults are fault rules in force from the start for every
	// account (--sandbox-fault); administrators add more through the API.
	// Sandbox only.
	SandboxFaults []faults.Spec
	// SandboxSeed makes the sandbox's non-secret random values repeat
	// from run to run: DCV random values, the first half of serials, the
	// draws of fault rules (--sandbox-seed; internal/seeded). Sandbox only.
	SandboxSeed string
	// SandboxKeepCSR keeps CSRs in full in the conformance report's
	// request examples (otherwise a CSR shows as its length). Sandbox only.
	SandboxKeepCSR bool
	// DCVPoll, DCVRetry and DCVRetryMax tune the validation worker (zero:
	// defaults).
	DCVPoll, DCVRetry, DCVRetryMax time.Duration
	// MailRetry and MailRetryMax are the mail queue's first delay after a
	// failed attempt and its ceiling, on the real clock (zero: defaults).
	MailRetry, MailRetryMax time.Duration
	// Catalog is the product catalogue orders are placed from (a
	// catalogue file's); nil is the built-in one.
	Catalog *catalog.Catalog
	// ConsoleURL is the console's public base (https://ca.example.com) that
	// mailed password links name; empty is PublicURL.
	ConsoleURL string
	// ConsoleSessionLife and ConsoleIdleTimeout bound console sessions
	// (zero: console.DefaultSessionLife, console.DefaultIdleTimeout).
	ConsoleSessionLife, ConsoleIdleTimeout time.Duration
	// ConsoleTrustedProxies are the reverse proxies in front of the
	// console whose X-Forwarded-For its sign-in throttle believes
	// (--trusted-proxy).
	ConsoleTrustedProxies []netip.Prefix
	// MetricsListener, when set, is where Serve answers GET /metrics
	// (Prometheus), and the API's listener does not; otherwise the API's
	// listener serves it, unless NoMetrics.
	MetricsListener net.Listener
	NoMetrics       bool
	// CAKeySource makes the keys of a new CA hierarchy (ca.Config); nil
	// generates fresh ones. Only tests set it.
	CAKeySource func(kt ca.KeyType, slot string) (crypto.Signer, error)
}

// DefaultBalanceCents is a generous starting balance (1,000,000.00 USD),
// so that integrators and private PKI operators never meet it by accident.
const DefaultBalanceCents = 100_000_000

// App is a running certorder.
type App struct {
	Config Config
	Store  store.Store
	CA     *ca.Hierarchy
	Orders *order.Service
	// Validation holds organizations, domains and the DCV worker, which
	// runs while Serve does.
	Validation *validation.Service
	// Mail drains the outbox through the SMTP relay while Serve runs; nil
	// without --smtp.
	Mail *mail.Queue
	// Jobs expires orders and sends renewal notices while Serve runs.
	Jobs *jobs.Engine
	// Notify queues the mail of order events; it queues nothing without
	// Mail.
	Notify *notify.Notifier
	// Templates are the mail templates every message is made from.
	Templates *mail.Templates
	API       *api.Server
	// Console is the web console, served by API's listener at /console/.
	Console *console.Server
	// Revocation publishes CRLs and OCSP; its CRL workers run while Serve does.
	Revocation *revocation.Publisher
	// AdminKey is set only on the first start, when the key was created.
	AdminKey string
	// Clock is the sandbox's business clock, which an administrator moves
	// forward; nil outside the sandbox.
	Clock *clock.Travel
	// Now is business time: Config.Now, plus the sandbox clock's offset in
	// the sandbox. Every engine takes its dates from it.
	Now func() time.Time
	// Metrics is what GET /metrics serves. FaultInjected is how fault
	// injection counts what it did.
	Metrics *metrics.Metrics
	// Handler answers the API's listener: API, by default; tests wrap it
	// (testenv checks every answer against the OpenAPI document).
	Handler http.Handler
}

// AdminKeyFile is where a generated administrator key is written.
const AdminKeyFile = "admin-api-key"

// ConsoleKeyFile is the key that seals console TOTP seeds (mode 0600).
// Processes sharing a database need the same file, like the ca/ directory.
const ConsoleKeyFile = "console-key"

// Open prepares the data directory and everything in it.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	// Lines logged for a request carry its ID, whatever logger was given.
	cfg.Log = logging.WrapLogger(cfg.Log)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.DataDir == "" {
		return nil, errors.New("a data directory is required")
	}
	if !cfg.Sandbox && (len(cfg.SandboxFaults) > 0 || cfg.SandboxSeed != "" || cfg.SandboxKeepCSR) {
		return nil, errors.New("fault rules, a seed and the conformance report are for the sandbox only (--sandbox)")
	}
	// A broken template stops the start, before anything is opened, rather
	// than a message when it is sent.
	tpl, err := mail.Load(cfg.MailTemplates)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := backend.Open(ctx, cfg.Database, cfg.DataDir, false)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	m.CountWrites(st)
	st = m.TimeCommits(st)
	kinds := make([]string, len(faults.Kinds))
	for i, k := range faults.Kinds {
		kinds[i] = string(k)
	}
	m.FaultKinds(kinds...)
	// Business time: in the sandbox, the wall clock plus the offset every
	// process on the store shares. Certificates, orders, validations, mail
	// and CRLs take their dates from it; rate limits, leases and timeouts
	// keep the real clock.
	now, travel := cfg.Now, (*clock.Travel)(nil)
	var injector *faults.Injector
	if cfg.Sandbox {
		travel = &clock.Travel{Store: st, Base: cfg.Now, Log: cfg.Log}
		if err := travel.Init(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("record the sandbox clock: %w", err)
		}
		now = travel.Now
		// Fault windows are real time, as rate limits are.
		if injector, err = faults.New(ctx, st, cfg.Now, cfg.SandboxSeed, cfg.SandboxFaults, cfg.Log); err != nil {
			st.Close()
			return nil, err
		}
	}
	h, err := ca.Open(ca.Config{Dir: filepath.Join(cfg.DataDir, "ca"), BaseURL: cfg.PublicURL,
		RootKeyType: cfg.RootKeyType, IssuerKeyType: cfg.IssuerKeyType, Now: now, KeySource: cfg.CAKeySource})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open CA hierarchy: %w", err)
	}
	if err := checkCA(ctx, st, h); err != nil {
		st.Close()
		return nil, err
	}
	go h.WarmLinter() // the first order need not wait for zlint's tables
	a := &App{Config: cfg, Store: st, CA: h, Clock: travel, Now: now, Templates: tpl, Metrics: m}
	m.WatchStore(st, now, cfg.Log)
	a.Validation = &validation.Service{Store: st, Sandbox: cfg.Sandbox, Now: now, Log: cfg.Log,
		PublicURL: cfg.PublicURL, SandboxRules: cfg.SandboxRules, DCVPoll: cfg.DCVPoll, DCVRetry: cfg.DCVRetry,
		DCVRetryMax: cfg.DCVRetryMax, Templates: tpl, Metrics: m}
	if a.Validation.DCV, err = dcv.New(cfg.DCV); err != nil {
		st.Close()
		return nil, fmt.Errorf("domain control validation: %w", err)
	}
	if cfg.SMTPURL != "" || cfg.Sandbox {
		var relay mail.Relay
		if cfg.SMTPURL != "" {
			mailer, err := dcv.NewMailer(cfg.SMTPURL, cfg.SMTPFrom, cfg.DCV.Timeout)
			if err != nil {
				st.Close()
				return nil, fmt.Errorf("smtp relay: %w", err)
			}
			relay = mailer
		}
		// The sandbox keeps what it sends for the API to show, so it
		// renders no DCV, EV approval, mailbox or pickup mail: those
		// bodies carry a link (and the sandbox sends none anyway).
		// Retries and claims wait on the real clock (WallNow left to
		// time.Now), not on Config.Now: a test's frozen clock must not
		// hold a message the relay refused once.
		a.Mail = &mail.Queue{Store: st, Relay: relay, Now: now, Log: cfg.Log, Keep: cfg.Sandbox,
			Retry: cfg.MailRetry, RetryMax: cfg.MailRetryMax, Renderers: map[string]mail.Renderer{}}
		if !cfg.Sandbox {
			a.Mail.Renderers[validation.MailKindDCV] = a.Validation.RenderDCVMail
			a.Mail.Renderers[validation.MailKindEVApproval] = a.Validation.RenderEVApprovalMail
			a.Mail.Renderers[validation.MailKindMailbox] = a.Validation.RenderMailboxMail
			a.Mail.Renderers[validation.MailKindPickup] = a.Validation.RenderPickupMail
		}
		if relay != nil {
			a.Validation.Mail, a.Validation.MailFrom = a.Mail, cfg.SMTPFrom
		}
	}
	a.Orders = &order.Service{Store: st, CA: h, Catalog: cfg.Catalog, Now: now, LeaseNow: cfg.Now, Log: cfg.Log, Metrics: m}
	if cfg.SandboxSeed != "" {
		// Only values that are no secret repeat; keys, link secrets and
		// signatures keep crypto/rand.
		a.Validation.ValueRand = seeded.New(cfg.SandboxSeed, seeded.PurposeDCVValue)
		a.Orders.SerialPrefix = seeded.New(cfg.SandboxSeed, seeded.PurposeSerialPrefix)
	}
	a.Orders.UseValidation(a.Validation)
	a.Validation.ProductName = productName(a.Orders)
	a.Jobs = &jobs.Engine{Store: st, Now: now, Log: cfg.Log, MailFrom: cfg.SMTPFrom, ProductName: productName(a.Orders),
		Orders: a.Orders, Renew: a.Orders, Templates: tpl}
	a.Notify = &notify.Notifier{Store: st, From: cfg.SMTPFrom, BaseURL: cfg.PublicURL, ProductName: productName(a.Orders),
		Chain: a.Orders.ChainPEM, Templates: tpl, Log: cfg.Log}
	a.Orders.Notify = a.Notify
	if a.Mail != nil {
		// Renewal notices and event mail carry no secret: the sandbox
		// renders and keeps them for its outbox too.
		a.Mail.Register(jobs.MailKindRenewal, a.Jobs.RenderRenewalMail)
		a.Mail.Register(jobs.MailKindAutoRenewal, a.Jobs.RenderAutoRenewalMail)
		a.Mail.Register(jobs.MailKindAutoReissue, a.Jobs.RenderAutoReissueMail)
		a.Jobs.Mail = a.Mail
		a.Notify.Mail = a.Mail
		a.Notify.Register(a.Mail)
	}
	a.Revocation = revocation.New(revocation.Config{CA: h, Store: st, Log: cfg.Log, Now: now, LeaseNow: cfg.Now})
	// A committed revocation rebuilds its issuers' CRLs in the background
	// and drops their cached OCSP responses.
	a.Orders.OnRevoke = a.Revocation.Revoked
	box, err := secret.LoadBox(filepath.Join(cfg.DataDir, ConsoleKeyFile))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("console key: %w", err)
	}
	accounts := &account.Service{Store: st, Now: now, Log: cfg.Log, Box: box}
	var recorder *conformance.Recorder
	if cfg.Sandbox {
		recorder = &conformance.Recorder{Now: cfg.Now, Catalog: a.Orders.Products(), KeepCSR: cfg.SandboxKeepCSR}
	}
	a.API = api.New(&api.Server{Store: st, Orders: a.Orders, Validation: a.Validation, Accounts: accounts, CA: h, Log: cfg.Log, Now: now, Revocation: a.Revocation,
		Limits: ratelimit.New(cfg.RateLimits, cfg.Now), Clock: travel, Sandbox: cfg.Sandbox, Faults: injector,
		Conformance: recorder, Metrics: m, ServeMetrics: cfg.MetricsListener == nil && !cfg.NoMetrics})
	a.Handler = a.API
	// The console is a second edge on the same services (and the same
	// listener): its pages pass the API's permission and scope checks.
	a.Console = console.New(&console.Server{Store: st, Orders: a.Orders, Validation: a.Validation, Accounts: accounts, CA: h,
		Log: cfg.Log, Now: now, WallNow: cfg.Now, Sandbox: cfg.Sandbox, Travel: travel, Faults: injector, Conformance: recorder,
		URL: cmp.Or(cfg.ConsoleURL, cfg.PublicURL), Templates: tpl,
		SessionLife: cfg.ConsoleSessionLife, IdleTimeout: cfg.ConsoleIdleTimeout, TrustedProxies: cfg.ConsoleTrustedProxies})
	// Password links carry a secret: only a queue that relays without
	// keeping what it sends may render them (the sandbox's outbox keeps).
	if a.Mail != nil && a.Mail.Relay != nil && !a.Mail.Keep {
		a.Console.Mail = a.Mail
		a.Mail.Register(console.MailKindPassword, a.Console.RenderPasswordMail)
	}
	a.API.Mount(console.Prefix, a.Console)
	if err := a.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the CRL workers (if Serve left them running) and releases
// the store.
func (a *App) Close() error {
	a.Revocation.Stop()
	// The serials held for orders to come were never signed: their
	// intents go, so that no CRL lists them.
	if err := a.Orders.ReleaseSerials(context.Background()); err != nil {
		a.Config.Log.Warn("release unused serials", "err", err)
	}
	return a.Store.Close()
}

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully:
// requests in flight finish (up to grace), then Serve returns.
func (a *App) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Config.Log.Handler(), slog.LevelWarn),
	}
	if ln := a.Config.MetricsListener; ln != nil {
		// Metrics on their own listener, for a port that only the
		// monitoring network reaches.
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.Metrics.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second,
			ErrorLog: srv.ErrorLog}
		go msrv.Serve(ln)
		defer msrv.Close()
	}
	// The CRL workers rebuild CRLs after revocations and before their
	// nextUpdate; they stop when serving does, before the store closes.
	a.Revocation.Start()
	defer a.Revocation.Stop()
	// The validation worker looks up pending validations and issues what
	// they complete; it stops before the store closes.
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); a.Validation.RunDCV(wctx) }()
	defer func() { stopWorker(); <-workerDone }()
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.Jobs.Run(wctx) }()
	defer func() { stopWorker(); <-jobsDone }()
	if a.Mail != nil {
		mailDone := make(chan struct{})
		go func() { defer close(mailDone); a.Mail.Run(wctx) }()
		defer func() { stopWorker(); <-mailDone }()
	}
	errc := make(chan error, 1)
	// The listener answers requests net/http refuses before any handler
	// runs (a malformed %-escape in the path) in the API's envelope.
	go func() { errc <- srv.Serve(api.Listener(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// productName names a product in the notices of the jobs.
func productName(o *order.Service) func(string) string {
	return func(nameID string) string {
		p, _ := o.Products().Lookup(nameID)
		return p.Name
	}
}

// NewAPIKey returns a fresh 256-bit key in upper-case base32.
func NewAPIKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// caFingerprintKey is the setting that names the CA of the store.
const caFingerprintKey = "ca_fingerprint"

// checkCA: every process on one store signs with the same hierarchy. The
// first process records its fingerprint; a process whose data directory
// holds another CA (a replica that created its own instead of receiving a
// copy of the first one's ca/ directory) refuses to start, before it could
// sign anything the others cannot revoke or vouch for. A hierarchy that an
// upgrade gave new intermediates (a new purpose) still is the store's CA
// when the store recorded what it was before: the first process to start
// after the upgrade records the new fingerprint, and a replica whose own
// copy of the old hierarchy upgraded itself differently is refused.
func checkCA(ctx context.Context, st store.Store, h *ca.Hierarchy) error {
	fp := h.Fingerprint()
	err := st.InTx(ctx, func(tx store.Tx) error { return tx.PutSettingIfAbsent(ctx, caFingerprintKey, fp) })
	if err != nil {
		return fmt.Errorf("record the CA fingerprint: %w", err)
	}
	have, err := st.Setting(ctx, caFingerprintKey)
	if err != nil {
		return fmt.Errorf("read the CA fingerprint: %w", err)
	}
	if have != fp && slices.Contains(h.PreviousFingerprints(), have) {
		err := st.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.ReplaceSetting(ctx, caFingerprintKey, have, fp)
			return err
		})
		if err != nil {
			return fmt.Errorf("record the upgraded CA fingerprint: %w", err)
		}
		if have, err = st.Setting(ctx, caFingerprintKey); err != nil {
			return fmt.Errorf("read the CA fingerprint: %w", err)
		}
	}
	if have != fp {
		return fmt.Errorf("the CA in this data directory (fingerprint %.16s…) is not the CA of the database (%.16s…): "+
			"every certorder sharing a database needs a copy of the first one's ca/ directory", fp, have)
	}
	return nil
}

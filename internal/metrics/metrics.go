// Package metrics is what certorder tells Prometheus: counters and
// histograms the engines update as they work (orders placed, certificates
// signed and how long that took, lint findings, DCV lookups, store
// commits, HTTP requests, injected faults), and gauges read from the store
// when /metrics is scraped (orders by status, certificates about to
// expire, the mail queue, the validation and job backlogs, CRL ages).
//
// One Metrics is one registry: each server (and each test server) has its
// own, so counts never mix. A nil *Metrics counts nothing, so engines
// built without one (tools, unit tests) need no special case. The hot
// path only touches counters and histograms in memory; the store is read
// at scrape time, at most once per CensusTTL.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/certorder/certorder/internal/store"
)

// Outcomes of an issuance (the outcome label of IssuanceDone).
const (
	IssuanceIssued     = "issued"
	IssuanceLintFailed = "lint_failed"
	IssuanceFailed     = "failed"
)

// Outcomes of a DCV lookup (the outcome label of DCVChecked).
const (
	DCVValid   = "valid"   // the proof was found
	DCVInvalid = "invalid" // the lookup worked and found no proof
	DCVError   = "error"   // the lookup itself failed (timeout, SERVFAIL...)
)

// Metrics holds one server's collectors.
type Metrics struct {
	// Registry is what the /metrics handler serves.
	Registry *prometheus.Registry

	ordersCreated   *prometheus.CounterVec
	issuances       *prometheus.CounterVec
	issuanceSeconds *prometheus.HistogramVec
	lintFindings    *prometheus.CounterVec
	dcvChecks       *prometheus.CounterVec
	storeCommit     *prometheus.HistogramVec
	httpRequests    *prometheus.CounterVec
	httpSeconds     *prometheus.HistogramVec
	faults          *prometheus.CounterVec
}

// New makes a registry with certorder's collectors and the Go runtime's
// and the process's.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.ordersCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_orders_created_total",
		Help: "Orders placed (new, renewal and console orders), by product name_id and the status the order was created in.",
	}, []string{"product", "status"})
	m.issuances = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_issuances_total",
		Help: "Certificates the CA was asked to sign, by product and outcome: issued (signed after a clean lint), lint_failed (refused by pre-issuance lint, nothing signed) or failed.",
	}, []string{"product", "outcome"})
	m.issuanceSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "certorder_issuance_duration_seconds",
		Help:    "Time to build, lint and sign one certificate, by product.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"product"})
	m.lintFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_lint_findings_total",
		Help: "Findings of pre-issuance linting (zlint) on leaf certificates, by lint and severity: error refuses the issuance, warn is logged and issued.",
	}, []string{"lint", "severity"})
	m.dcvChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_dcv_checks_total",
		Help: "Domain control validation lookups and approvals, by method and outcome (valid, invalid, error).",
	}, []string{"method", "outcome"})
	m.storeCommit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "certorder_store_commit_duration_seconds",
		Help:    "Time from the start of a store transaction to its durable commit (or rollback), queueing for the writer included, by outcome (ok, error).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"outcome"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_http_requests_total",
		Help: "HTTP requests answered, by route pattern (unmatched for none) and status code.",
	}, []string{"route", "code"})
	m.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "certorder_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certorder_faults_injected_total",
		Help: "Faults the fault injection made happen, by kind.",
	}, []string{"kind"})
	m.Registry.MustRegister(m.ordersCreated, m.issuances, m.issuanceSeconds, m.lintFindings, m.dcvChecks,
		m.storeCommit, m.httpRequests, m.httpSeconds, m.faults,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's text format (or OpenMetrics
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// OrderCreated counts an order placed in status.
func (m *Metrics) OrderCreated(product, status string) {
	if m == nil {
		return
	}
	m.ordersCreated.WithLabelValues(product, status).Inc()
}

// IssuanceDone counts a signing attempt of product with its outcome and
// how long it took.
func (m *Metrics) IssuanceDone(product, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.issuances.WithLabelValues(product, outcome).Inc()
	m.issuanceSeconds.WithLabelValues(product).Observe(d.Seconds())
}

// LintFindings counts zlint findings as ca reports them ("lint_name:
// details"), under severity error or warn.
func (m *Metrics) LintFindings(severity string, findings []string) {
	if m == nil {
		return
	}
	for _, f := range findings {
		name, _, _ := strings.Cut(f, ":")
		m.lintFindings.WithLabelValues(strings.TrimSpace(name), severity).Inc()
	}
}

// DCVChecked counts one lookup (or approval) of method with its outcome.
func (m *Metrics) DCVChecked(method, outcome string) {
	if m == nil {
		return
	}
	m.dcvChecks.WithLabelValues(method, outcome).Inc()
}

// Committed records a store transaction that took d.
func (m *Metrics) Committed(d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.storeCommit.WithLabelValues(outcome).Observe(d.Seconds())
}

// Served records an HTTP request answered with code after d. route is the
// pattern that served it, so that the label's values are bounded by the
// routes.
func (m *Metrics) Served(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, codeLabel(code)).Inc()
	m.httpSeconds.WithLabelValues(route).Observe(d.Seconds())
}

// FaultInjected counts a fault of kind that the fault injection caused
// (the name of the fault as the injection rules call it).
func (m *Metrics) FaultInjected(kind string) {
	if m == nil {
		return
	}
	m.faults.WithLabelValues(kind).Inc()
}

func codeLabel(code int) string {
	if code == 0 {
		code = http.StatusOK // a handler that wrote nothing answered 200
	}
	return strconv.Itoa(code)
}

// TimeCommits is st with the time of every transaction recorded
// (certorder_store_commit_duration_seconds); st itself when m is nil.
func (m *Metrics) TimeCommits(st store.Store) store.Store {
	if m == nil {
		return st
	}
	return &timedStore{Store: st, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

func (s *timedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.InTx(ctx, fn)
	s.m.Committed(time.Since(start), err)
	return err
}

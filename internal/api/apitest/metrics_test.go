package apitest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// scrape reads GET /metrics without a key and parses it with
// Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want Prometheus text", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricValue is the value of the series of family name whose labels
// include want (name=value pairs), and whether there is one; a histogram
// gives its sample count.
func metricValue(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsScrape: after a run of orders (one issued after a failed and
// a passing DNS lookup, one waiting for approval, one issued at once with
// a 30-day certificate), /metrics answers without a key in Prometheus's
// text format, and every kind of metric the operator relies on is there
// with the run's counts: orders placed and held by status, issuances and
// their latency, DCV outcomes by method, expiring certificates, the mail
// queue, the job backlog, CRL ages, store commits and HTTP requests.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	const product = "ssl_dv_geotrust"

	pending := e.order(t, product, "dns-txt-token", []string{"metrics-dcv.com"}, nil)
	e.requireCheckRefused(t, pending.ID, "invalid_dns_txt", "")
	e.dns.SetTXT("metrics-dcv.com", pending.DCVRandomValue)
	e.requireCheckIssues(t, pending.ID, "metrics-dcv.com")
	// The domain is validated now: the next order issues at once, for 30
	// days, and one without skip_approval waits for its approval.
	short := e.order(t, product, "dns-txt-token", []string{"www.metrics-dcv.com"},
		map[string]any{"order_validity": map[string]any{"days": 30}})
	if len(short.CertificateChain) == 0 {
		t.Fatalf("the order of a validated name did not issue at once")
	}
	waiting := e.order(t, product, "dns-txt-token", []string{"metrics-dcv.com"}, map[string]any{"skip_approval": false})
	if o, _ := fam2GetOrder(t, e.srv, waiting.ID); o.Status != "needs_approval" {
		t.Fatalf("order without skip_approval is %s, want needs_approval", o.Status)
	}

	// The job schedules exist once the engine's first round ran.
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := e.srv.App.Store.Job(ctx, "expire_orders")
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("job schedule: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	fams := scrape(t, e.srv.URL)
	// Every family the operator relies on is there, of its type.
	for name, typ := range map[string]dto.MetricType{
		"certorder_orders_created_total":          dto.MetricType_COUNTER,
		"certorder_orders":                        dto.MetricType_GAUGE,
		"certorder_issuances_total":               dto.MetricType_COUNTER,
		"certorder_issuance_duration_seconds":     dto.MetricType_HISTOGRAM,
		"certorder_lint_findings_total":           dto.MetricType_COUNTER,
		"certorder_dcv_checks_total":              dto.MetricType_COUNTER,
		"certorder_dcv_checks_due":                dto.MetricType_GAUGE,
		"certorder_job_lag_seconds":               dto.MetricType_GAUGE,
		"certorder_job_failures":                  dto.MetricType_GAUGE,
		"certorder_mail_queue":                    dto.MetricType_GAUGE,
		"certorder_mail_queue_oldest_seconds":     dto.MetricType_GAUGE,
		"certorder_crl_age_seconds":               dto.MetricType_GAUGE,
		"certorder_crl_next_update_seconds":       dto.MetricType_GAUGE,
		"certorder_certificates_expiring":         dto.MetricType_GAUGE,
		"certorder_store_commit_duration_seconds": dto.MetricType_HISTOGRAM,
		"certorder_store_commits_total":           dto.MetricType_COUNTER,
		"certorder_store_committed_calls_total":   dto.MetricType_COUNTER,
		"certorder_faults_injected_total":         dto.MetricType_COUNTER,
		"certorder_http_requests_total":           dto.MetricType_COUNTER,
		"certorder_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"certorder_census_up":                     dto.MetricType_GAUGE,
	} {
		if f := fams[name]; f == nil || f.GetType() != typ || len(f.Metric) == 0 {
			t.Errorf("family %s: %v, want a %s with series", name, f, typ)
		}
	}
	for _, tc := range []struct {
		name    string
		labels  []string
		want    float64
		atLeast bool
	}{
		{"certorder_orders_created_total", []string{"product", product, "status", "pending"}, 1, false},
		{"certorder_orders_created_total", []string{"product", product, "status", "issued"}, 1, false},
		{"certorder_orders_created_total", []string{"product", product, "status", "needs_approval"}, 1, false},
		{"certorder_orders", []string{"product", product, "status", "issued"}, 2, false},
		{"certorder_orders", []string{"product", product, "status", "needs_approval"}, 1, false},
		{"certorder_issuances_total", []string{"product", product, "outcome", "issued"}, 2, false},
		{"certorder_issuance_duration_seconds", []string{"product", product}, 2, false},
		// Each DV leaf draws the documented warning for its common name.
		{"certorder_lint_findings_total", []string{"lint", "w_subject_common_name_included", "severity", "warn"}, 2, false},
		{"certorder_dcv_checks_total", []string{"method", "dns-txt-token", "outcome", "invalid"}, 1, true},
		// At least: the DCV worker's scheduled look may find the value too,
		// between the test's publishing it and its own check.
		{"certorder_dcv_checks_total", []string{"method", "dns-txt-token", "outcome", "valid"}, 1, true},
		{"certorder_certificates_expiring", []string{"within", "7d"}, 0, false},
		{"certorder_certificates_expiring", []string{"within", "30d"}, 1, false},
		{"certorder_certificates_expiring", []string{"within", "90d"}, 1, false},
		{"certorder_mail_queue", []string{"state", "waiting"}, 0, true},
		{"certorder_mail_queue", []string{"state", "given_up"}, 0, false},
		{"certorder_mail_queue_oldest_seconds", nil, 0, true},
		{"certorder_dcv_checks_due", nil, 0, true},
		{"certorder_job_lag_seconds", []string{"job", "expire_orders"}, 0, true},
		{"certorder_job_failures", []string{"job", "expire_orders"}, 0, false},
		{"certorder_crl_age_seconds", []string{"issuer", "root"}, 0, true},
		{"certorder_crl_next_update_seconds", []string{"issuer", "root"}, 1, true},
		{"certorder_census_up", nil, 1, false},
		{"certorder_store_commit_duration_seconds", []string{"outcome", "ok"}, 5, true},
		// The store's write counters: the three orders' commits at least,
		// each writing pages of its B-trees to SQLite's WAL.
		{"certorder_store_commits_total", nil, 3, true},
		{"certorder_store_committed_calls_total", nil, 3, true},
		// A server that is no sandbox injects no fault; each kind shows 0.
		{"certorder_faults_injected_total", []string{"kind", "rate_limit"}, 0, false},
		{"certorder_faults_injected_total", []string{"kind", "error"}, 0, false},
		{"certorder_faults_injected_total", []string{"kind", "delay"}, 0, false},
		{"certorder_faults_injected_total", []string{"kind", "drop"}, 0, false},
		{"certorder_http_requests_total", []string{"route", "POST /services/v2/order/certificate/{product}", "code", "201"}, 3, false},
		{"certorder_http_requests_total", []string{"route", "PUT /services/v2/order/certificate/{id}/check-dcv", "code", "400"}, 1, false},
		{"certorder_http_request_duration_seconds", []string{"route", "GET /services/v2/order/certificate/{id}"}, 1, true},
		{"go_goroutines", nil, 1, true},
	} {
		got, ok := metricValue(fams, tc.name, tc.labels...)
		switch {
		case !ok:
			t.Errorf("%s%v: no such series", tc.name, tc.labels)
		case tc.atLeast && got < tc.want, !tc.atLeast && got != tc.want:
			t.Errorf("%s%v = %v, want %s%v", tc.name, tc.labels, got, map[bool]string{true: "at least ", false: ""}[tc.atLeast], tc.want)
		}
	}
	// SQLite's writer counts the pages it wrote to the WAL, some for each
	// of the three orders' B-trees; PostgreSQL's pages are its own.
	pages, ok := metricValue(fams, "certorder_store_wal_pages_written_total")
	if os.Getenv("CERTORDER_TEST_STORE") == "postgres" {
		if ok {
			t.Errorf("certorder_store_wal_pages_written_total on PostgreSQL: %v", pages)
		}
	} else if !ok || pages < 3*10 {
		t.Errorf("certorder_store_wal_pages_written_total = %v (served: %v), want at least 30", pages, ok)
	}
	// The intermediates' CRLs are there too, each with an age.
	if f := fams["certorder_crl_age_seconds"]; f == nil || len(f.Metric) < 2 {
		t.Errorf("certorder_crl_age_seconds has no series per intermediate: %v", f)
	}
	// The issuance latencies are real: each took some time, none a minute.
	for _, m := range fams["certorder_issuance_duration_seconds"].Metric {
		if h := m.Histogram; h.GetSampleSum() <= 0 || h.GetSampleSum() > 60 {
			t.Errorf("issuance latency sum %v s over %d issuances", h.GetSampleSum(), h.GetSampleCount())
		}
	}
	// (Injected faults counted through a scrape: TestFaultRefusalsChangeNothing.)
}

// TestMetricsListener: with a metrics listener of its own, the server
// answers /metrics there and not on the API's listener.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, MetricsListener: true})
	if srv.MetricsURL == "" || srv.MetricsURL == srv.URL {
		t.Fatalf("metrics URL %q, API URL %q", srv.MetricsURL, srv.URL)
	}
	if _, ok := metricValue(scrape(t, srv.MetricsURL), "certorder_census_up"); !ok {
		t.Error("no certorder_census_up on the metrics listener")
	}
	status, hdr, body := srv.DoKey("", "GET", "/metrics", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|route")
}

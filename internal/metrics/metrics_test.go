package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certorder/certorder/internal/store"
)

// TestNilMetrics: engines built without metrics count nothing and do not
// fail.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.OrderCreated("p", "issued")
	m.IssuanceDone("p", IssuanceIssued, time.Second)
	m.LintFindings("warn", []string{"w_x: y"})
	m.DCVChecked("email", DCVValid)
	m.Committed(time.Millisecond, nil)
	m.Served("GET /x", 200, time.Millisecond)
	m.FaultInjected("k")
	m.WatchStore(nil, time.Now, nil)
	var st store.Store
	if m.TimeCommits(st) != st {
		t.Error("TimeCommits of nil metrics wrapped the store")
	}
}

// TestLintFindings: a finding is counted under its lint's name (what
// precedes the first colon of ca's "name: details"), by severity.
func TestLintFindings(t *testing.T) {
	m := New()
	m.LintFindings("warn", []string{"w_subject_common_name_included: CN is deprecated", "w_ext_key_usage_not_critical: x: y"})
	m.LintFindings("warn", []string{"w_subject_common_name_included: again"})
	m.LintFindings("error", []string{"e_dnsname_not_valid_tld"})
	for _, tc := range []struct {
		lint, severity string
		want           float64
	}{
		{"w_subject_common_name_included", "warn", 2},
		{"w_ext_key_usage_not_critical", "warn", 1},
		{"e_dnsname_not_valid_tld", "error", 1},
	} {
		if got := testutil.ToFloat64(m.lintFindings.WithLabelValues(tc.lint, tc.severity)); got != tc.want {
			t.Errorf("%s/%s = %v, want %v", tc.lint, tc.severity, got, tc.want)
		}
	}
}

type censusFunc func(ctx context.Context, at time.Time) (*store.Census, error)

func (f censusFunc) Census(ctx context.Context, at time.Time) (*store.Census, error) {
	return f(ctx, at)
}

// TestCensusCollector: scrapes within the TTL share one census; a census
// that fails leaves the last good one shown with certorder_census_up 0;
// ages are counted from business time.
func TestCensusCollector(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	fail := false
	src := censusFunc(func(_ context.Context, at time.Time) (*store.Census, error) {
		calls++
		if fail {
			return nil, errors.New("database gone")
		}
		return &store.Census{
			Orders:   []store.OrderCount{{Product: "ssl_basic", Status: "issued", N: 3}},
			Expiring: map[time.Duration]int{store.CensusWindows[0]: 1, store.CensusWindows[1]: 2, store.CensusWindows[2]: 5},
			Jobs:     []store.Job{{Kind: "expire_orders", NextAt: at.Add(-90 * time.Second), Attempts: 2}},
			CRLs:     []store.StoredCRL{{IssuerID: "root", ThisUpdate: at.Add(-time.Hour), NextUpdate: at.Add(-time.Minute)}},
		}, nil
	})
	c := &censusCollector{src: src, now: func() time.Time { return now }, ttl: time.Hour}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	want := `
# HELP certorder_census_up 1 when the last read of the store's census worked, 0 when it failed (the gauges then show the last census that worked).
# TYPE certorder_census_up gauge
certorder_census_up %d
# HELP certorder_certificates_expiring Issued certificates whose notAfter falls within the window from now (7d, 30d, 90d; each window includes the shorter ones).
# TYPE certorder_certificates_expiring gauge
certorder_certificates_expiring{within="7d"} 1
certorder_certificates_expiring{within="30d"} 2
certorder_certificates_expiring{within="90d"} 5
# HELP certorder_crl_next_update_seconds Time until the nextUpdate of an issuer's latest stored CRL; negative once it is past.
# TYPE certorder_crl_next_update_seconds gauge
certorder_crl_next_update_seconds{issuer="root"} -60
# HELP certorder_job_failures Failed rounds in a row of a time-driven job (0 after a round that worked).
# TYPE certorder_job_failures gauge
certorder_job_failures{job="expire_orders"} 2
# HELP certorder_job_lag_seconds How far a time-driven job's next round is overdue (0 when on time): the job's backlog.
# TYPE certorder_job_lag_seconds gauge
certorder_job_lag_seconds{job="expire_orders"} 90
# HELP certorder_orders Orders in the store, by product name_id and status.
# TYPE certorder_orders gauge
certorder_orders{product="ssl_basic",status="issued"} 3
`
	names := []string{"certorder_census_up", "certorder_certificates_expiring", "certorder_crl_next_update_seconds",
		"certorder_job_failures", "certorder_job_lag_seconds", "certorder_orders"}
	check := func(up int) {
		t.Helper()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.Replace(want, "%d", string(rune('0'+up)), 1)), names...); err != nil {
			t.Error(err)
		}
	}
	check(1)
	check(1)
	if calls != 1 {
		t.Errorf("two scrapes within the TTL took %d censuses, want 1", calls)
	}
	c.ttl, fail = 0, true
	check(0)
	if calls != 2 {
		t.Errorf("a scrape after the TTL took no census")
	}
}

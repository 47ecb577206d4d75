package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certorder/certorder/internal/store"
)

// CensusTTL is how long one census of the store serves scrapes: several
// Prometheus servers, or one scraping often, cost one census per TTL.
const CensusTTL = 10 * time.Second

// censusTimeout bounds a census; a store that does not answer in time
// leaves the last census served and certorder_census_up at 0.
const censusTimeout = 5 * time.Second

// WatchStore adds the gauges read from the store at scrape time. now is
// business time (the sandbox clock's), which expiry and CRL ages are
// counted in.
func (m *Metrics) WatchStore(src store.CensusReader, now func() time.Time, log *slog.Logger) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&censusCollector{src: src, now: now, log: log, ttl: CensusTTL})
}

var (
	descOrders = prometheus.NewDesc("certorder_orders",
		"Orders in the store, by product name_id and status.", []string{"product", "status"}, nil)
	descExpiring = prometheus.NewDesc("certorder_certificates_expiring",
		"Issued certificates whose notAfter falls within the window from now (7d, 30d, 90d; each window includes the shorter ones).", []string{"within"}, nil)
	descMail = prometheus.NewDesc("certorder_mail_queue",
		"Outbox messages waiting for the relay (waiting) or given up on (given_up).", []string{"state"}, nil)
	descMailOldest = prometheus.NewDesc("certorder_mail_queue_oldest_seconds",
		"Age of the oldest message waiting for the relay; 0 when none waits.", nil, nil)
	descDCVDue = prometheus.NewDesc("certorder_dcv_checks_due",
		"Scheduled domain control validation checks due now: the validation worker's backlog.", nil, nil)
	descJobLag = prometheus.NewDesc("certorder_job_lag_seconds",
		"How far a time-driven job's next round is overdue (0 when on time): the job's backlog.", []string{"job"}, nil)
	descJobFailures = prometheus.NewDesc("certorder_job_failures",
		"Failed rounds in a row of a time-driven job (0 after a round that worked).", []string{"job"}, nil)
	descCRLAge = prometheus.NewDesc("certorder_crl_age_seconds",
		"Time since the thisUpdate of an issuer's latest stored CRL (issuer root for the root's).", []string{"issuer"}, nil)
	descCRLNext = prometheus.NewDesc("certorder_crl_next_update_seconds",
		"Time until the nextUpdate of an issuer's latest stored CRL; negative once it is past.", []string{"issuer"}, nil)
	descCensusUp = prometheus.NewDesc("certorder_census_up",
		"1 when the last read of the store's census worked, 0 when it failed (the gauges then show the last census that worked).", nil, nil)
	descCensusTime = prometheus.NewDesc("certorder_census_timestamp_seconds",
		"When the census the store gauges show was taken (Unix time).", nil, nil)
)

type censusCollector struct {
	src store.CensusReader
	now func() time.Time
	log *slog.Logger
	ttl time.Duration

	mu      sync.Mutex
	last    *store.Census
	takenAt time.Time // wall time of last
	tried   time.Time // wall time of the last attempt
	up      bool
}

func (c *censusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOrders, descExpiring, descMail, descMailOldest, descDCVDue,
		descJobLag, descJobFailures, descCRLAge, descCRLNext, descCensusUp, descCensusTime} {
		ch <- d
	}
}

// census is the census to show: the cached one while it is fresh, else a
// new one (or, when that fails, the last that worked).
func (c *censusCollector) census() (*store.Census, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.tried) < c.ttl {
		return c.last, c.takenAt, c.up
	}
	c.tried = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), censusTimeout)
	defer cancel()
	got, err := c.src.Census(ctx, c.now())
	if err != nil {
		if c.log != nil {
			c.log.Warn("metrics: census of the store failed", "err", err)
		}
		c.up = false
		return c.last, c.takenAt, false
	}
	c.last, c.takenAt, c.up = got, time.Now(), true
	return c.last, c.takenAt, true
}

func (c *censusCollector) Collect(ch chan<- prometheus.Metric) {
	cs, takenAt, up := c.census()
	ch <- prometheus.MustNewConstMetric(descCensusUp, prometheus.GaugeValue, boolValue(up))
	if cs == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descCensusTime, prometheus.GaugeValue, float64(takenAt.UnixNano())/1e9)
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, o := range cs.Orders {
		gauge(descOrders, float64(o.N), o.Product, o.Status)
	}
	for _, w := range store.CensusWindows {
		gauge(descExpiring, float64(cs.Expiring[w]), windowLabel(w))
	}
	gauge(descMail, float64(cs.MailWaiting), "waiting")
	gauge(descMail, float64(cs.MailGivenUp), "given_up")
	oldest := 0.0
	if !cs.OldestMail.IsZero() {
		oldest = max(0, now.Sub(cs.OldestMail).Seconds())
	}
	gauge(descMailOldest, oldest)
	gauge(descDCVDue, float64(cs.DCVDue))
	for _, j := range cs.Jobs {
		gauge(descJobLag, max(0, now.Sub(j.NextAt).Seconds()), j.Kind)
		gauge(descJobFailures, float64(j.Attempts), j.Kind)
	}
	for _, crl := range cs.CRLs {
		gauge(descCRLAge, now.Sub(crl.ThisUpdate).Seconds(), crl.IssuerID)
		gauge(descCRLNext, crl.NextUpdate.Sub(now).Seconds(), crl.IssuerID)
	}
}

// windowLabel is 7d for a week.
func windowLabel(w time.Duration) string {
	return fmt.Sprintf("%dd", int(w/(24*time.Hour)))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

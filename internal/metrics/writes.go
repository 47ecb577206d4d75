package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certorder/certorder/internal/store"
)

// CountWrites serves st's write counters when st reports them
// (store.WriteCounter): the transactions committed, the calls group commit
// put into them, and on SQLite the pages written to the WAL. The store
// keeps them as it commits (a few atomic additions per transaction) and a
// scrape only reads them. The ratio of the first two is the group
// commit's batch size, and pages per order is the store's share of an
// order's disk writes (certorder bench prints both).
func (m *Metrics) CountWrites(st store.Store) {
	if m == nil {
		return
	}
	wc, ok := st.(store.WriteCounter)
	if !ok {
		return
	}
	m.Registry.MustRegister(&writeCollector{st: wc, pages: wc.WriteStats().Pages >= 0})
}

var (
	commitsDesc = prometheus.NewDesc("certorder_store_commits_total",
		"Store transactions committed by this process (group commit puts every call queued meanwhile into one).", nil, nil)
	callsDesc = prometheus.NewDesc("certorder_store_committed_calls_total",
		"Store calls (one each per order placed, per job run...) those transactions carried.", nil, nil)
	pagesDesc = prometheus.NewDesc("certorder_store_wal_pages_written_total",
		"Database pages this process's SQLite writer wrote to the write-ahead log (SQLite only).", nil, nil)
)

type writeCollector struct {
	st    store.WriteCounter
	pages bool // the store counts its pages
}

func (c *writeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- commitsDesc
	ch <- callsDesc
	if c.pages {
		ch <- pagesDesc
	}
}

func (c *writeCollector) Collect(ch chan<- prometheus.Metric) {
	ws := c.st.WriteStats()
	ch <- prometheus.MustNewConstMetric(commitsDesc, prometheus.CounterValue, float64(ws.Commits))
	ch <- prometheus.MustNewConstMetric(callsDesc, prometheus.CounterValue, float64(ws.Calls))
	if c.pages && ws.Pages >= 0 {
		ch <- prometheus.MustNewConstMetric(pagesDesc, prometheus.CounterValue, float64(ws.Pages))
	}
}

package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certorder/certorder/internal/store"
)

type countingStore struct {
	store.Store
	ws store.WriteStats
}

func (c *countingStore) WriteStats() store.WriteStats { return c.ws }

// TestCountWrites: a store that counts its writes has them served, read at
// each scrape; the pages only where the store counts them; a store that
// counts nothing adds no series.
func TestCountWrites(t *testing.T) {
	names := []string{"certorder_store_commits_total", "certorder_store_committed_calls_total", "certorder_store_wal_pages_written_total"}
	const counts = `
# HELP certorder_store_commits_total Store transactions committed by this process (group commit puts every call queued meanwhile into one).
# TYPE certorder_store_commits_total counter
certorder_store_commits_total 3
# HELP certorder_store_committed_calls_total Store calls (one each per order placed, per job run...) those transactions carried.
# TYPE certorder_store_committed_calls_total counter
certorder_store_committed_calls_total 7
`
	const pages = `# HELP certorder_store_wal_pages_written_total Database pages this process's SQLite writer wrote to the write-ahead log (SQLite only).
# TYPE certorder_store_wal_pages_written_total counter
certorder_store_wal_pages_written_total 40
`
	for _, tc := range []struct {
		name string
		st   store.Store
		want string
	}{
		{"sqlite", &countingStore{ws: store.WriteStats{Commits: 3, Calls: 7, Pages: 40}}, counts + pages},
		{"postgres", &countingStore{ws: store.WriteStats{Commits: 3, Calls: 7, Pages: -1}}, counts},
		{"no counters", struct{ store.Store }{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			m.CountWrites(tc.st)
			if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(tc.want), names...); err != nil {
				t.Error(err)
			}
			if cs, ok := tc.st.(*countingStore); ok {
				cs.ws.Commits++ // read again at the next scrape
				want := strings.Replace(tc.want, "certorder_store_commits_total 3", "certorder_store_commits_total 4", 1)
				if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), names...); err != nil {
					t.Errorf("after another commit: %v", err)
				}
			}
		})
	}
	var m *Metrics
	m.CountWrites(&countingStore{}) // nil metrics count nothing
}

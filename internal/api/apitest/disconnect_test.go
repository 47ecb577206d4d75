package apitest

import (
	"context"
	"crypto/elliptic"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/testenv"
)

// TestClientDisconnect: a client that gives up on a request while the
// server works on it is logged at INFO as a disconnected client, not at
// ERROR as an internal error.
//
// The order's transaction is held behind another one (the store's writer
// is held), the client cancels its request, and the writer is let go: the
// order's transaction then finds its request gone, as with a client that
// hangs up during a slow write. Should the client's request not yet have
// reached the server when it cancels, nothing is logged and the test
// tries again.
func TestClientDisconnect(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Log: slog.New(logs)})
	body := mustJSON(t, baseBody(testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")))
	for attempt := 1; !logs.has(slog.LevelInfo, "client disconnected"); attempt++ {
		if attempt > 5 {
			t.Fatalf("no disconnection logged in 5 attempts; logs:\n%s", logs)
		}
		release := storetest.HoldWriter(srv.App.Store, func(store.Tx) error { return nil })
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+orderPath+"ssl_securesite", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // the order reaches its transaction and waits
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("the client's request ended with %v, want its cancellation", err)
		}
		time.Sleep(100 * time.Millisecond) // the server sees the connection close
		if err := release(); err != nil {
			t.Fatal(err)
		}
		logs.await(slog.LevelInfo, "client disconnected", 2*time.Second)
	}
	if r, ok := logs.atLeast(slog.LevelError); ok {
		t.Errorf("logged at %s: %s", r.Level, r.Message)
	}
}

// recordedLogs is a slog handler that keeps every record.
type recordedLogs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordedLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordedLogs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordedLogs) WithGroup(string) slog.Handler            { return l }

func (l *recordedLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

func (l *recordedLogs) has(level slog.Level, msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level == level && r.Message == msg {
			return true
		}
	}
	return false
}

func (l *recordedLogs) await(level slog.Level, msg string, d time.Duration) {
	for end := time.Now().Add(d); !l.has(level, msg) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *recordedLogs) atLeast(level slog.Level) (slog.Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level >= level {
			return r, true
		}
	}
	return slog.Record{}, false
}

func (l *recordedLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.records {
		b.WriteString(r.Level.String() + " " + r.Message)
		r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
		b.WriteString("\n")
	}
	return b.String()
}

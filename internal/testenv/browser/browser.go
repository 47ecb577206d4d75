// Package browser runs the tests of certorder's pages whose scripts
// matter (the pickup page makes a key pair with WebCrypto) in a real
// headless Chromium, driven through the DevTools protocol (chromedp).
//
// One Chromium serves every test of a process: starting it costs about a
// second, a tab a few milliseconds. Each test gets its own tab in its own
// browser context, so cookies (the form nonce) never cross tests that run
// in parallel. A test skips, saying why, only when Chromium cannot start;
// everything after a start is a failure.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Flags are Chromium's command line: headless, no sandbox (tests and CI
// run as root, where Chromium's sandbox cannot start), and nothing that
// reaches the network on its own (the machine has only loopback).
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
}

// ExecEnv names an executable to use instead of the first of execNames on
// PATH.
const ExecEnv = "CERTORDER_CHROMIUM"

var execNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// TabTimeout bounds everything one test does in its tab.
const TabTimeout = 90 * time.Second

// Browser is the process's Chromium.
type Browser struct {
	ctx         context.Context // the browser's first target; tabs are its children
	cancel      func()
	cancelAlloc func()
	dir         string
}

var (
	mu       sync.Mutex
	shared   *Browser
	startErr error
)

func execPath() (string, error) {
	if p := os.Getenv(ExecEnv); p != "" {
		return p, nil
	}
	for _, n := range execNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %v is on PATH (install Debian's chromium, or set %s)", execNames, ExecEnv)
}

func start() (*Browser, error) {
	path, err := execPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "certorder-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(dir)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(actx)
	// The first action starts the process, which lives as long as the
	// context that action gets: bctx itself, bounded by a watchdog.
	watchdog := time.AfterFunc(30*time.Second, cancel)
	err = chromedp.Do(bctx, chromedp.Navigate("about:blank"))
	watchdog.Stop()
	if err != nil {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Browser{ctx: bctx, cancel: cancel, cancelAlloc: cancelAlloc, dir: dir}, nil
}

// Shared returns the process's Chromium, starting it on first use. When
// Chromium cannot start, the test is skipped with the reason (every later
// test too, without trying again).
func Shared(t testing.TB) *Browser {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil && startErr == nil {
		shared, startErr = start()
	}
	if startErr != nil {
		t.Skipf("Chromium cannot start, so this browser test does not run: %v", startErr)
	}
	return shared
}

// Tab opens a tab in a fresh browser context (its own cookies and
// storage), closed when the test ends; its context carries TabTimeout.
func (b *Browser) Tab(t testing.TB) context.Context {
	t.Helper()
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, stop := context.WithTimeout(tctx, TabTimeout)
	t.Cleanup(func() { stop(); cancel() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// Close stops Chromium and removes its profile directory. A package whose
// tests use the browser calls it from TestMain after m.Run.
func Close() {
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		return
	}
	shared.cancel()
	shared.cancelAlloc()
	_ = os.RemoveAll(shared.dir)
	shared, startErr = nil, errors.New("closed")
}

package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// signResult is one bare signing measurement: one key, signing SHA-256
// digests from `goroutines` goroutines for `elapsed`.
type signResult struct {
	alg        string // "ECDSA P-256", "RSA-2048"
	goroutines int
	sigs       int64
	elapsed    time.Duration
}

// perSec is the aggregate rate of all goroutines.
func (s signResult) perSec() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.sigs) / s.elapsed.Seconds()
}

// microsEach is the wall time one signature takes in one goroutine.
func (s signResult) microsEach() float64 {
	if s.sigs == 0 {
		return 0
	}
	return float64(s.elapsed.Microseconds()) * float64(s.goroutines) / float64(s.sigs)
}

// measureSigning signs with a fresh ECDSA P-256 and a fresh RSA-2048 key,
// as the issuing intermediates do (ECDSA with SHA-256, RSA PKCS #1 v1.5
// with SHA-256), first in one goroutine and then in GOMAXPROCS goroutines,
// each for d. It runs in this process, before any server is started.
func measureSigning(d time.Duration) ([]signResult, error) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte("certorder bench: a to-be-signed certificate stands here"))
	keys := []struct {
		alg  string
		sign func() error
	}{
		{"ECDSA P-256", func() error { _, err := ecdsa.SignASN1(rand.Reader, ec, digest[:]); return err }},
		{"RSA-2048", func() error { _, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, digest[:]); return err }},
	}
	procs := runtime.GOMAXPROCS(0)
	var out []signResult
	for _, k := range keys {
		// A few signatures first: tables, caches, the CPU's clock.
		for range 20 {
			if err := k.sign(); err != nil {
				return nil, fmt.Errorf("%s: %w", k.alg, err)
			}
		}
		for _, g := range []int{1, procs} {
			r, err := signFor(k.alg, g, d, k.sign)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// signFor runs sign in g goroutines until d has passed.
func signFor(alg string, g int, d time.Duration, sign func() error) (signResult, error) {
	var (
		n     atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	start := time.Now()
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := sign(); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
				n.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return signResult{}, fmt.Errorf("%s: %w", alg, first)
	}
	return signResult{alg: alg, goroutines: g, sigs: n.Load(), elapsed: elapsed}, nil
}

package main

// The HTTP floor of certorder bench: a child process that answers every
// order with the bytes of a real 201 answer and does nothing else. The
// same clients at the same concurrencies measure what loopback TCP,
// net/http on both ends and the Go runtime cost on this machine before
// certorder does any work, so a slow or noisy virtual machine shows in
// the floor's row as much as in certorder's, and certorder's share is the
// difference.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// benchFloorCmd is the hidden `certorder bench-floor --addr A --answer F`:
// POST answers 201 with the content of F, /healthz 200. The request body
// is read to its end, as the real server does, and thrown away.
func benchFloorCmd(args []string) error {
	fs := flag.NewFlagSet("bench-floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	answerFile := fs.String("answer", "", "file whose bytes every POST gets back with 201")
	if err := fs.Parse(args); err != nil {
		return err
	}
	setServerGCPercent()
	answer, err := os.ReadFile(*answerFile)
	if err != nil {
		return fmt.Errorf("bench-floor: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("bench-floor: %w", err)
	}
	srv := &http.Server{Handler: floorHandler(answer), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func floorHandler(answer []byte) http.Handler {
	length := strconv.Itoa(len(answer))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusOK) // /healthz
			return
		}
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusCreated)
		w.Write(answer)
	})
}

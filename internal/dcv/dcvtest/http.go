package dcvtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// HTTP is a real HTTP server on 127.0.0.1 serving by Host header (port ignored). The same
// content is also served over TLS (self-signed) on TLSPort, for https redirects.
type HTTP struct {
	plain, tls *httptest.Server

	mu     sync.Mutex
	routes map[route]http.Handler
	hits   map[route]int
}

type route struct{ host, path string }

func mkRoute(host, path string) route {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return route{strings.TrimSuffix(host, "."), path}
}

// StartHTTP starts the server, stopped with t.Cleanup.
func StartHTTP(t testing.TB) *HTTP {
	t.Helper()
	h := &HTTP{routes: map[route]http.Handler{}, hits: map[route]int{}}
	h.plain = httptest.NewServer(http.HandlerFunc(h.serve))
	h.tls = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() {
		// Close client connections first: a handler streaming an endless body would
		// otherwise hold Close.
		h.plain.CloseClientConnections()
		h.tls.CloseClientConnections()
		h.plain.Close()
		h.tls.Close()
	})
	return h
}

func port(s *httptest.Server) int {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// Port is the plain HTTP port, for dcv.Config.HTTPPort.
func (h *HTTP) Port() int { return port(h.plain) }

// TLSPort is the HTTPS port, for dcv.Config.HTTPSPort.
func (h *HTTP) TLSPort() int { return port(h.tls) }

// SetFile serves body at host and path with status 200; an empty body removes the route.
func (h *HTTP) SetFile(host, path, body string) {
	if body == "" {
		h.SetHandler(host, path, nil)
		return
	}
	h.SetHandler(host, path, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(body))
	}))
}

// Redirect answers host and path with code and a Location header.
func (h *HTTP) Redirect(host, path, location string, code int) {
	h.SetHandler(host, path, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	}))
}

// SetHandler serves host and path with handler (for status codes or endless bodies); nil
// removes the route.
func (h *HTTP) SetHandler(host, path string, handler http.Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if handler == nil {
		delete(h.routes, mkRoute(host, path))
	} else {
		h.routes[mkRoute(host, path)] = handler
	}
}

// Hits is how many requests for host and path were received (over HTTP and HTTPS).
func (h *HTTP) Hits(host, path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[mkRoute(host, path)]
}

func (h *HTTP) serve(w http.ResponseWriter, r *http.Request) {
	rt := mkRoute(r.Host, r.URL.Path)
	h.mu.Lock()
	h.hits[rt]++
	handler := h.routes[rt]
	h.mu.Unlock()
	if handler == nil {
		http.NotFound(w, r)
		return
	}
	handler.ServeHTTP(w, r)
}

// Package logging makes certorder's loggers: text or JSON lines, and the
// request ID of the HTTP request a line was logged for. The HTTP edge puts
// the ID in the request's context (and in the X-Request-ID answer header);
// every line logged with that context (slog's *Context methods) carries it
// as request_id, whichever package logs it, so that an operator can find
// all that one request did from the ID a client quotes.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
)

// Formats of New.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// New is a logger writing format lines of level and above to w.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case FormatText, "":
		h = slog.NewTextHandler(w, opts)
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("unknown log format %q (text or json)", format)
	}
	return slog.New(Wrap(h)), nil
}

// Wrap returns h adding the request ID of a record's context, h itself
// when it does so already.
func Wrap(h slog.Handler) slog.Handler {
	if _, ok := h.(idHandler); ok {
		return h
	}
	return idHandler{h}
}

// WrapLogger is l with Wrap's handler.
func WrapLogger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(idHandler); ok {
		return l
	}
	return slog.New(Wrap(l.Handler()))
}

type idHandler struct{ slog.Handler }

func (h idHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h idHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return idHandler{h.Handler.WithAttrs(as)}
}

func (h idHandler) WithGroup(name string) slog.Handler {
	return idHandler{h.Handler.WithGroup(name)}
}

type idKey struct{}

// WithRequestID is ctx carrying a request's ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// RequestID is the request ID of ctx, "" when it has none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// MaxRequestIDLen bounds a request ID a client sends.
const MaxRequestIDLen = 128

// SaneRequestID reports whether a client's X-Request-ID may be used as
// the request's ID: 1 to MaxRequestIDLen letters, digits and - _ . : @ /
// + = (UUIDs, hex and base64 IDs of proxies and tracing systems). Anything
// else is replaced by a fresh ID rather than copied into logs and headers.
func SaneRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '+' || c == '=':
		default:
			return false
		}
	}
	return true
}

// NewRequestID is a fresh random request ID (128 bits, hex).
func NewRequestID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

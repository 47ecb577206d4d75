package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/certorder/certorder/internal/errs"
)

// Requests net/http cannot parse never reach a handler. A path with a
// malformed %-escape (GET /services/v2/order/certificate/%zz), a bad
// header line, a missing Host, an unknown HTTP version or headers over the
// size limit are answered by http.Server itself, while it reads the
// request, with a plain-text body ("400 Bad Request") that clients cannot
// decode. Those answers are written straight to the connection, in one
// write, in a form no handler's answer has (no Date, Content-Type before
// Connection; a handler's headers come out sorted, with Date). Listener
// wraps the connections so that exactly those writes are replaced by the
// same status in CertCentral's envelope.

// Listener returns ln whose connections answer net/http's own refusals of
// unparsable requests in the JSON envelope.
func Listener(ln net.Listener) net.Listener { return envelopeListener{ln} }

type envelopeListener struct{ net.Listener }

func (l envelopeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &envelopeTCPConn{envelopeConn{tc}, tc}, nil
	}
	return envelopeConn{c}, nil
}

type envelopeConn struct{ net.Conn }

func (c envelopeConn) Write(b []byte) (int, error) {
	if out, ok := envelopeRefusal(b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// envelopeTCPConn keeps CloseWrite, with which http.Server ends a
// connection gracefully.
type envelopeTCPConn struct {
	envelopeConn
	tc *net.TCPConn
}

func (c *envelopeTCPConn) CloseWrite() error { return c.tc.CloseWrite() }

// refusalHeaders are the headers of every answer http.Server writes by
// itself to a request it could not read.
const refusalHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// envelopeRefusal turns one of http.Server's own refusals ("HTTP/1.1 400
// Bad Request" + refusalHeaders + text) into the envelope with the same
// status; ok is false for anything else.
func envelopeRefusal(b []byte) (out []byte, ok bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(b, []byte(proto)) {
		return nil, false
	}
	// Every answer's first write begins with a status line; only the
	// refusals have these headers right after it (a handler's start with
	// Connection or Content-Length, sorted, and always carry Date).
	i := bytes.Index(b, []byte("\r\n"))
	if i < len(proto)+3 || !bytes.HasPrefix(b[i:], []byte(refusalHeaders)) {
		return nil, false
	}
	status, err := strconv.Atoi(string(b[len(proto) : len(proto)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	// http.Server's reason, when it gives one ("400 Bad Request: missing
	// required Host header"), is fixed text of its own, never the request's.
	reason := ""
	if _, r, found := bytes.Cut(b[:i], []byte(": ")); found {
		reason = " (" + string(r) + ")"
	} else if text := string(b[i+len(refusalHeaders):]); text != string(b[len(proto):i]) {
		reason = " (" + text + ")" // "Unsupported transfer encoding"
	}
	e := errs.New(errs.Invalid, "bad_request_format", "The request could not be read: its request line, URL or headers are malformed%s.", reason)
	if status == http.StatusRequestHeaderFieldsTooLarge {
		e = errs.New(errs.TooLarge, "request_too_large", "The request's headers are too large.")
	}
	body, err := json.Marshal(map[string]any{"errors": e.Details})
	if err != nil {
		return nil, false
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body), true
}

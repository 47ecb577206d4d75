// Package errs is the one typed error that travels from the order rules and
// the store up to the HTTP edge, where it becomes CertCentral's envelope
// {"errors":[{"code":..,"message":..}]}. Inner packages say what went wrong
// (the Kind) and the API code; only internal/api chooses HTTP statuses.
package errs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies an error for the HTTP edge.
type Kind int

const (
	// Internal is anything unexpected; its detail is logged, never shown.
	Internal     Kind = iota
	Invalid           // 400: the request broke a documented rule
	Unauthorized      // 403 access_denied|access_denied_invalid_key (as the live API answers)
	Forbidden         // 403 access_denied|missing_permission
	NotFound          // 404
	Conflict          // 400 like CertCentral: the object is in a state that forbids the change
	TooLarge          // 413
	RateLimited       // 429
	Unavailable       // 503
)

// Detail is one {code, message} pair of the envelope.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the typed error. Several details may be carried at once, as the
// API returns all validation failures of a request together.
type Error struct {
	Kind    Kind
	Details []Detail
	// Cause is kept for logs and errors.Is; it is never sent to clients.
	Cause error
	// RetryAfter, when positive, is how long the client should wait before
	// trying again (a rate limit, an unavailable store); the edge sends it
	// as Retry-After in whole seconds, rounded up.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Details {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Code)
		b.WriteString(": ")
		b.WriteString(d.Message)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// New makes an error of one detail.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Details: []Detail{{Code: code, Message: fmt.Sprintf(format, args...)}}}
}

// Wrap makes an error of one detail that keeps cause for the logs.
func Wrap(cause error, kind Kind, code, format string, args ...any) *Error {
	e := New(kind, code, format, args...)
	e.Cause = cause
	return e
}

// InvalidValue is CertCentral's field-validation family: invalid_value:<field>.
func InvalidValue(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if msg == "" {
		msg = field + " contains an invalid value."
	}
	return New(Invalid, "invalid_value:"+field, "%s", msg)
}

// MissingField reports a required field that is absent or empty.
// [not found] in the spec: CertCentral's exact code for this case is not
// documented; we follow the invalid_value family's colon form.
func MissingField(field string) *Error {
	return New(Invalid, "missing_field:"+field, "%s is required.", field)
}

// NotFoundf is a 404 with a pipe sub-reason, e.g. not_found|order.
func NotFoundf(what, format string, args ...any) *Error {
	return New(NotFound, "not_found|"+what, format, args...)
}

// Internalf wraps an unexpected failure with context for the logs.
func Internalf(cause error, format string, args ...any) *Error {
	return Wrap(fmt.Errorf(format+": %w", append(args, cause)...), Internal, "internal_error", "An internal error occurred.")
}

// OrInternal passes a typed error of a rule through and wraps anything
// else (a store failure) as an internal error, with what for the logs; nil
// stays nil.
func OrInternal(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internalf(err, format, args...)
}

// List collects validation failures so that a request is answered with all
// of them at once.
type List struct {
	details []Detail
	// failure is the first error that is no verdict on the request: a
	// check that could not be made (Internal: the store failed it;
	// Unavailable: the store or a relay is down).
	failure error
}

// Add appends the details of err (which should be an *Error).
func (l *List) Add(err error) {
	if err == nil {
		return
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == Internal || e.Kind == Unavailable {
			if l.failure == nil {
				l.failure = err
			}
			return
		}
		l.details = append(l.details, e.Details...)
		return
	}
	l.details = append(l.details, Detail{Code: "invalid_value", Message: err.Error()})
}

// Err returns nil when nothing was added. A check that could not be made
// wins over the failures found: the request was not judged in full, and
// its error keeps its cause (an unavailable store is told as such, not as
// a 400).
func (l *List) Err() error {
	if l.failure != nil {
		return l.failure
	}
	if len(l.details) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Details: l.details}
}

// As extracts an *Error, turning anything else into an Internal one.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Details: []Detail{{Code: "internal_error", Message: "An internal error occurred."}}, Cause: err}
}

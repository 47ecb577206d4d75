package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestSaneRequestID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"", false},
		{"0f8e2a4c-9b1d-4e6f-8a3b-2c5d7e9f1a0b", true},
		{"req_01HZX.abc:1@edge/2+3=", true},
		{strings.Repeat("a", MaxRequestIDLen), true},
		{strings.Repeat("a", MaxRequestIDLen+1), false},
		{"has space", false},
		{"line\nbreak", false},
		{`quote"`, false},
		{"ünïcode", false},
		{"semi;colon", false},
	} {
		if got := SaneRequestID(tc.id); got != tc.want {
			t.Errorf("SaneRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	if id := NewRequestID(); !SaneRequestID(id) || len(id) != 32 || id == NewRequestID() {
		t.Errorf("NewRequestID() = %q: want 32 fresh hex characters", id)
	}
}

// TestNewFormats: both formats log the request ID of the context, once
// even through a logger with attributes and a group; another format is
// refused.
func TestNewFormats(t *testing.T) {
	for _, format := range []string{FormatText, FormatJSON} {
		var buf bytes.Buffer
		log, err := New(&buf, format, slog.LevelInfo)
		if err != nil {
			t.Fatal(err)
		}
		log = WrapLogger(log.With("component", "api"))
		ctx := WithRequestID(context.Background(), "abc-123")
		log.InfoContext(ctx, "hello", "n", 1)
		log.Info("no request")
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines: %q", format, len(lines), buf.String())
		}
		if format == FormatJSON {
			var m map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
				t.Fatalf("json line: %v: %s", err, lines[0])
			}
			if m["request_id"] != "abc-123" || m["msg"] != "hello" || m["component"] != "api" {
				t.Errorf("json line = %v", m)
			}
		} else if strings.Count(lines[0], "request_id=abc-123") != 1 {
			t.Errorf("text line = %q", lines[0])
		}
		if strings.Contains(lines[1], "request_id") {
			t.Errorf("%s: a line without a request has a request_id: %q", format, lines[1])
		}
	}
	if _, err := New(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error("New accepted log format xml")
	}
}

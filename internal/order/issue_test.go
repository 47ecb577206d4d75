package order

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestLintWarningsLoggedOnce: a profile's set of lint warnings is logged at
// warning level once; the same set again, at debug level; another set, at
// warning level again.
func TestLintWarningsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	s := &Service{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	profile := "test_profile_" + t.Name()
	for _, tc := range []struct {
		warnings []string
		level    string
	}{
		{[]string{"w_a: x", "w_b: y"}, "level=WARN"},
		{[]string{"w_a: x", "w_b: y"}, "level=DEBUG"},
		{[]string{"w_a: x"}, "level=WARN"},
		{[]string{"w_a: x"}, "level=DEBUG"},
	} {
		buf.Reset()
		s.logLintWarnings(context.Background(), profile, "01", tc.warnings)
		if !strings.Contains(buf.String(), tc.level) {
			t.Errorf("warnings %q logged as %q, want %s", tc.warnings, buf.String(), tc.level)
		}
	}
}

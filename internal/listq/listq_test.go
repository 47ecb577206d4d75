package listq

import (
	"testing"
	"time"
)

func TestParseTimeRange(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var zero time.Time
	cases := []struct {
		in       string
		from, to time.Time
		bad      bool
	}{
		{in: "2024-01-01...2024-01-07", from: d("2024-01-01T00:00:00Z"), to: d("2024-01-08T00:00:00Z")},
		{in: "2024-01-01 10:00:00...2024-01-01 11:30:00", from: d("2024-01-01T10:00:00Z"), to: d("2024-01-01T11:30:01Z")},
		{in: "2024-01-01+10:00:00...2024-01-01+11:30:00", from: d("2024-01-01T10:00:00Z"), to: d("2024-01-01T11:30:01Z")},
		{in: "24-01-01 10:00:00...24-01-02 10:00:00", from: d("2024-01-01T10:00:00Z"), to: d("2024-01-02T10:00:01Z")},
		// Keyfactor's range, unpadded, with "+" as sent (%2B) or as a decoded query string makes it.
		{in: "2026-12-5+10:19:5...2026-12-5+11:0:0", from: d("2026-12-05T10:19:05Z"), to: d("2026-12-05T11:00:01Z")},
		{in: "2026-12-5 10:19:5...2026-12-5 11:0:0", from: d("2026-12-05T10:19:05Z"), to: d("2026-12-05T11:00:01Z")},
		{in: "26-1-5+9:5:0...26-1-5+9:6:0", from: d("2026-01-05T09:05:00Z"), to: d("2026-01-05T09:06:01Z")},
		{in: "2026-2-3...2026-2-4", from: d("2026-02-03T00:00:00Z"), to: d("2026-02-05T00:00:00Z")},
		{in: "2026-12-5T10:19:5", from: d("2026-12-05T10:19:05Z"), to: d("2026-12-05T10:19:06Z")},
		{in: "2026-12-5+25:00:00", bad: true},
		{in: "2026-12-32", bad: true},
		{in: "2024-01-01T10:00:00-06:00...2024-01-01T12:00:00-06:00", from: d("2024-01-01T16:00:00Z"), to: d("2024-01-01T18:00:01Z")},
		{in: "2024-01-01", from: d("2024-01-01T00:00:00Z"), to: d("2024-01-02T00:00:00Z")},
		{in: ">2024-01-01", from: d("2024-01-02T00:00:00Z"), to: zero},
		{in: ">=2024-01-01", from: d("2024-01-01T00:00:00Z"), to: zero},
		{in: "<2024-01-01", from: zero, to: d("2024-01-01T00:00:00Z")},
		{in: "<=2024-01-01", from: zero, to: d("2024-01-02T00:00:00Z")},
		{in: "2024-01-01...", from: d("2024-01-01T00:00:00Z"), to: zero},
		{in: "...2024-01-01", from: zero, to: d("2024-01-02T00:00:00Z")},
		{in: "2024-01-07...2024-01-01", bad: true},
		{in: "soon", bad: true},
		{in: "2024-13-01", bad: true},
		{in: ">", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := TimeRange(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.From.Equal(tc.from) || !got.To.Equal(tc.to) {
				t.Fatalf("got %v..%v, want %v..%v", got.From, got.To, tc.from, tc.to)
			}
		})
	}
}

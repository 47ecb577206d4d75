package api

import (
	"net/http"
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
			got, err := parseTimeRange(tc.in)
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

func TestWantsCSV(t *testing.T) {
	cases := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"*/*"}, false},
		{[]string{"text/csv"}, true},
		{[]string{"TEXT/CSV"}, true},
		{[]string{"text/csv; charset=utf-8"}, true},
		{[]string{"application/json;q=0.9, text/csv"}, true},
		{[]string{"application/json", "text/csv"}, true},
		{[]string{"text/csv;q=0"}, false},
		{[]string{"text/csvx"}, false},
	}
	for _, tc := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, a := range tc.accept {
			r.Header.Add("Accept", a)
		}
		if got := wantsCSV(r); got != tc.want {
			t.Errorf("Accept %q: wantsCSV = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

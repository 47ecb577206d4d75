package api

import (
	"net/http"
	"testing"
)

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

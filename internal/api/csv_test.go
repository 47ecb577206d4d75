package api

import (
	"encoding/csv"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestCSVCells: a cell a spreadsheet would take for a formula is turned
// into text; numbers certorder writes, negative ones included, and every
// other cell stay as they are.
func TestCSVCells(t *testing.T) {
	cases := []struct{ col, in, want string }{
		{"common_name", "=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"alternative_order_id", "+1+1", "'+1+1"},
		{"comments", "-2+3", "'-2+3"},
		{"comments", "@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"comments", "\tx", "'\tx"},
		{"comments", "\rx", "'\rx"},
		{"comments", "a=b", "a=b"},
		{"comments", "", ""},
		{"organization_name", "'quoted", "'quoted"},
		{"date_created", "2026-03-15T10:00:00+00:00", "2026-03-15T10:00:00+00:00"},
		{"days_remaining", "-3", "-3"},
		{"id", "42", "42"},
		{"price", "-0.50", "-0.50"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		if err := writeCSV(rec, []string{"x", tc.col}, [][]string{{"1", tc.in}}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if want := [][]string{{"x", tc.col}, {"1", tc.want}}; !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("%s %q: CSV %q, want %q", tc.col, tc.in, rows, want)
		}
	}
}

package order

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// TestValidityOneRule: every product takes every validity form, with its
// own bounds, and every date field every date form.
func TestValidityOneRule(t *testing.T) {
	now := time.Date(2026, 3, 20, 15, 4, 5, 0, time.UTC)
	day := func(n int) string { return now.AddDate(0, 0, n).Format(time.DateOnly) }
	plan := func(n int) string { return now.AddDate(0, 0, n).Format("02 Jan 2006") }
	for _, tc := range []struct {
		name, product, body string
		till                string // yyyy-MM-dd of the order's end
		codes               []string
	}{
		// Secure Site OV/EV (seed 000) also takes the plan forms.
		{name: "OV order_validity years", product: "ssl_securesite", body: `{"order_validity":{"years":2}}`, till: day(365 + 366)},
		{name: "OV order_validity years as a string", product: "ssl_ev_securesite", body: `{"order_validity":{"years":"1"}}`, till: day(365)},
		{name: "OV order_validity days", product: "ssl_securesite", body: `{"order_validity":{"days":90}}`, till: day(90)},
		{name: "OV order_validity days over the OV bound", product: "ssl_securesite", body: `{"order_validity":{"days":825}}`,
			codes: []string{"invalid_value:order_validity"}},
		{name: "OV order_validity years 3", product: "ssl_securesite", body: `{"order_validity":{"years":3}}`,
			codes: []string{"invalid_value:order_validity"}},
		{name: "OV order_validity plan date", product: "ssl_securesite", body: `{"order_validity":{"custom_expiration_date":"` + plan(100) + `"}}`, till: day(100)},
		{name: "OV order_validity wins over validity_years", product: "ssl_securesite", body: `{"order_validity":{"days":30},"validity_years":2}`, till: day(30)},
		{name: "OV empty order_validity", product: "ssl_securesite", body: `{"order_validity":{}}`, codes: []string{"missing_field:order_validity.years"}},
		{name: "OV nothing", product: "ssl_securesite", body: `{}`, codes: []string{"missing_field:validity_years"}},
		{name: "OV validity_years", product: "ssl_securesite", body: `{"validity_years":1}`, till: day(365)},
		{name: "OV validity_days 824", product: "ssl_securesite", body: `{"validity_days":824}`, till: day(824)},
		{name: "OV validity_days 825", product: "ssl_securesite", body: `{"validity_days":825}`, codes: []string{"invalid_value:validity_days"}},
		// Keyfactor's gateway: a full ISO 8601 date-time beside validity_years 0.
		{name: "OV ISO date-time with fraction and offset", product: "ssl_securesite",
			body: `{"custom_expiration_date":"` + day(40) + `T14:12:00.1234567+00:00","validity_years":0}`, till: day(40)},
		{name: "OV ISO date-time names its own calendar date", product: "ssl_securesite",
			body: `{"custom_expiration_date":"` + day(40) + `T23:30:00-05:00"}`, till: day(40)},
		{name: "OV ISO date-time Z", product: "ssl_securesite", body: `{"custom_expiration_date":"` + day(40) + `T00:00:00Z"}`, till: day(40)},
		{name: "OV plan date at top level", product: "ssl_securesite", body: `{"custom_expiration_date":"` + plan(60) + `"}`, till: day(60)},
		{name: "OV date 825 days", product: "ssl_securesite", body: `{"custom_expiration_date":"` + day(825) + `"}`,
			codes: []string{"invalid_value:custom_expiration_date"}},
		{name: "OV date today", product: "ssl_securesite", body: `{"custom_expiration_date":"` + day(0) + `"}`,
			codes: []string{"invalid_value:custom_expiration_date"}},
		{name: "OV date garbage", product: "ssl_securesite", body: `{"custom_expiration_date":"05/01/2027"}`,
			codes: []string{"invalid_value:custom_expiration_date"}},
		{name: "OV validity_years 0 alone", product: "ssl_securesite", body: `{"validity_years":0}`, codes: []string{"invalid_value:validity_years"}},
		// Client certificates (seed 003) likewise.
		{name: "client order_validity years", product: "client_premium", body: `{"order_validity":{"years":2}}`, till: day(365 + 366)},
		{name: "client plan date", product: "client_premium", body: `{"custom_expiration_date":"` + plan(30) + `"}`, till: day(30)},
		// The plan products (seeds 001, 002, 004) take the other dates too.
		{name: "DV order_validity yyyy-MM-dd", product: "ssl_dv_geotrust", body: `{"order_validity":{"custom_expiration_date":"` + day(30) + `"}}`, till: day(30)},
		{name: "DV order_validity ISO date-time", product: "ssl_dv_geotrust",
			body: `{"order_validity":{"custom_expiration_date":"` + day(30) + `T08:00:00.5+02:00"}}`, till: day(30)},
		{name: "DV top-level plan date", product: "ssl_dv_geotrust", body: `{"custom_expiration_date":"` + plan(30) + `"}`, till: day(30)},
		{name: "DV days 1095", product: "ssl_dv_geotrust", body: `{"validity_days":1095}`, till: day(1095)},
		{name: "DV nothing", product: "ssl_dv_geotrust", body: `{}`, codes: []string{"missing_field:order_validity"}},
		{name: "code signing yyyy-MM-dd in order_validity", product: "code_signing", body: `{"order_validity":{"custom_expiration_date":"` + day(200) + `"}}`, till: day(200)},
		{name: "X9 days 398", product: "x9_pki", body: `{"order_validity":{"days":398}}`, codes: []string{"invalid_value:order_validity"}},
		{name: "DV cert_validity yyyy-MM-dd", product: "ssl_dv_geotrust",
			body: `{"order_validity":{"years":1},"certificate":{"cert_validity":{"custom_expiration_date":"` + day(45) + `"}}}`, till: day(365)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			product, ok := catalog.Lookup(tc.product)
			if !ok {
				t.Fatalf("no product %s", tc.product)
			}
			var in CreateInput
			if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
				t.Fatal(err)
			}
			var o store.Order
			var list errs.List
			checkValidity(product, &in, &o, now, &list)
			var codes []string
			if err := list.Err(); err != nil {
				for _, d := range errs.As(err).Details {
					codes = append(codes, d.Code)
				}
			}
			if !slices.Equal(codes, tc.codes) {
				t.Fatalf("codes %q, want %q", codes, tc.codes)
			}
			if tc.codes == nil {
				if got := o.OrderValidTill.Format(time.DateOnly); got != tc.till {
					t.Errorf("order ends %s, want %s", got, tc.till)
				}
			}
		})
	}
}

func TestParseValidityDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when refused
	}{
		{"2026-05-01", "2026-05-01"},
		{" 2026-05-01 ", "2026-05-01"},
		{"01 MAY 2026", "2026-05-01"},
		{"01 may 2026", "2026-05-01"},
		{"2026-05-01T14:12:00.1234567+00:00", "2026-05-01"},
		{"2026-05-01T14:12:00+0000", "2026-05-01"},
		{"2026-05-01T14:12:00", "2026-05-01"},
		{"2026-05-01T23:59:59-08:00", "2026-05-01"},
		{"2026-05-01 14:12:00", "2026-05-01"},
		{"05/01/2026", ""},
		{"2026-02-30", ""},
		{"31 FEB 2027", ""},
		{"", ""},
	} {
		d, ok := parseValidityDate(tc.in)
		got := ""
		if ok {
			got = d.Format(time.DateOnly)
		}
		if got != tc.want {
			t.Errorf("parseValidityDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

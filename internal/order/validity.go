package order

import (
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/store"
)

// planDateLayout is the dd MMM YYYY of order_validity and cert_validity
// ("09 JUN 2025"); month names parse in any case.
const planDateLayout = "02 Jan 2006"

// maxFirstCertDays bounds cert_validity as seed 001 documents it; the
// CA/Browser Forum limit in force then shortens the certificate further.
const maxFirstCertDays = 397

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// dateTimeLayouts are the ISO 8601 date-times a date field also takes
// (Keyfactor's gateway sends "2026-05-01T14:12:00.1234567+00:00"); a
// fraction of any length parses after the seconds of each.
var dateTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// parseValidityDate reads an end date in any of the forms the seeds use
// for one family or another: yyyy-MM-dd (seeds 000, 002, 003), dd MMM
// YYYY (order_validity and cert_validity of seeds 001, 002, 004), or an
// ISO 8601 date-time, whose calendar date as written counts (the date the
// client named, in its own offset). The result is that day's midnight UTC.
func parseValidityDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, l := range append([]string{time.DateOnly, planDateLayout}, dateTimeLayouts...) {
		if t, err := time.Parse(l, v); err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

const dateForms = "a date like 2025-06-09 or 09 JUN 2025"

// maxOrderDays is the longest order of the product in days: the plan
// products' own bound (seeds 001, 002, 004), or one day under the "less
// than 825 days in the future" of seeds 000 and 003.
func maxOrderDays(product catalog.Product) int {
	if product.OrderValidity {
		return product.MaxOrderDays
	}
	return product.MaxCustomDays - 1
}

// checkValidity sets the order's end (and the first certificate's, when
// asked). It is one rule for every family. The forms, first given first
// served:
//
//	order_validity {custom_expiration_date > days > years}   seeds 001, 002, 004
//	custom_expiration_date                                  every seed (deprecated in 001, 002)
//	validity_days                                           seeds 000, 001
//	validity_years                                          every seed
//
// Each seed documents some of them, but clients send the forms of the
// family they were written for to every product (SAP's clients and a
// Terraform provider send order_validity to Secure Site), so every product
// takes all of them, each with the product's bounds: its years and its
// longest order in days. Every date field takes every date form
// (parseValidityDate). Without any of them the field the product's seed
// requires is missing: order_validity for the plan products,
// validity_years for the others.
func checkValidity(product catalog.Product, in *CreateInput, o *store.Order, now time.Time, list *errs.List) {
	if !checkOrderValidity(product, in, o, now, list) {
		return
	}
	if product.Family == catalog.FamilyDV && in.Certificate != nil && in.Certificate.CertValidity != nil {
		checkCertValidity(in.Certificate.CertValidity, o, now, list)
	}
}

// checkOrderValidity applies the forms of checkValidity to the order's
// end; false when they are refused or absent (the reason is in list).
func checkOrderValidity(product catalog.Product, in *CreateInput, o *store.Order, now time.Time, list *errs.List) bool {
	today := midnight(now)
	maxDays := maxOrderDays(product)
	maxEnd := today.AddDate(0, 0, maxDays)
	bad := func(field, format string, args ...any) bool {
		list.Add(errs.InvalidValue(field, format, args...))
		return false
	}
	// Each form, under the name errors give it (errors about a member of
	// order_validity name the object, as for every nested field).
	date := func(field, name, v string) bool {
		d, ok := parseValidityDate(v)
		if !ok {
			return bad(field, "%s must be %s.", name, dateForms)
		}
		if !d.After(today) || d.After(maxEnd) {
			return bad(field, "%s must be after today and at most %d days away.", name, maxDays)
		}
		o.CustomExpirationDate = d.Format(time.DateOnly)
		o.OrderValidTill = d
		return true
	}
	days := func(field, name string, n flex.Int) bool {
		if n.Bad || n.V < 1 || n.V > int64(maxDays) {
			return bad(field, "%s must be between 1 and %d.", name, maxDays)
		}
		o.ValidityDays = int(n.V)
		o.OrderValidTill = today.AddDate(0, 0, o.ValidityDays)
		return true
	}
	years := func(field, name string, n flex.Int) bool {
		if n.Bad || !containsInt(product.ValidityYears, n.V) {
			return bad(field, "%s must be %s.", name, yearsText(product.ValidityYears))
		}
		o.ValidityYears = int(n.V)
		o.OrderValidTill = today.AddDate(o.ValidityYears, 0, 0)
		return true
	}
	given := func(n flex.Int) bool { return n.Set || n.Bad }

	if ov := in.OrderValidity; ov != nil {
		rec := &store.Validity{}
		o.Extra.OrderValidity = rec
		switch v := strings.TrimSpace(ov.CustomExpirationDate); {
		case v != "":
			rec.CustomExpirationDate = v
			return date("order_validity", "order_validity.custom_expiration_date", v)
		case given(ov.Days):
			rec.Days = int(ov.Days.V)
			return days("order_validity", "order_validity.days", ov.Days)
		case given(ov.Years):
			rec.Years = int(ov.Years.V)
			return years("order_validity", "order_validity.years", ov.Years)
		default:
			list.Add(errs.MissingField("order_validity.years"))
			return false
		}
	}
	switch v := strings.TrimSpace(in.CustomExpirationDate); {
	case v != "":
		return date("custom_expiration_date", "custom_expiration_date", v)
	case given(in.ValidityDays):
		return days("validity_days", "validity_days", in.ValidityDays)
	case given(in.ValidityYears):
		return years("validity_years", "validity_years", in.ValidityYears)
	case product.OrderValidity:
		list.Add(errs.MissingField("order_validity"))
	default:
		list.Add(errs.MissingField("validity_years"))
	}
	return false
}

// checkCertValidity applies certificate.cert_validity of a DV order: the
// first certificate may end before the order, never after it. A span the
// seed allows (397 days) but today's CA/Browser Forum limit does not is
// shortened to the limit rather than refused, as clients written for the
// seed still send 397.
func checkCertValidity(cv *ValidityInput, o *store.Order, now time.Time, list *errs.List) {
	today := midnight(now)
	rec := &store.Validity{}
	var end time.Time
	switch date := strings.TrimSpace(cv.CustomExpirationDate); {
	case date != "":
		d, ok := parseValidityDate(date)
		if !ok {
			list.Add(errs.InvalidValue("cert_validity", "cert_validity.custom_expiration_date must be %s.", dateForms))
			return
		}
		if !d.After(today) || d.After(today.AddDate(0, 0, maxFirstCertDays)) {
			list.Add(errs.InvalidValue("cert_validity", "cert_validity.custom_expiration_date must be after today and within %d days.", maxFirstCertDays))
			return
		}
		rec.CustomExpirationDate, end = date, d
	case cv.Days.Set || cv.Days.Bad:
		if cv.Days.Bad || cv.Days.V < 1 || cv.Days.V > maxFirstCertDays {
			list.Add(errs.InvalidValue("cert_validity", "cert_validity.days must be between 1 and %d.", maxFirstCertDays))
			return
		}
		rec.Days, end = int(cv.Days.V), today.AddDate(0, 0, int(cv.Days.V))
	case cv.Years.Set || cv.Years.Bad:
		if cv.Years.Bad || cv.Years.V != 1 {
			list.Add(errs.InvalidValue("cert_validity", "cert_validity.years must be 1."))
			return
		}
		rec.Years = 1
		end = today.AddDate(1, 0, 0)
	default:
		return
	}
	if end.After(o.OrderValidTill) {
		list.Add(errs.New(errs.Invalid, "cert_validity_exceeds_order_validity",
			"The certificate validity (until %s) cannot exceed the order validity (until %s).",
			end.Format(time.DateOnly), o.OrderValidTill.Format(time.DateOnly)))
		return
	}
	o.Extra.CertValidity = rec
	if rec.Years == 0 {
		o.CertValidTill = end // years: 1 means "the longest allowed"
	}
}

// MaxCertValidityDays is the longest certificate of the product issued at
// nb, in whole days, for GET /product.
func MaxCertValidityDays(product catalog.Product, nb time.Time) int {
	const day = 24 * time.Hour
	return int((maxCertValidity(product, nb) + day - 1) / day)
}

// maxCertValidity is the notAfter-notBefore span certorder gives a
// certificate of the product issued at nb: a validity period one day under
// the industry limit that applies to it, as CertCentral does for TLS (199
// days while the limit is 200). Limits and periods are both counted
// inclusively (notAfter - notBefore + 1 s), so the span is the limit's
// span less a day.
func maxCertValidity(product catalog.Product, nb time.Time) time.Duration {
	const day = 24 * time.Hour
	if product.Purpose == catalog.PurposePrivateTLS {
		return policy.MaxPrivateTLSValidity - day // not publicly trusted: SC-081 does not shorten it
	}
	switch product.Family {
	case catalog.FamilyCodeSigning:
		return policy.MaxCodeSigningValidity(nb) - day
	case catalog.FamilyClient:
		return policy.MaxSMIMEValidity - day
	case catalog.FamilyX9:
		return policy.MaxX9Validity - day
	default:
		return policy.IssueTLSValidity(nb)
	}
}

func yearsText(ys []int) string {
	if len(ys) == 0 {
		return "unavailable"
	}
	if len(ys) == 1 {
		return strconv.Itoa(ys[0])
	}
	return strconv.Itoa(ys[0]) + "–" + strconv.Itoa(ys[len(ys)-1])
}

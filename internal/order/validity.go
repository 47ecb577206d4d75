package order

import (
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
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

// checkValidity sets the order's end (and the first certificate's, when
// asked) from whichever validity model the product's seed uses.
func (s *Service) checkValidity(product catalog.Product, in *CreateInput, o *store.Order, now time.Time, list *errs.List) {
	if !product.OrderValidity {
		s.checkLegacyValidity(product, in, o, now, list)
		return
	}
	if !s.checkOrderValidity(product, in, o, now, list) {
		return
	}
	if product.Family == catalog.FamilyDV && in.Certificate != nil && in.Certificate.CertValidity != nil {
		checkCertValidity(in.Certificate.CertValidity, o, now, list)
	}
}

// checkOrderValidity applies the multi-year plan model (seeds 001, 002,
// 004): order_validity {custom_expiration_date > days > years}; without it
// the deprecated top-level custom_expiration_date (yyyy-MM-dd) >
// validity_days > validity_years, with the same bounds.
func (s *Service) checkOrderValidity(product catalog.Product, in *CreateInput, o *store.Order, now time.Time, list *errs.List) bool {
	today := midnight(now)
	maxEnd := today.AddDate(0, 0, product.MaxOrderDays)
	years := yearsText(product.ValidityYears)
	bad := func(field, format string, args ...any) bool {
		list.Add(errs.InvalidValue(field, format, args...))
		return false
	}
	ov := in.OrderValidity
	legacyDate := strings.TrimSpace(in.CustomExpirationDate)
	switch {
	case ov != nil:
		rec := &store.Validity{}
		o.Extra.OrderValidity = rec
		switch date := strings.TrimSpace(ov.CustomExpirationDate); {
		case date != "":
			d, err := time.Parse(planDateLayout, date)
			if err != nil {
				return bad("order_validity", "order_validity.custom_expiration_date must be a date like 09 JUN 2025.")
			}
			if !d.After(today) || d.After(maxEnd) {
				return bad("order_validity", "order_validity.custom_expiration_date must be after today and within %d days.", product.MaxOrderDays)
			}
			rec.CustomExpirationDate = date
			o.CustomExpirationDate = d.Format(time.DateOnly)
			o.OrderValidTill = d
		case ov.Days.Set || ov.Days.Bad:
			if ov.Days.Bad || ov.Days.V < 1 || ov.Days.V > int64(product.MaxOrderDays) {
				return bad("order_validity", "order_validity.days must be between 1 and %d.", product.MaxOrderDays)
			}
			rec.Days = int(ov.Days.V)
			o.ValidityDays = rec.Days
			o.OrderValidTill = today.AddDate(0, 0, rec.Days)
		case ov.Years.Set || ov.Years.Bad:
			if ov.Years.Bad || !containsInt(product.ValidityYears, ov.Years.V) {
				return bad("order_validity", "order_validity.years must be %s.", years)
			}
			rec.Years = int(ov.Years.V)
			o.ValidityYears = rec.Years
			o.OrderValidTill = today.AddDate(rec.Years, 0, 0)
		default:
			list.Add(errs.MissingField("order_validity.years"))
			return false
		}
	case legacyDate != "":
		d, err := time.Parse(time.DateOnly, legacyDate)
		if err != nil {
			return bad("custom_expiration_date", "custom_expiration_date must be a date in yyyy-MM-dd format.")
		}
		if !d.After(today) || d.After(maxEnd) {
			return bad("custom_expiration_date", "custom_expiration_date must be after today and within %d days.", product.MaxOrderDays)
		}
		o.CustomExpirationDate = legacyDate
		o.OrderValidTill = d
	case in.ValidityDays.Set || in.ValidityDays.Bad:
		if in.ValidityDays.Bad || in.ValidityDays.V < 1 || in.ValidityDays.V > int64(product.MaxOrderDays) {
			return bad("validity_days", "validity_days must be between 1 and %d.", product.MaxOrderDays)
		}
		o.ValidityDays = int(in.ValidityDays.V)
		o.OrderValidTill = today.AddDate(0, 0, o.ValidityDays)
	case in.ValidityYears.Set || in.ValidityYears.Bad:
		if in.ValidityYears.Bad || !containsInt(product.ValidityYears, in.ValidityYears.V) {
			return bad("validity_years", "validity_years must be %s.", years)
		}
		o.ValidityYears = int(in.ValidityYears.V)
		o.OrderValidTill = today.AddDate(o.ValidityYears, 0, 0)
	default:
		list.Add(errs.MissingField("order_validity"))
		return false
	}
	return true
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
		d, err := time.Parse(planDateLayout, date)
		if err != nil {
			list.Add(errs.InvalidValue("cert_validity", "cert_validity.custom_expiration_date must be a date like 09 JUN 2025."))
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

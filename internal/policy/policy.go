// Package policy holds the dated industry limits that change on a calendar:
// the CA/Browser Forum maximum validity of public TLS certificates and the
// reuse period of domain validation (ballot SC-081). Every other package asks
// here instead of keeping its own constants, so a new ballot is one edit.
package policy

import "time"

// Step is one row of the dated table: from Effective on, the limits apply.
type Step struct {
	Effective time.Time
	// MaxTLSValidityDays is the longest validity period of a subscriber TLS
	// certificate, counted as the Baseline Requirements do (notAfter minus
	// notBefore plus one second).
	MaxTLSValidityDays int
	// DCVReuseDays is how long a completed domain validation may be reused.
	DCVReuseDays int
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// TLS is the SC-081 schedule, oldest first.
var TLS = []Step{
	{Effective: day(2020, time.September, 1), MaxTLSValidityDays: 398, DCVReuseDays: 398},
	{Effective: day(2026, time.March, 15), MaxTLSValidityDays: 200, DCVReuseDays: 200},
	{Effective: day(2027, time.March, 15), MaxTLSValidityDays: 100, DCVReuseDays: 100},
	{Effective: day(2029, time.March, 15), MaxTLSValidityDays: 47, DCVReuseDays: 10},
}

// At returns the row in force at t.
func At(t time.Time) Step {
	cur := TLS[0]
	for _, s := range TLS {
		if !t.Before(s.Effective) {
			cur = s
		}
	}
	return cur
}

// MaxTLSValidity is the longest notAfter-notBefore span allowed for a TLS
// certificate whose notBefore is t. The Baseline Requirements count the
// validity period inclusively, so the span is one second short of the days.
func MaxTLSValidity(t time.Time) time.Duration {
	return time.Duration(At(t).MaxTLSValidityDays)*24*time.Hour - time.Second
}

// IssueTLSValidity is the notAfter-notBefore span certorder gives a TLS
// certificate whose notBefore is t: a validity period one day under the
// limit, as CertCentral issues (199 days while the limit is 200), counted
// inclusively like the limit, so the span is 199 days less one second.
// The Baseline Requirements' SHOULD (SC-081: not over 199, 99, 46 days)
// is met exactly; zlint's w_server_cert_valid_time_longer_than_199_days
// counts the same way (notAfter + 1 s - notBefore) and is clear.
func IssueTLSValidity(t time.Time) time.Duration {
	return MaxTLSValidity(t) - 24*time.Hour
}

// DCVReuse is how long a domain validation completed at t may be reused.
func DCVReuse(t time.Time) time.Duration {
	return time.Duration(At(t).DCVReuseDays) * 24 * time.Hour
}

// MaxCodeSigningValidity is the longest span of a code signing
// certificate whose notBefore is t: 39 months under the Code Signing
// Baseline Requirements until ballot CSC-31 cut it to 460 days for
// certificates issued from 2026-03-01. Counted inclusively, like TLS.
func MaxCodeSigningValidity(t time.Time) time.Duration {
	if t.Before(day(2026, time.March, 1)) {
		return 1187*24*time.Hour - time.Second
	}
	return 460*24*time.Hour - time.Second
}

// MaxSMIMEValidity is the S/MIME Baseline Requirements' limit (7.1.2.3,
// 825 days) for mailbox, organization and sponsor-validated certificates;
// the client authentication products share it (seed 003: under 825 days).
const MaxSMIMEValidity = 825*24*time.Hour - time.Second

// MaxX9Validity is the X9 PKI limit from seed 004: one year, 397 days.
// The X9 hierarchy is not a browser PKI, so SC-081's schedule does not
// shorten it.
const MaxX9Validity = 397*24*time.Hour - time.Second

// MaxPrivateTLSValidity bounds Private SSL certificates: not publicly
// trusted, so SC-081's schedule does not apply, but TLS clients hold
// server certificates to 398 days (browsers, for public roots) or 825
// days (Apple's platforms, for every root); 397 days, like X9, meets both.
const MaxPrivateTLSValidity = 397*24*time.Hour - time.Second

// MailboxRandomValueLife is how long the random value mailed to validate
// control of a mailbox may be answered (S/MIME Baseline Requirements
// 3.2.2.2: no more than 24 hours from its creation).
const MailboxRandomValueLife = 24 * time.Hour

// MailboxValidationReuse is how long a completed validation of control of
// a mailbox may be reused for a new certificate (S/MIME Baseline
// Requirements 4.2.1: obtained no more than 30 days before issuance).
const MailboxValidationReuse = 30 * 24 * time.Hour

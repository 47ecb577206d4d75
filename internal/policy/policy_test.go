package policy

import (
	"testing"
	"time"
)

func TestLimitsByDate(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name string
		at   time.Time
		tls  time.Duration
		cs   time.Duration
		dcv  time.Duration
	}{
		{"before CSC-31", day0(2026, time.February, 28), 398*day - time.Second, 1187*day - time.Second, 398 * day},
		{"before SC-081", day0(2026, time.March, 14), 398*day - time.Second, 460*day - time.Second, 398 * day},
		{"CSC-31 in force, SC-081 not yet", day0(2026, time.March, 1), 398*day - time.Second, 460*day - time.Second, 398 * day},
		{"first SC-081 step", day0(2026, time.March, 15), 200*day - time.Second, 460*day - time.Second, 200 * day},
		{"second step", day0(2027, time.March, 15), 100*day - time.Second, 460*day - time.Second, 100 * day},
		{"last step", day0(2029, time.March, 15), 47*day - time.Second, 460*day - time.Second, 10 * day},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaxTLSValidity(tc.at); got != tc.tls {
				t.Errorf("MaxTLSValidity = %v, want %v", got, tc.tls)
			}
			// One day under the limit, both counted inclusively.
			if got := IssueTLSValidity(tc.at); got != tc.tls-day {
				t.Errorf("IssueTLSValidity = %v, want one day under the limit", got)
			}
			if got := MaxCodeSigningValidity(tc.at); got != tc.cs {
				t.Errorf("MaxCodeSigningValidity = %v, want %v", got, tc.cs)
			}
			if got := DCVReuse(tc.at); got != tc.dcv {
				t.Errorf("DCVReuse = %v, want %v", got, tc.dcv)
			}
		})
	}
}

func day0(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Package clock reads business time: every engine holds an optional
// func() time.Time (tests and the sandbox move it) and reads it through
// Now, in UTC, the wall clock when none is set.
package clock

import "time"

// Now is f's time in UTC, or the wall clock's when f is nil.
func Now(f func() time.Time) time.Time {
	if f != nil {
		return f().UTC()
	}
	return time.Now().UTC()
}

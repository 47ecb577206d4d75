//go:build !unix

package main

import "time"

// selfCPU is not measured here: the column shows n/a.
func selfCPU() (time.Duration, bool) { return 0, false }

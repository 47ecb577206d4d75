//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || android || ios)

package ca

// lockDir is a no-op where flock(2) is missing: there, one process per
// data directory is assumed while an old hierarchy is upgraded.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }

package sqlite

import (
	"errors"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeUnavailable reports SQLite's errors that mean the database file
// cannot take writes now, though nothing is wrong with the request: the
// disk or the database is full (SQLITE_FULL), the operating system failed
// a read or write (SQLITE_IOERR and its extended codes), the file or its
// journal cannot be opened (SQLITE_CANTOPEN), or the file became read-only
// (SQLITE_READONLY: a remount, changed permissions). The store wraps them
// in store.ErrUnavailable.
func writeUnavailable(err error) bool {
	switch primaryCode(err) {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}

// readUnavailable is writeUnavailable for the read pool, minus
// SQLITE_READONLY: its connections are query_only, so a write reaching
// them is a bug to report as one, not an outage.
func readUnavailable(err error) bool {
	return primaryCode(err) != sqlite3.SQLITE_READONLY && writeUnavailable(err)
}

// primaryCode is the primary result code of a SQLite error (the low byte
// of an extended code such as SQLITE_IOERR_WRITE), or -1.
func primaryCode(err error) int {
	var e *sqlitedrv.Error
	if !errors.As(err, &e) {
		return -1
	}
	return e.Code() & 0xff
}

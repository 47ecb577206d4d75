package store

import (
	"context"
	"time"
)

// Census is what the store holds right now, across accounts, as the
// operator's metrics show it (internal/metrics reads it when /metrics is
// scraped, at most every few seconds): never anything a request waits on.
type Census struct {
	// Orders counts the orders by product and status.
	Orders []OrderCount
	// Expiring counts the issued certificates whose notAfter falls in
	// (at, at+window], for each of CensusWindows.
	Expiring map[time.Duration]int
	// MailWaiting are the outbox messages neither sent nor given up, the
	// oldest of them created at OldestMail (zero when none waits);
	// MailGivenUp the messages the sender gave up on.
	MailWaiting, MailGivenUp int
	OldestMail               time.Time
	// DCVDue are the scheduled domain control validation checks due at or
	// before at (the validation worker's backlog).
	DCVDue int
	// Jobs are the schedules of the time-driven jobs.
	Jobs []Job
	// CRLs are the stored CRLs without their DER.
	CRLs []StoredCRL
}

// OrderCount is how many orders of one product are in one status.
type OrderCount struct {
	Product, Status string
	N               int
}

// CensusWindows are the expiry windows Census counts certificates in.
var CensusWindows = []time.Duration{7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour}

// CensusReader takes the census.
type CensusReader interface {
	// Census counts, at business time at, what Census describes.
	Census(ctx context.Context, at time.Time) (*Census, error)
}

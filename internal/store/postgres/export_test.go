package postgres

// CarriedReads is how many reads have carried held-back writes.
func CarriedReads() int64 { return carriedReads.Load() }

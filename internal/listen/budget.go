package listen

import "syscall"

// Shares splits the process's descriptor limit between listeners so that
// none can starve the others: reserve descriptors are kept for the store,
// log files and upstream checks; HTTP gets a quarter of the rest (one
// descriptor a connection); the database listeners share the remainder
// equally, at two descriptors a session (client and upstream).
type Shares struct {
	// HTTP is the most HTTP connections at once.
	HTTP int
	// Database is the most connections at once on each database listener.
	Database int
}

// reserve is what the process keeps for itself beyond its listeners.
const reserve = 64

// SharesFor splits limit descriptors between an HTTP listener (when http)
// and dbListeners database listeners. Each share is at least 4.
func SharesFor(limit uint64, http bool, dbListeners int) Shares {
	avail := int64(limit) - reserve
	if avail < 64 {
		avail = 64
	}
	var s Shares
	if http {
		s.HTTP = int(avail / 4)
		avail -= int64(s.HTTP)
	}
	if dbListeners > 0 {
		s.Database = int(avail / 2 / int64(dbListeners))
	}
	s.HTTP = max(s.HTTP, 4)
	s.Database = max(s.Database, 4)
	return s
}

// DescriptorLimit returns the process's soft limit on open descriptors.
func DescriptorLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}

package audit

// QueueLen returns how many events wait in the queue for the writer (not
// counting the batch it is writing).
func (l *Log) QueueLen() int { return len(l.queue) }

// QueueCap returns the queue's capacity: Append blocks when QueueLen
// reaches it.
func (l *Log) QueueCap() int { return cap(l.queue) }

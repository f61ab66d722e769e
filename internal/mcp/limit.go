package mcp

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// limiter counts each user's tool calls and result bytes over the last
// minute (a sliding window), against config mcp: and agents: limits.
type limiter struct {
	now func() time.Time

	mu    sync.Mutex
	users map[string]*usage
}

type usage struct {
	calls []time.Time
	bytes []sized
}

type sized struct {
	at time.Time
	n  int64
}

const window = time.Minute

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, users: map[string]*usage{}}
}

func (l *limiter) usage(user string, now time.Time) *usage {
	u := l.users[user]
	if u == nil {
		u = &usage{}
		l.users[user] = u
	}
	cut := now.Add(-window)
	for len(u.calls) > 0 && !u.calls[0].After(cut) {
		u.calls = u.calls[1:]
	}
	for len(u.bytes) > 0 && !u.bytes[0].at.After(cut) {
		u.bytes = u.bytes[1:]
	}
	return u
}

// call counts one call of c; past the caller's limit it audits the hit
// and returns the tool error.
func (l *limiter) call(s *Server, c *call) error {
	calls, bytes := s.o.Config.AgentLimits(c.actor.User.Name)
	now := l.now()
	l.mu.Lock()
	u := l.usage(c.actor.User.Name, now)
	over := calls > 0 && len(u.calls) >= calls
	overBytes := bytes > 0 && u.sum() >= bytes
	if !over && !overBytes {
		u.calls = append(u.calls, now)
	}
	l.mu.Unlock()
	switch {
	case over:
		s.auditCall(c, "rate_limited", map[string]string{"limit": "calls_per_minute", "max": strconv.Itoa(calls)})
		return fmt.Errorf("airlock: rate limit: %s may make %d calls a minute; wait a minute before calling again", c.actor.User.Name, calls)
	case overBytes:
		s.auditCall(c, "rate_limited", map[string]string{"limit": "bytes_per_minute", "max": strconv.FormatInt(bytes, 10)})
		return fmt.Errorf("airlock: rate limit: %s may receive %d bytes of results a minute; wait a minute, and ask for fewer rows or columns", c.actor.User.Name, bytes)
	}
	return nil
}

// room returns how many result bytes the caller may still receive this
// minute (negative: no limit).
func (l *limiter) room(s *Server, c *call) int64 {
	_, bytes := s.o.Config.AgentLimits(c.actor.User.Name)
	if bytes <= 0 {
		return -1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, bytes-l.usage(c.actor.User.Name, l.now()).sum())
}

// sent counts n result bytes returned to the caller.
func (l *limiter) sent(c *call, n int64) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.usage(c.actor.User.Name, now)
	u.bytes = append(u.bytes, sized{now, n})
}

func (u *usage) sum() int64 {
	var n int64
	for _, b := range u.bytes {
		n += b.n
	}
	return n
}

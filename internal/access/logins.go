package access

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/audit"
)

// Failed logins: each (client address, user name, entry point) has a window in
// which its failures are folded into audit events, and a count of recent
// failures that sets how long its next failure is answered late. Only
// that pair waits: other users, and the same user from elsewhere, do not.
const (
	// foldWindow: the first failure of a pair is audited at once; the
	// repeats within this window become one event with their count.
	foldWindow = time.Minute
	// forgetAfter: a pair with no failure for this long starts afresh.
	forgetAfter = 15 * time.Minute
	// freeFailures are answered without delay; then the delay doubles
	// from delayBase up to delayMax.
	freeFailures = 3
	delayBase    = 250 * time.Millisecond
	delayMax     = 5 * time.Second
	// maxPairs bounds the pairs tracked; past it, new pairs share one.
	maxPairs = 10000
)

// ActionLoginFailed is the session event of a failed login.
const ActionLoginFailed = "login_failed"

// Logins throttles and audits failed logins on every entry point: the
// PostgreSQL and MySQL listeners, the API's bearer tokens and the web
// console's sign-in. It is safe for concurrent use.
type Logins struct {
	audit *audit.Log
	now   func() time.Time

	// fold, base and max are foldWindow, delayBase and delayMax (tests
	// shorten them).
	fold, base, max time.Duration

	mu    sync.Mutex
	pairs map[loginKey]*loginPair

	counts sync.Map // via -> *atomic.Int64

	observe atomic.Pointer[func(via, reason string)]
}

// Observe makes f see every failed login as it is recorded (metrics); f
// must be quick.
func (l *Logins) Observe(f func(via, reason string)) { l.observe.Store(&f) }

type loginKey struct{ addr, user, via string }

type loginPair struct {
	recent   int       // failures since the pair was last forgotten
	last     time.Time // of the last failure
	window   time.Time // start of the folding window; zero: none open
	repeats  int       // failures in the window after the first
	reason   string    // of the last repeat
	via      string
	flushing bool // a timer will audit the repeats
}

// Logins returns the service's failed-login tracker.
func (s *Service) Logins() *Logins {
	s.loginsOnce.Do(func() {
		s.logins = &Logins{audit: s.audit, now: s.now, pairs: map[loginKey]*loginPair{}, fold: foldWindow, base: delayBase, max: delayMax}
	})
	return s.logins
}

// Failed records a failed login of user (the name tried; "" when the
// credential names none, as a bearer token does) from addr through via
// ("postgres", "mysql", "api", "web") for reason, then waits the delay
// the pair has earned (until ctx is done), so that the caller answers
// late. The first failure of a pair in a window is audited at once; the
// repeats are audited as one event with their count when the window ends.
func (l *Logins) Failed(ctx context.Context, addr, user, via, reason string) {
	l.counter(via).Add(1)
	if f := l.observe.Load(); f != nil {
		(*f)(via, reason)
	}
	now := l.now()
	l.mu.Lock()
	k := loginKey{addr, user, via}
	p := l.pairs[k]
	if p == nil {
		if len(l.pairs) >= maxPairs {
			l.prune(now)
		}
		if len(l.pairs) >= maxPairs {
			k = loginKey{"*", "*", via}
			p = l.pairs[k]
		}
		if p == nil {
			p = &loginPair{}
			l.pairs[k] = p
		}
	}
	if now.Sub(p.last) > forgetAfter {
		p.recent = 0
	}
	p.recent++
	p.last = now
	p.via = via
	first := (p.window.IsZero() || now.Sub(p.window) >= l.fold) && !p.flushing
	if first {
		p.window, p.repeats = now, 0
	} else {
		p.repeats++
		p.reason = reason
		if !p.flushing {
			p.flushing = true
			time.AfterFunc(l.fold-now.Sub(p.window), func() { l.flush(k) })
		}
	}
	delay := l.delay(p.recent)
	l.mu.Unlock()
	if first {
		l.record(k, via, reason, 1, now)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// Succeeded forgets the pair's failures: a user who got in is not slowed
// down for earlier typos.
func (l *Logins) Succeeded(addr, user string) {
	l.mu.Lock()
	for k, p := range l.pairs {
		if k.addr == addr && k.user == user {
			p.recent = 0
		}
	}
	l.mu.Unlock()
}

// Delay returns how long the next failure of the pair will be answered
// late.
func (l *Logins) Delay(addr, user, via string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pairs[loginKey{addr, user, via}]
	if p == nil || l.now().Sub(p.last) > forgetAfter {
		return l.delay(1)
	}
	return l.delay(p.recent + 1)
}

// Failures returns the number of failed logins since start, by entry
// point ("postgres", "mysql", "api", "web"): the counter behind the
// airlock_login_failures_total metric.
func (l *Logins) Failures() map[string]int64 {
	out := map[string]int64{}
	l.counts.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (l *Logins) counter(via string) *atomic.Int64 {
	if c, ok := l.counts.Load(via); ok {
		return c.(*atomic.Int64)
	}
	c, _ := l.counts.LoadOrStore(via, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// flush audits the repeats of a window that ended.
func (l *Logins) flush(k loginKey) {
	l.mu.Lock()
	p := l.pairs[k]
	if p == nil {
		l.mu.Unlock()
		return
	}
	n, reason, via, start := p.repeats, p.reason, p.via, p.window
	p.repeats, p.flushing, p.window = 0, false, time.Time{}
	l.mu.Unlock()
	if n > 0 {
		l.record(k, via, reason, n, start)
	}
}

func (l *Logins) record(k loginKey, via, reason string, count int, since time.Time) {
	d := map[string]string{"via": via, "count": strconv.Itoa(count)}
	if count > 1 || k.addr == "*" {
		d["since"] = since.UTC().Format(time.RFC3339)
	}
	if k.addr == "*" {
		d["folded"] = "too many client addresses and users failing at once; counted together"
	}
	l.audit.Append(&airlock.Event{Type: airlock.EventSession, Action: ActionLoginFailed, User: k.user, ClientAddr: k.addr, Reason: reason, Detail: d})
}

// prune drops pairs with nothing pending and no recent failure; l.mu is
// held.
func (l *Logins) prune(now time.Time) {
	for k, p := range l.pairs {
		if !p.flushing && now.Sub(p.last) > l.fold {
			delete(l.pairs, k)
		}
	}
}

// delay is how late the n-th recent failure of a pair is answered.
func (l *Logins) delay(n int) time.Duration {
	if n <= freeFailures {
		return 0
	}
	d := l.base << min(n-freeFailures-1, 10)
	return min(d, l.max)
}

// RemoteHost is the client address of an HTTP request's RemoteAddr
// (host:port) as failed logins record it: the host alone.
func RemoteHost(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}

// flushAll audits every window's pending repeats now (at shutdown, before
// the audit log closes).
func (l *Logins) flushAll() {
	l.mu.Lock()
	var keys []loginKey
	for k, p := range l.pairs {
		if p.flushing {
			keys = append(keys, k)
		}
	}
	l.mu.Unlock()
	for _, k := range keys {
		l.flush(k)
	}
}

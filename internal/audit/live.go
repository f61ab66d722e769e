package audit

import (
	"sync/atomic"

	"airlock"
)

// Subscription receives events as they become durable. A subscriber that
// does not keep up loses its subscription (C is closed and Lagged reports
// true) rather than slowing the writer; it can resume from the store.
type Subscription struct {
	C      <-chan *airlock.Event
	c      chan *airlock.Event
	match  func(*airlock.Event) bool
	lagged atomic.Bool
	l      *Log
}

// Subscribe returns a subscription for events accepted by match (nil: all).
func (l *Log) Subscribe(buffer int, match func(*airlock.Event) bool) *Subscription {
	if buffer <= 0 {
		buffer = 1024
	}
	c := make(chan *airlock.Event, buffer)
	s := &Subscription{C: c, c: c, match: match, l: l}
	l.subsMu.Lock()
	l.subs[s] = struct{}{}
	l.subsMu.Unlock()
	return s
}

// Lagged reports whether the subscription was dropped for falling behind.
func (s *Subscription) Lagged() bool { return s.lagged.Load() }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.l.subsMu.Lock()
	defer s.l.subsMu.Unlock()
	if _, ok := s.l.subs[s]; ok {
		delete(s.l.subs, s)
		close(s.c)
	}
}

func (l *Log) publish(batch []*airlock.Event) {
	l.subsMu.RLock()
	if len(l.subs) == 0 {
		l.subsMu.RUnlock()
		return
	}
	var drop []*Subscription
	for s := range l.subs {
		for _, ev := range batch {
			if s.match != nil && !s.match(ev) {
				continue
			}
			select {
			case s.c <- ev:
			default:
				s.lagged.Store(true)
				drop = append(drop, s)
			}
			if s.lagged.Load() {
				break
			}
		}
	}
	l.subsMu.RUnlock()
	for _, s := range drop {
		s.Close()
	}
}

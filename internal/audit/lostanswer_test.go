package audit

import (
	"context"
	"errors"
	"testing"

	"airlock"
)

// lostAnswerStore stores a batch but reports an error for the first
// lose appends, as a store across the network does when the connection
// drops after the commit.
type lostAnswerStore struct {
	memStore
	lose int
}

func (s *lostAnswerStore) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if err := s.memStore.AppendEvents(ctx, evs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose > 0 {
		s.lose--
		return errors.New("connection reset after commit")
	}
	return nil
}

// TestLostCommitAnswerNotChainedTwice: a batch the store took although it
// answered with an error is not appended again.
func TestLostCommitAnswerNotChainedTwice(t *testing.T) {
	st := &lostAnswerStore{lose: 2}
	l, err := Open(t.Context(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := l.Record(t.Context(), &airlock.Event{Type: airlock.EventSystem, Action: "test", Reason: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.events); n != 5 {
		t.Fatalf("the store holds %d events, want 5 (each once)", n)
	}
	rep, err := Verify(t.Context(), st)
	if err != nil || rep.Problem != nil {
		t.Fatalf("chain: %+v %v", rep, err)
	}
}

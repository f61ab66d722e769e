package storetest

import (
	"testing"
	"time"

	"airlock"
)

// session returns an open session started at at(started).
func session(id, user, database string, started time.Duration) *airlock.Session {
	return &airlock.Session{
		ID:          id,
		User:        user,
		Database:    database,
		Engine:      "postgres",
		ClientAddr:  "192.0.2.7:51234",
		Application: "psql",
		Level:       airlock.LevelWrite,
		StartedAt:   at(started),
	}
}

// sessionIDs returns the IDs of ss, in order.
func sessionIDs(ss []*airlock.Session) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func (s *suite) sessions(t *testing.T) {
	t.Run("create_get", func(t *testing.T) {
		st := s.store(t)
		want := session("s_1", "alice", "shop", 0)
		must(t, st.CreateSession(t.Context(), want))
		got, err := st.GetSession(t.Context(), "s_1")
		must(t, err)
		equal(t, "session", got, want)

		full := session("s_3", "carol", "shop", 2*time.Second)
		full.EndedAt = ptr(at(time.Hour))
		full.EndReason = "killed by admin"
		allSet(t, full)
		must(t, st.CreateSession(t.Context(), full))
		got, err = st.GetSession(t.Context(), "s_3")
		must(t, err)
		equal(t, "session with every field", got, full)

		ended := session("s_2", "bob", "crm", time.Second)
		ended.Engine = "mysql"
		ended.Application = ""
		ended.Level = airlock.LevelRead
		ended.EndedAt = ptr(at(time.Minute))
		ended.EndReason = "client closed"
		must(t, st.CreateSession(t.Context(), ended))
		got, err = st.GetSession(t.Context(), "s_2")
		must(t, err)
		equal(t, "ended session", got, ended)
	})

	t.Run("create_twice_conflict", func(t *testing.T) {
		st := s.store(t)
		must(t, st.CreateSession(t.Context(), session("s_1", "alice", "shop", 0)))
		wantCode(t, st.CreateSession(t.Context(), session("s_1", "bob", "crm", time.Second)), airlock.ECONFLICT)
	})

	t.Run("get_missing_not_found", func(t *testing.T) {
		st := s.store(t)
		_, err := st.GetSession(t.Context(), "s_missing")
		wantCode(t, err, airlock.ENOTFOUND)
	})

	t.Run("end", func(t *testing.T) {
		st := s.store(t)
		want := session("s_1", "alice", "shop", 0)
		must(t, st.CreateSession(t.Context(), want))
		must(t, st.EndSession(t.Context(), "s_1", at(time.Minute), "client closed"))
		got, err := st.GetSession(t.Context(), "s_1")
		must(t, err)
		want.EndedAt = ptr(at(time.Minute))
		want.EndReason = "client closed"
		equal(t, "ended session", got, want)
		if got.State() != "ended" {
			t.Fatalf("state %q, want ended", got.State())
		}
	})

	t.Run("end_twice_keeps_first", func(t *testing.T) {
		st := s.store(t)
		must(t, st.CreateSession(t.Context(), session("s_1", "alice", "shop", 0)))
		must(t, st.EndSession(t.Context(), "s_1", at(time.Minute), "killed"))
		must(t, st.EndSession(t.Context(), "s_1", at(2*time.Minute), "client closed"))
		got, err := st.GetSession(t.Context(), "s_1")
		must(t, err)
		equal(t, "ended at", *got.EndedAt, at(time.Minute))
		equal(t, "end reason", got.EndReason, "killed")
	})

	t.Run("end_missing_not_found", func(t *testing.T) {
		st := s.store(t)
		wantCode(t, st.EndSession(t.Context(), "s_missing", at(0), "gone"), airlock.ENOTFOUND)
	})

	t.Run("list", func(t *testing.T) {
		st := s.store(t)
		got, err := st.ListSessions(t.Context(), airlock.SessionFilter{})
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("empty store lists %d sessions", len(got))
		}
		for _, x := range []*airlock.Session{
			session("s_a2", "alice", "shop", 2*time.Second),
			session("s_b0", "bob", "shop", 0),
			session("s_a1", "alice", "crm", time.Second),
			session("s_b3", "bob", "crm", 3*time.Second),
			session("s_a4", "alice", "shop", 4*time.Second),
		} {
			must(t, st.CreateSession(t.Context(), x))
		}
		must(t, st.EndSession(t.Context(), "s_a2", at(time.Minute), "done"))
		must(t, st.EndSession(t.Context(), "s_b3", at(time.Minute), "done"))

		cases := []struct {
			name string
			f    airlock.SessionFilter
			want []string
		}{
			{"all_newest_first", airlock.SessionFilter{}, []string{"s_a4", "s_b3", "s_a2", "s_a1", "s_b0"}},
			{"user", airlock.SessionFilter{User: "alice"}, []string{"s_a4", "s_a2", "s_a1"}},
			{"database", airlock.SessionFilter{Database: "crm"}, []string{"s_b3", "s_a1"}},
			{"active", airlock.SessionFilter{Active: true}, []string{"s_a4", "s_a1", "s_b0"}},
			{"limit", airlock.SessionFilter{Limit: 2}, []string{"s_a4", "s_b3"}},
			{"combined", airlock.SessionFilter{User: "alice", Database: "shop", Active: true}, []string{"s_a4"}},
			{"combined_limit", airlock.SessionFilter{User: "alice", Active: true, Limit: 1}, []string{"s_a4"}},
			{"no_match", airlock.SessionFilter{User: "bob", Database: "nope"}, []string{}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := st.ListSessions(t.Context(), c.f)
				must(t, err)
				equal(t, "ids", sessionIDs(got), c.want)
			})
		}
	})

	t.Run("end_open_sessions", func(t *testing.T) {
		st := s.store(t)
		for _, id := range []string{"s_1", "s_2", "s_3"} {
			must(t, st.CreateSession(t.Context(), session(id, "alice", "shop", 0)))
		}
		must(t, st.EndSession(t.Context(), "s_2", at(time.Second), "client closed"))
		n, err := st.EndOpenSessions(t.Context(), at(time.Hour), "restart")
		must(t, err)
		equal(t, "ended", n, 2)
		for _, id := range []string{"s_1", "s_3"} {
			got, err := st.GetSession(t.Context(), id)
			must(t, err)
			if got.EndedAt == nil || !got.EndedAt.Equal(at(time.Hour)) || got.EndReason != "restart" {
				t.Errorf("%s: ended %v for %q, want %v for restart", id, got.EndedAt, got.EndReason, at(time.Hour))
			}
		}
		got, err := st.GetSession(t.Context(), "s_2")
		must(t, err)
		equal(t, "s_2 end reason", got.EndReason, "client closed")
		active, err := st.ListSessions(t.Context(), airlock.SessionFilter{Active: true})
		must(t, err)
		equal(t, "active", len(active), 0)
		n, err = st.EndOpenSessions(t.Context(), at(2*time.Hour), "restart")
		must(t, err)
		equal(t, "ended again", n, 0)
	})
}

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"airlock"
)

// fixtureEvents returns n chained-looking events with IDs 1..n whose
// fields vary so that every filter selects a different subset.
func fixtureEvents(n int) []*airlock.Event {
	users := []string{"alice", "bob", "carol", ""}
	dbs := []string{"shop", "crm", ""}
	kinds := []string{"select", "insert", "delete"}
	var evs []*airlock.Event
	prev := ""
	for i := 1; i <= n; i++ {
		e := &airlock.Event{
			ID:        int64(i),
			Time:      at(time.Duration(i)*time.Second + time.Duration(i)*1001), // distinct nanoseconds
			User:      users[i%len(users)],
			Database:  dbs[i%len(dbs)],
			SessionID: fmt.Sprintf("s_%d", i%4),
			PrevHash:  prev,
			Hash:      fmt.Sprintf("%064x", i),
		}
		switch {
		case i%5 == 0:
			e.Type, e.Action = airlock.EventSession, "opened"
		case i%7 == 0:
			e.Type, e.Action, e.SessionID = airlock.EventToken, "issued", ""
			e.Ref = fmt.Sprintf("tok_%d", i)
		default:
			e.Type, e.Action = airlock.EventStatement, airlock.ActionExecuted
			e.StatementKind = kinds[i%len(kinds)]
			e.Decision = "allowed"
			if i%4 == 0 {
				e.Action, e.Decision, e.Rule = airlock.ActionDenied, "denied", "level"
				if i%8 == 0 {
					e.Rule = "keep-users"
				}
			}
			switch e.StatementKind {
			case "select":
				e.Text = fmt.Sprintf("SELECT * FROM Orders WHERE id = %d", i)
			case "insert":
				e.Text = fmt.Sprintf("insert into orders values (%d, 'x_y')", i)
			default:
				e.Text = fmt.Sprintf("DELETE FROM users WHERE note = '100%% done' AND id = %d", i)
			}
			e.Tables = []string{"public.orders"}
		}
		prev = e.Hash
		evs = append(evs, e)
	}
	return evs
}

// matches is the reference meaning of an EventFilter (without order and limit).
func matches(f airlock.EventFilter, e *airlock.Event) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.User, e.User) && eq(f.Database, e.Database) && eq(f.SessionID, e.SessionID) &&
		eq(f.Type, e.Type) && eq(f.StatementKind, e.StatementKind) && eq(f.Decision, e.Decision) &&
		eq(f.Rule, e.Rule) &&
		(f.Contains == "" || strings.Contains(strings.ToLower(e.Text), strings.ToLower(f.Contains))) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until)) &&
		(f.AfterID == 0 || e.ID > f.AfterID) &&
		(f.BeforeID == 0 || e.ID < f.BeforeID)
}

// expect applies f to evs the reference way and returns the IDs.
func expect(f airlock.EventFilter, evs []*airlock.Event) []int64 {
	ids := []int64{}
	for _, e := range evs {
		if matches(f, e) {
			ids = append(ids, e.ID)
		}
	}
	slices.Sort(ids)
	if !f.Ascending {
		slices.Reverse(ids)
	}
	if f.Limit > 0 && len(ids) > f.Limit {
		ids = ids[:f.Limit]
	}
	return ids
}

// eventIDs returns the IDs of evs, in order.
func eventIDs(evs []*airlock.Event) []int64 {
	ids := []int64{}
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// fullEvent sets every field of Event.
func fullEvent(id int64) *airlock.Event {
	return &airlock.Event{
		ID:            id,
		Time:          time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.UTC),
		Type:          airlock.EventStatement,
		Action:        airlock.ActionExecuted,
		User:          "alice",
		Actor:         "bob",
		Database:      "shop",
		SessionID:     "s_abcdefghij",
		ClientAddr:    "[2001:db8::1]:5432",
		Application:   "DBeaver 24.1 — main",
		Ref:           "ev_41",
		Text:          "UPDATE \"Ünïcode\" SET v = $1 WHERE note = 'it''s <b>&</b>'\n\t-- 🦆",
		StatementKind: "update",
		Level:         "write",
		Tables:        []string{"public.\"Ünïcode\"", "audit.log"},
		Decision:      "allowed",
		Rule:          "write-hours",
		Reason:        "ticket OPS-1",
		Warnings:      []string{"no WHERE on a join", "quote \" and backslash \\"},
		Rows:          -1 << 40,
		DurationMS:    0.123456789012345,
		Error:         "ERROR: duplicate key (SQLSTATE 23505)",
		Params:        []string{"42", "", "nul\x00byte", "line\nbreak", "\u2028"},
		Detail:        map[string]string{"level": "write", "expires_at": "2026-01-01T00:00:00Z", "": "empty key", "ключ": "значение"},
		PrevHash:      strings.Repeat("a", 64),
		Hash:          strings.Repeat("b", 64),
	}
}

var errStop = errors.New("stop")

func (s *suite) events(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		st := s.store(t)
		last, err := st.LastEvent(t.Context())
		must(t, err)
		if last != nil {
			t.Fatalf("last event of an empty store: %+v", last)
		}
		evs, err := st.ListEvents(t.Context(), airlock.EventFilter{})
		must(t, err)
		equal(t, "events", len(evs), 0)
		must(t, st.AppendEvents(t.Context(), nil))
	})

	t.Run("round_trip_every_field", func(t *testing.T) {
		allSet(t, fullEvent(1))
		st := s.store(t)
		minimal := &airlock.Event{ID: 2, Time: base, Type: airlock.EventSystem, Action: "started", PrevHash: strings.Repeat("b", 64), Hash: "c"}
		must(t, st.AppendEvents(t.Context(), []*airlock.Event{fullEvent(1), minimal}))
		evs, err := st.ListEvents(t.Context(), airlock.EventFilter{Ascending: true})
		must(t, err)
		equal(t, "full event", evs[0], fullEvent(1))
		equal(t, "minimal event", evs[1], minimal)
		last, err := st.LastEvent(t.Context())
		must(t, err)
		equal(t, "last event", last, minimal)
		err = st.ScanEvents(t.Context(), airlock.EventFilter{User: "alice"}, func(e *airlock.Event) error {
			equal(t, "scanned event", e, fullEvent(1))
			return nil
		})
		must(t, err)
	})

	t.Run("last_event", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(10)
		must(t, st.AppendEvents(t.Context(), evs[:4]))
		must(t, st.AppendEvents(t.Context(), evs[4:]))
		last, err := st.LastEvent(t.Context())
		must(t, err)
		equal(t, "last event", last, evs[9])
	})

	t.Run("append_duplicate_conflict", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(6)
		must(t, st.AppendEvents(t.Context(), evs[:3]))
		wantCode(t, st.AppendEvents(t.Context(), evs[2:]), airlock.ECONFLICT)
		// The batch is atomic: events 4 to 6 were not stored either.
		got, err := st.ListEvents(t.Context(), airlock.EventFilter{})
		must(t, err)
		equal(t, "ids", eventIDs(got), []int64{3, 2, 1})
		// Inside one batch too.
		wantCode(t, st.AppendEvents(t.Context(), []*airlock.Event{evs[3], evs[4], evs[3]}), airlock.ECONFLICT)
		got, err = st.ListEvents(t.Context(), airlock.EventFilter{})
		must(t, err)
		equal(t, "ids", eventIDs(got), []int64{3, 2, 1})
		must(t, st.AppendEvents(t.Context(), evs[3:]))
	})

	t.Run("filters", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(120)
		for b := range slices.Chunk(evs, 25) {
			must(t, st.AppendEvents(t.Context(), b))
		}
		tm := func(id int) time.Time { return evs[id-1].Time }
		cases := []struct {
			name string
			f    airlock.EventFilter
		}{
			{"none", airlock.EventFilter{}},
			{"ascending", airlock.EventFilter{Ascending: true}},
			{"limit", airlock.EventFilter{Limit: 7}},
			{"limit_ascending", airlock.EventFilter{Limit: 7, Ascending: true}},
			{"limit_larger_than_result", airlock.EventFilter{Limit: 1000}},
			{"user", airlock.EventFilter{User: "alice"}},
			{"database", airlock.EventFilter{Database: "crm"}},
			{"session_id", airlock.EventFilter{SessionID: "s_2"}},
			{"type", airlock.EventFilter{Type: airlock.EventSession}},
			{"type_token", airlock.EventFilter{Type: airlock.EventToken}},
			{"statement_kind", airlock.EventFilter{StatementKind: "delete"}},
			{"decision", airlock.EventFilter{Decision: "denied"}},
			{"rule", airlock.EventFilter{Rule: "keep-users"}},
			{"contains", airlock.EventFilter{Contains: "orders where"}},
			{"contains_case", airlock.EventFilter{Contains: "ORDERS VALUES"}},
			{"contains_percent_literal", airlock.EventFilter{Contains: "100% done"}},
			{"contains_underscore_literal", airlock.EventFilter{Contains: "x_y"}},
			{"contains_wildcard_not_special", airlock.EventFilter{Contains: "x%y"}},
			{"contains_underscore_not_any", airlock.EventFilter{Contains: "orders_values"}},
			{"contains_id", airlock.EventFilter{Contains: "id = 11"}},
			{"since_inclusive", airlock.EventFilter{Since: tm(100)}},
			{"until_exclusive", airlock.EventFilter{Until: tm(10)}},
			{"since_until", airlock.EventFilter{Since: tm(10), Until: tm(20)}},
			{"since_between", airlock.EventFilter{Since: tm(10).Add(time.Nanosecond)}},
			{"after_id", airlock.EventFilter{AfterID: 110}},
			{"before_id", airlock.EventFilter{BeforeID: 5}},
			{"after_before", airlock.EventFilter{AfterID: 50, BeforeID: 60}},
			{"after_past_end", airlock.EventFilter{AfterID: 120}},
			{"no_match", airlock.EventFilter{User: "nobody"}},
			{"combined_statement", airlock.EventFilter{Type: airlock.EventStatement, User: "bob", Decision: "allowed"}},
			{"combined_denied", airlock.EventFilter{Database: "shop", Decision: "denied", Rule: "level", StatementKind: "select"}},
			{"combined_all", airlock.EventFilter{
				User: "alice", Database: "crm", SessionID: "s_0", Type: airlock.EventStatement,
				StatementKind: "insert", Decision: "denied", Rule: "level", Contains: "ORDERS",
				Since: tm(2), Until: tm(110), AfterID: 3, BeforeID: 109, Limit: 2, Ascending: true,
			}},
			{"combined_time_ids", airlock.EventFilter{Since: tm(30), Until: tm(90), AfterID: 40, BeforeID: 100, Limit: 5}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := expect(c.f, evs)
				if c.name != "no_match" && c.name != "after_past_end" && c.name != "contains_wildcard_not_special" &&
					c.name != "contains_underscore_not_any" && len(want) == 0 {
					t.Fatalf("fixture selects nothing for %+v; the case tests nothing", c.f)
				}
				got, err := st.ListEvents(t.Context(), c.f)
				must(t, err)
				equal(t, "listed ids", eventIDs(got), want)
				for _, e := range got {
					equal(t, "listed event", e, evs[e.ID-1])
				}
				var scanned []*airlock.Event
				must(t, st.ScanEvents(t.Context(), c.f, func(e *airlock.Event) error {
					scanned = append(scanned, e)
					return nil
				}))
				equal(t, "scanned ids", eventIDs(scanned), want)
			})
		}
	})

	t.Run("pagination", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(50)
		must(t, st.AppendEvents(t.Context(), evs))
		for _, f := range []airlock.EventFilter{{}, {User: "bob"}, {Type: airlock.EventStatement, Decision: "allowed"}} {
			t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
				// Newest first, each page before the oldest of the last page.
				var got []int64
				page := f
				page.Limit = 4
				for {
					evs, err := st.ListEvents(t.Context(), page)
					must(t, err)
					if len(evs) == 0 {
						break
					}
					if len(evs) > page.Limit {
						t.Fatalf("page of %d events, limit %d", len(evs), page.Limit)
					}
					got = append(got, eventIDs(evs)...)
					page.BeforeID = evs[len(evs)-1].ID
				}
				equal(t, "newest first pages", got, expect(f, evs))

				// Oldest first, each page after the newest of the last page.
				got = nil
				page = f
				page.Limit, page.Ascending = 3, true
				for {
					evs, err := st.ListEvents(t.Context(), page)
					must(t, err)
					if len(evs) == 0 {
						break
					}
					got = append(got, eventIDs(evs)...)
					page.AfterID = evs[len(evs)-1].ID
				}
				asc := f
				asc.Ascending = true
				equal(t, "oldest first pages", got, expect(asc, evs))
			})
		}
	})

	t.Run("scan_order_and_stop", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(30)
		must(t, st.AppendEvents(t.Context(), evs))
		for _, asc := range []bool{false, true} {
			f := airlock.EventFilter{Ascending: asc}
			var got []int64
			must(t, st.ScanEvents(t.Context(), f, func(e *airlock.Event) error {
				got = append(got, e.ID)
				return nil
			}))
			equal(t, fmt.Sprintf("ascending=%v", asc), got, expect(f, evs))

			got = nil
			err := st.ScanEvents(t.Context(), f, func(e *airlock.Event) error {
				got = append(got, e.ID)
				if len(got) == 3 {
					return fmt.Errorf("enough: %w", errStop)
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Fatalf("scan stopped with %v, want the callback's error", err)
			}
			f.Limit = 3
			equal(t, "stopped scan", got, expect(f, evs))
		}
		// The store is usable after a stopped scan.
		must(t, st.AppendEvents(t.Context(), fixtureEvents(31)[30:]))
		last, err := st.LastEvent(t.Context())
		must(t, err)
		equal(t, "last id", last.ID, int64(31))
	})

	t.Run("scan_callback_may_use_store", func(t *testing.T) {
		st := s.store(t)
		evs := fixtureEvents(10)
		must(t, st.AppendEvents(t.Context(), evs))
		n := 0
		must(t, st.ScanEvents(t.Context(), airlock.EventFilter{Ascending: true}, func(e *airlock.Event) error {
			n++
			if _, err := st.ListEvents(t.Context(), airlock.EventFilter{Limit: 1}); err != nil {
				return err
			}
			if e.ID == 5 {
				return st.CreateUser(t.Context(), &airlock.User{Name: "during-scan", CreatedAt: base})
			}
			return nil
		}))
		equal(t, "scanned", n, 10)
	})
}

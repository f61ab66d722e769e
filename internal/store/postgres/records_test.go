package postgres

import (
	"reflect"
	"testing"
	"time"

	"airlock"
)

// TestRequestsGrantsUndoSeen round-trips the records storetest does not
// cover, with their conflicts and filters.
func TestRequestsGrantsUndoSeen(t *testing.T) {
	db, _ := open(t, Options{})
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	r := &airlock.Request{ID: "rq_1", User: "alice", Database: "shop", Level: airlock.LevelWrite, Tables: []string{"public.a"},
		Duration: time.Hour, Reason: "fix", State: airlock.RequestPending, Policy: "p", ApproverGroups: []string{"sre"},
		ApprovalsNeeded: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, db.CreateRequest(ctx, r))
	if err := db.CreateRequest(ctx, r); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("create twice: %v", err)
	}
	stale := *r
	r.State, r.DecidedAt = airlock.RequestApproved, &now
	r.Approvals = []airlock.Approval{{User: "bob", At: now}}
	must(t, db.UpdateRequest(ctx, r))
	if err := db.UpdateRequest(ctx, &stale); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("stale update: %v", err)
	}
	got, err := db.GetRequest(ctx, "rq_1")
	must(t, err)
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("request:\n got %+v\nwant %+v", got, r)
	}
	if l, _ := db.ListRequests(ctx, airlock.RequestFilter{State: airlock.RequestPending}); len(l) != 0 {
		t.Fatalf("pending requests: %d", len(l))
	}

	g := &airlock.Grant{ID: "gr_1", RequestID: "rq_1", User: "alice", Database: "shop", Level: airlock.LevelWrite,
		Tables: []string{"public.a"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, db.CreateGrant(ctx, g))
	if l, _ := db.ListGrants(ctx, airlock.GrantFilter{User: "alice", ActiveAt: now.Add(time.Minute)}); len(l) != 1 {
		t.Fatalf("active grants: %d", len(l))
	}
	must(t, db.RevokeGrant(ctx, "gr_1", now.Add(time.Minute), "bob"))
	must(t, db.RevokeGrant(ctx, "gr_1", now.Add(2*time.Minute), "carol"))
	gg, err := db.GetGrant(ctx, "gr_1")
	must(t, err)
	if gg.RevokedBy != "bob" || !gg.RevokedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("revocation kept: %+v", gg)
	}
	if err := db.RevokeGrant(ctx, "gr_x", now, "bob"); airlock.ErrorCode(err) != airlock.ENOTFOUND {
		t.Fatalf("revoke missing grant: %v", err)
	}

	old := "(1,x)"
	u := &airlock.UndoRecord{ID: "un_1", SessionID: "s_1", User: "alice", Database: "shop", Statement: "UPDATE a SET x = 1",
		State: airlock.UndoPending, CreatedAt: now, Images: []airlock.UndoImage{{Seq: 1, Table: "public.a", Op: "U", Old: &old, New: &old, PK: []string{"id"}}},
		Size: 10, Hash: "h"}
	must(t, db.SaveUndo(ctx, u))
	must(t, db.SetUndoState(ctx, []string{"un_1"}, airlock.UndoCommitted, airlock.UndoPending))
	must(t, db.SetUndoState(ctx, []string{"un_1"}, airlock.UndoVoid, airlock.UndoPending)) // not pending: stays
	gu, err := db.GetUndo(ctx, "un_1")
	must(t, err)
	u.State = airlock.UndoCommitted
	if !reflect.DeepEqual(gu, u) {
		t.Fatalf("undo:\n got %+v\nwant %+v", gu, u)
	}
	if n, _ := db.UndoBytes(ctx, "s_1"); n != 10 {
		t.Fatalf("undo bytes %d", n)
	}
	if l, _ := db.ListUndo(ctx, airlock.UndoFilter{States: []string{airlock.UndoCommitted}}); len(l) != 1 || l[0].Images != nil {
		t.Fatalf("list undo: %+v", l)
	}
	must(t, db.MarkApplied(ctx, "un_1", "un_2"))
	if n, err := db.DeleteUndoBefore(ctx, now.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("delete undo: %d %v", n, err)
	}

	for i, want := range []bool{true, false} {
		first, err := db.MarkSeen(ctx, "t:alice:public.a", now)
		must(t, err)
		if first != want {
			t.Fatalf("mark seen #%d: first = %v", i, first)
		}
	}
}

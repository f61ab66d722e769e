package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"
)

// runCLI runs the airlock command against a running server; the error
// reports a non-zero exit.
func runCLI(t *testing.T, a *testenv.Airlock, token string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, airlockBin, args...)
	cmd.Env = append(os.Environ(), "AIRLOCK_SERVER="+a.HTTPURL(), "AIRLOCK_TOKEN="+token, "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("airlock %v timed out", args)
	}
	return string(out), err
}

// TestGrantFlowInOpenPsqlSession: alice (standing read) is denied a
// DELETE in psql; she requests write, bob approves, and in the same open
// psql session the DELETE now succeeds; once the grant ends the same
// statement is denied again; the audit shows each step in order.
func TestGrantFlowInOpenPsqlSession(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{})
	alice, bob := a.Token("alice", 0), a.Token("bob", 0)
	env := fmt.Sprintf("AIRLOCK_SERVER=%s HOME=%s", a.HTTPURL(), t.TempDir())
	// psql runs the CLI in the middle of its session with \!.
	script := fmt.Sprintf(`DELETE FROM items WHERE id = 1;
\! %[1]s AIRLOCK_TOKEN=%[2]s %[4]s requests create app --level write --duration 4s --reason "fix order 1" > %[5]s/req
\! %[1]s AIRLOCK_TOKEN=%[3]s %[4]s requests approve $(cat %[5]s/req)
DELETE FROM items WHERE id = 1;
SELECT 'deleted' AS step;
\! sleep 4.5
DELETE FROM items WHERE id = 2;
SELECT 'still connected' AS step;
`, env, alice, bob, airlockBin, t.TempDir())
	out := psql(t, a.Host(), a.Port(), "alice", alice, "app", script)
	t.Logf("psql:\n%s", out)
	if strings.Count(out, "ERROR:  airlock: denied: level: DELETE") != 2 {
		t.Fatalf("want two level denials around the grant:\n%s", out)
	}
	if !strings.Contains(out, "approved: grant gr_") || !strings.Contains(out, " deleted\n") {
		t.Fatalf("the DELETE did not run under the grant:\n%s", out)
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE id IN (1, 2)"); n != 1 {
		t.Fatalf("items 1 and 2: %d rows left, want 1 (1 deleted under the grant, 2 kept)", n)
	}

	// The audit tells the story in order.
	a.Audit.Sync(context.Background())
	evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var story []string
	for _, e := range evs {
		switch {
		case e.Type == airlock.EventStatement && strings.HasPrefix(e.Text, "DELETE") && e.Action != airlock.ActionStarted:
			story = append(story, "delete "+e.Decision)
		case e.Type == airlock.EventRequest || e.Type == airlock.EventGrant:
			story = append(story, e.Type+"."+e.Action)
		case e.Type == airlock.EventSession && e.Action == "level":
			story = append(story, "level "+e.Detail["from"]+"->"+e.Detail["to"])
		}
	}
	want := []string{"delete denied", "request.created", "request.approved", "grant.started", "level read->write",
		"delete allowed", "grant.ended", "level write->read", "delete denied"}
	got := strings.Join(story, ", ")
	if got != strings.Join(want, ", ") {
		t.Fatalf("audit story:\n got %s\nwant %s", got, strings.Join(want, ", "))
	}
}

// approvalConfig has two approvers in sre and a policy that needs two
// approvals for ddl.
const approvalUsers = `users:
  - {name: alice, groups: [eng]}
  - {name: bob, groups: [sre], roles: [approver]}
  - {name: dave, groups: [sre], roles: [approver]}
  - {name: carol, groups: [eng, sre]}
  - {name: root, groups: [ops], roles: [admin]}
  - {name: erin, groups: [eng], roles: [approver]}
`
const approvalPolicies = `policies:
  - {name: eng, groups: [eng], databases: [app], standing: read, requestable: [write], approvers: [sre], approvals: 1, max_duration: 1h}
  - {name: eng-ddl, groups: [eng], databases: [app], standing: read, requestable: [ddl], approvers: [sre], approvals: 2, max_duration: 30m}
`

// TestApprovalRules: nobody approves their own request; only approvers of
// the policy's groups approve; an admin who is not an approver cannot;
// approvals: 2 needs two distinct approvers; a denial ends the request.
func TestApprovalRules(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{Users: approvalUsers, Policies: approvalPolicies})
	ctx := context.Background()
	act := func(user string) *access.Actor { return a.Actor(a.Token(user, 0)) }
	alice, bob, dave, carol, root, erin := act("alice"), act("bob"), act("dave"), act("carol"), act("root"), act("erin")

	r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: 10 * time.Minute, Reason: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		who  *access.Actor
	}{{"own request", alice}, {"no approver role", carol}, {"admin without approver role", root}, {"approver outside the groups", erin}} {
		if _, err := a.Access.ApproveRequest(ctx, tc.who, r.ID); airlock.ErrorCode(err) != airlock.EFORBIDDEN {
			t.Errorf("%s: err = %v, want forbidden", tc.name, err)
		}
	}
	// Through the CLI, the refusal is a non-zero exit with the reason.
	if out, err := runCLI(t, a, a.Token("alice", 0), "requests", "approve", r.ID); err == nil || !strings.Contains(out, "own request") {
		t.Errorf("alice approving her own request via the CLI: %v %s", err, out)
	}

	// Two approvals for ddl.
	r2, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelDDL, Duration: 2 * time.Hour, Reason: "add an index"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Duration != 30*time.Minute || r2.ApprovalsNeeded != 2 {
		t.Fatalf("ddl request: duration %s (want capped to 30m), approvals %d", r2.Duration, r2.ApprovalsNeeded)
	}
	r2, err = a.Access.ApproveRequest(ctx, bob, r2.ID)
	if err != nil || r2.State != airlock.RequestPending {
		t.Fatalf("after one approval: %v %v", r2.State, err)
	}
	if _, err := a.Access.ApproveRequest(ctx, bob, r2.ID); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("bob approving twice: %v", err)
	}
	r2, err = a.Access.ApproveRequest(ctx, dave, r2.ID)
	if err != nil || r2.State != airlock.RequestApproved || r2.GrantID == "" {
		t.Fatalf("after two approvals: %+v %v", r2, err)
	}

	// A denial ends the request.
	r3, _ := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "again"})
	if _, err := a.Access.DenyRequest(ctx, bob, r3.ID, ""); airlock.ErrorCode(err) != airlock.EINVALID {
		t.Fatalf("deny without reason: %v", err)
	}
	if r3, err = a.Access.DenyRequest(ctx, bob, r3.ID, "not during the freeze"); err != nil || r3.State != airlock.RequestDenied {
		t.Fatalf("deny: %v %v", r3, err)
	}
	if _, err := a.Access.ApproveRequest(ctx, dave, r3.ID); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("approving a denied request: %v", err)
	}

	// Requests need a reason and a requestable level.
	if _, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite}); airlock.ErrorCode(err) != airlock.EINVALID {
		t.Errorf("no reason: %v", err)
	}
	if _, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelAdmin, Reason: "x"}); err == nil || !strings.Contains(err.Error(), "credential") && !strings.Contains(err.Error(), "no policy") {
		t.Errorf("admin request: %v", err)
	}
	if _, err := a.Access.CreateRequest(ctx, bob, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "x"}); airlock.ErrorCode(err) != airlock.EFORBIDDEN {
		t.Errorf("request without a policy: %v", err)
	}
	// A cancelled request cannot be approved.
	r4, _ := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "oops"})
	if _, err := a.Access.CancelRequest(ctx, bob, r4.ID); airlock.ErrorCode(err) != airlock.EFORBIDDEN {
		t.Errorf("bob cancelling alice's request: %v", err)
	}
	if _, err := a.Access.CancelRequest(ctx, alice, r4.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, bob, r4.ID); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Errorf("approving a cancelled request: %v", err)
	}
}

// TestAccessEndsSessions: revoking the grant, revoking the token, the token
// expiring and sessions kill each end a live session promptly with 57P01,
// and its open transaction's change is not committed.
func TestAccessEndsSessions(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	bob := a.Actor(a.Token("bob", 0))
	admin := a.Actor(a.AdminToken)

	cases := []struct {
		name    string
		ttl     time.Duration
		trigger func(t *testing.T, tokenID, grantID, sessionID string)
		reason  string
	}{
		{"grant revoked", 0, func(t *testing.T, _, grantID, _ string) {
			if _, err := a.Access.RevokeGrant(ctx, admin, grantID); err != nil {
				t.Fatal(err)
			}
		}, "access dropped from write to read"},
		{"token revoked", 0, func(t *testing.T, tokenID, _, _ string) {
			if err := a.Access.RevokeToken(ctx, admin, tokenID); err != nil {
				t.Fatal(err)
			}
		}, "the token was revoked"},
		{"token expired", 3 * time.Second, nil, "the token expired"},
		{"session killed", 0, func(t *testing.T, _, _, sessionID string) {
			if out, err := runCLI(t, a, a.AdminToken, "sessions", "kill", sessionID); err != nil {
				t.Fatalf("kill: %v %s", err, out)
			}
		}, "killed by admin"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, tokID := a.TokenID("alice", tc.ttl)
			alice := a.Actor(tok)
			r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if r, err = a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
				t.Fatal(err)
			}
			c := testenv.Connect(t, a.URL("alice", tok, "app"))
			defer c.Close(ctx)
			var sid string
			if err := c.QueryRow(ctx, "SELECT split_part(application_name, ':', 3) FROM pg_stat_activity WHERE pid = pg_backend_pid()").Scan(&sid); err != nil {
				t.Fatal(err)
			}
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("changed %d", i)
			if _, err := tx.Exec(ctx, "UPDATE items SET name = $1 WHERE id = 3", name); err != nil {
				t.Fatalf("update under the grant: %v", err)
			}
			// A statement is running when access ends.
			errc := make(chan error, 1)
			go func() {
				_, err := tx.Exec(ctx, "SELECT pg_sleep(20)")
				errc <- err
			}()
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			if tc.trigger != nil {
				tc.trigger(t, tokID, r.GrantID, sid)
			} else {
				start = time.Now() // the token expires on its own
			}
			select {
			case err := <-errc:
				if pgCode(err) != "57P01" || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("err = %v, want 57P01 with %q", err, tc.reason)
				}
				took := time.Since(start)
				t.Logf("session ended after %s", took)
				if tc.trigger != nil && took > 3*time.Second {
					t.Fatalf("took %s", took)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the session did not end")
			}
			if n := db.QueryInt("SELECT count(*) FROM items WHERE name = $1", name); n != 0 {
				t.Fatal("the open transaction's change was committed")
			}
			if n := db.QueryInt("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1", "%"+sid); n != 0 {
				t.Fatal("the upstream connection is still open")
			}
		})
	}
}

// TestWebhooks: a receiver gets request.created and request.approved as
// Slack-compatible JSON; with the receiver down, requests and approvals
// still work and the failure is audited.
func TestWebhooks(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body is not JSON: %s", b)
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer recv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/hook"
	down.Close() // nothing listens there any more

	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf(`notifications:
  retries: 2
  webhooks:
    - {url: %q, format: slack, events: ["request.*"]}
    - {url: %q, format: json, events: ["request.created"]}
`, recv.URL+"/slack", downURL)})
	ctx := context.Background()
	alice, bob := a.Actor(a.Token("alice", 0)), a.Actor(a.Token("bob", 0))
	r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "deploy fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	texts := []string{}
	for _, m := range got {
		text, _ := m["text"].(string)
		if _, ok := m["blocks"].([]any); !ok || text == "" {
			t.Errorf("not Slack-compatible: %v", m)
		}
		texts = append(texts, text)
	}
	mu.Unlock()
	if len(texts) != 2 || !strings.Contains(texts[0], "alice requests write access to app") || !strings.Contains(texts[0], `"deploy fix"`) ||
		!strings.Contains(texts[1], "bob approved request "+r.ID) {
		t.Fatalf("webhook texts: %q", texts)
	}
	// The dead receiver's failure is audited.
	for time.Now().Before(deadline) {
		evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSystem})
		for _, e := range evs {
			if e.Action == "webhook_failed" && e.Ref == r.ID && e.Detail["event"] == "request.created" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the failing webhook was not audited")
}

// TestAPIAuthorization walks every endpoint with no token, an expired token
// and a token without the right role.
func TestAPIAuthorization(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	expired := a.Token("alice", time.Second)
	alice := a.Token("alice", 0)
	carol := a.Token("carol", 0)
	// Objects to act on: a request of alice, a grant, a session, a token.
	r, err := a.Access.CreateRequest(ctx, a.Actor(alice), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := a.Access.CreateRequest(ctx, a.Actor(alice), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Reason: "y"})
	r2, err = a.Access.ApproveRequest(ctx, a.Actor(a.Token("bob", 0)), r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, bobTok := a.TokenID("bob", 0)
	c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer c.Close(ctx)
	sess, _ := a.Store.ListSessions(ctx, airlock.SessionFilter{Active: true})
	time.Sleep(1100 * time.Millisecond) // let the expired token expire

	type ep struct {
		method, path, body string
		// forbiddenFor is a token without the right; "" when any valid
		// token may call it.
		forbiddenFor string
	}
	eps := []ep{
		{"GET", "/api/v1/whoami", "", ""},
		{"GET", "/api/v1/users", "", alice},
		{"POST", "/api/v1/users", `{"name":"x"}`, alice},
		{"GET", "/api/v1/tokens?user=bob", "", alice},
		{"POST", "/api/v1/tokens", `{"user":"bob"}`, alice},
		{"POST", "/api/v1/tokens/" + bobTok + "/revoke", "", alice},
		{"DELETE", "/api/v1/tokens/" + bobTok, "", alice},
		{"GET", "/api/v1/audit?user=bob", "", alice},
		{"GET", "/api/v1/audit/verify", "", alice},
		{"GET", "/api/v1/sessions?user=bob", "", alice},
		{"POST", "/api/v1/sessions/" + sess[0].ID + "/kill", "", alice},
		{"GET", "/api/v1/databases", "", ""},
		{"POST", "/api/v1/requests", `{"database":"app","level":"write","reason":"r"}`, ""},
		{"GET", "/api/v1/requests?user=bob", "", carol},
		{"GET", "/api/v1/requests/" + r.ID, "", carol},
		{"POST", "/api/v1/requests/" + r.ID + "/approve", "", carol},
		{"POST", "/api/v1/requests/" + r.ID + "/deny", `{"reason":"no"}`, carol},
		{"POST", "/api/v1/requests/" + r.ID + "/cancel", "", carol},
		{"GET", "/api/v1/grants?user=bob", "", carol},
		{"POST", "/api/v1/grants/" + r2.GrantID + "/revoke", "", carol},
	}
	call := func(e ep, token string) int {
		req, _ := http.NewRequest(e.method, a.HTTPURL()+e.path, strings.NewReader(e.body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			if _, ok := body["error"]; !ok {
				t.Errorf("%s %s: error without a JSON error body", e.method, e.path)
			}
		}
		return resp.StatusCode
	}
	for _, e := range eps {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			if got := call(e, ""); got != 401 {
				t.Errorf("no token: %d, want 401", got)
			}
			if got := call(e, "alk_"+testenv.RandHex(22)); got != 401 {
				t.Errorf("unknown token: %d, want 401", got)
			}
			if got := call(e, expired); got != 401 {
				t.Errorf("expired token: %d, want 401", got)
			}
			if e.forbiddenFor != "" {
				if got := call(e, e.forbiddenFor); got != 403 {
					t.Errorf("token without the right: %d, want 403", got)
				}
			}
		})
	}
}

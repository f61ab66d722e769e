package policy

import (
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/config"
)

func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(`
users: [{name: alice, groups: [eng]}]
databases:
  - name: shop
    engine: postgres
    address: "127.0.0.1:5432"
    credentials: {read: {user: ro, password: x}, write: {user: rw, password: y}}
    protected_tables: [public.ledger]
policies:
  - {name: p, groups: [eng], databases: [shop], standing: read, requestable: [write], approvers: [sre]}
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecide(t *testing.T) {
	cfg := testConfig(t, `guardrails:
  - {name: keep-users, databases: [shop], when: 'stmt.kind == "delete" && "public.users" in stmt.tables', message: "users are never deleted by hand"}
  - {name: no-select-star, when: 'stmt.kind == "select" && stmt.text.contains("*")', action: warn, message: "name the columns"}
`)
	e, err := New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		t.Fatal(err)
	}
	alice := &airlock.User{Name: "alice", Groups: []string{"eng"}}
	if got := e.StandingLevel(alice, "shop"); got != airlock.LevelRead {
		t.Fatalf("standing = %s", got)
	}
	if got := e.StandingLevel(&airlock.User{Name: "x"}, "shop"); got != airlock.LevelNone {
		t.Fatalf("standing for stranger = %s", got)
	}
	fn := func(name string) airlock.Statement {
		return airlock.Statement{Kind: airlock.KindSelect, Level: airlock.LevelRead, Functions: []string{name}, Command: "SELECT"}
	}
	del := func(tables []string, where bool) airlock.Statement {
		return airlock.Statement{Kind: airlock.KindDelete, Level: airlock.LevelWrite, Why: "DELETE changes rows", Tables: tables, WriteTables: tables, HasWhere: where, Command: "DELETE"}
	}
	cases := []struct {
		name   string
		level  airlock.Level
		tables []string // grant tables
		st     airlock.Statement
		rule   string // "" = allowed
	}{
		{"read select", airlock.LevelRead, nil, airlock.Statement{Kind: airlock.KindSelect, Level: airlock.LevelRead, Text: "SELECT 1"}, ""},
		{"read delete", airlock.LevelRead, nil, del([]string{"public.t"}, true), "level"},
		{"write delete", airlock.LevelWrite, nil, del([]string{"public.t"}, true), ""},
		{"unbounded", airlock.LevelWrite, nil, del([]string{"public.t"}, false), "unbounded-write"},
		{"unbounded in read session names the guardrail", airlock.LevelRead, nil, del([]string{"public.t"}, false), "unbounded-write"},
		{"unbounded where rows are counted", airlock.LevelWrite, nil, del([]string{"public.t"}, false), "counted"},
		{"unbounded where rows are counted, read session", airlock.LevelRead, nil, del([]string{"public.t"}, false), "counted unbounded-write"},
		{"protected qualified", airlock.LevelWrite, nil, del([]string{"public.ledger"}, true), "protected-table"},
		{"protected unqualified", airlock.LevelWrite, nil, del([]string{"ledger"}, true), "protected-table"},
		{"protected upper case", airlock.LevelAdmin, nil, del([]string{"PUBLIC.LEDGER"}, true), "protected-table"},
		{"other schema not protected", airlock.LevelWrite, nil, del([]string{"audit.ledger"}, true), ""},
		{"custom rule", airlock.LevelWrite, nil, del([]string{"public.users"}, true), "keep-users"},
		{"identity", airlock.LevelAdmin, nil, airlock.Statement{Kind: airlock.KindSet, Level: airlock.LevelRead, Escape: airlock.EscapeIdentity, Command: "SET"}, "escape"},
		{"pinned", airlock.LevelAdmin, nil, airlock.Statement{Kind: airlock.KindSet, Level: airlock.LevelRead, Escape: airlock.EscapePinned, Setting: "client_encoding"}, "escape"},
		{"read-only off in read", airlock.LevelRead, nil, airlock.Statement{Kind: airlock.KindSet, Level: airlock.LevelRead, Escape: airlock.EscapeReadOnly}, "escape"},
		{"read-only off in write", airlock.LevelWrite, nil, airlock.Statement{Kind: airlock.KindSet, Level: airlock.LevelRead, Escape: airlock.EscapeReadOnly}, ""},
		{"drop at write", airlock.LevelWrite, nil, airlock.Statement{Kind: airlock.KindDrop, Level: airlock.LevelDDL, Tables: []string{"t"}, WriteTables: []string{"t"}}, "level"},
		{"drop at ddl", airlock.LevelDDL, nil, airlock.Statement{Kind: airlock.KindDrop, Level: airlock.LevelDDL, Tables: []string{"t"}, WriteTables: []string{"t"}}, ""},
		{"drop protected at ddl", airlock.LevelDDL, nil, airlock.Statement{Kind: airlock.KindDrop, Level: airlock.LevelDDL, Tables: []string{"public.ledger"}, WriteTables: []string{"public.ledger"}}, "protected-table"},
		{"grant tables allow", airlock.LevelWrite, []string{"public.t"}, del([]string{"t"}, true), ""},
		{"grant tables deny", airlock.LevelWrite, []string{"public.t"}, del([]string{"public.u"}, true), "grant"},
		{"undo capture", airlock.LevelAdmin, nil, del([]string{"airlock.capture"}, true), "protected-table"},
		{"xid in read", airlock.LevelRead, nil, fn("txid_current"), "resource"},
		{"xid qualified in read", airlock.LevelRead, nil, fn("PG_CATALOG.pg_current_xact_id"), "resource"},
		{"sleep in read", airlock.LevelRead, nil, fn("pg_sleep_for"), "resource"},
		{"own function of the name", airlock.LevelRead, nil, fn("public.pg_sleep"), ""},
		{"mysql name on postgres", airlock.LevelRead, nil, fn("benchmark"), ""},
		{"sleep in write", airlock.LevelWrite, nil, fn("pg_sleep"), ""},
		{"if assigned", airlock.LevelRead, nil, fn("txid_current_if_assigned"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Subject{User: alice, Database: &cfg.DB("shop").Spec, Level: tc.level, WriteTables: tc.tables}
			// "counted ..." cases run where the adapter counts the rows
			// a write changes; the rest is the expected rule.
			if r, ok := strings.CutPrefix(tc.rule, "counted"); ok {
				s.CountsRows, tc.rule = true, strings.TrimSpace(r)
			}
			d := e.Decide(s, []airlock.Statement{tc.st}, time.Now())
			if d.Rule != tc.rule || d.Allowed != (tc.rule == "") {
				t.Fatalf("decision = %+v, want rule %q", d, tc.rule)
			}
			if tc.rule == "level" && !strings.Contains(d.Hint, "airlock requests create shop --level") {
				t.Errorf("hint = %q", d.Hint)
			}
		})
	}

	// Multi-statement: denied whole, and warn rules warn.
	s := &Subject{User: alice, Database: &cfg.DB("shop").Spec, Level: airlock.LevelRead}
	d := e.Decide(s, []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Text: "SELECT *"}, del([]string{"t"}, true)}, time.Now())
	if d.Allowed || d.Need != airlock.LevelWrite {
		t.Fatalf("multi = %+v", d)
	}
	d = e.Decide(s, []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Text: "SELECT * FROM t"}}, time.Now())
	if !d.Allowed || len(d.Warnings) != 1 || d.Warnings[0].Rule != "no-select-star" {
		t.Fatalf("warn = %+v", d)
	}
	// Disabled built-in rule.
	cfg.DB("shop").Guardrails.Disable = []string{"unbounded-write"}
	s.Level = airlock.LevelWrite
	if d := e.Decide(s, []airlock.Statement{del([]string{"t"}, false)}, time.Now()); !d.Allowed {
		t.Fatalf("disabled rule still denies: %+v", d)
	}
}

func TestRuleCompileErrors(t *testing.T) {
	for _, tc := range []struct{ when, want string }{
		{`stmt.kind ==`, "Syntax error"},
		{`stmt.kindd == "delete"`, "undeclared reference"},
		{`stmt.kind == 1`, "no matching overload"},
		{`stmt.kind`, "must be true or false"},
	} {
		cfg := testConfig(t, "guardrails: [{name: broken, when: '"+tc.when+"'}]\n")
		_, err := New(cfg.PolicySpecs(), cfg.Guardrails)
		if err == nil || !strings.Contains(err.Error(), `guardrail "broken"`) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("when %q: err = %v, want %q", tc.when, err, tc.want)
		}
	}
}

// TestAgentFacts: rules tell agents apart (session.agent) and see whom
// they act for (session.on_behalf_of).
func TestAgentFacts(t *testing.T) {
	cfg := testConfig(t, `guardrails:
  - {name: agents-no-ddl, when: 'session.agent && stmt.level == "ddl"', message: "agents never change the schema"}
  - {name: agents-for-someone, when: 'session.agent && stmt.level == "write" && session.on_behalf_of == ""', message: "say whom you act for"}
`)
	e, err := New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		t.Fatal(err)
	}
	ddl := airlock.Statement{Kind: airlock.KindDDL, Level: airlock.LevelDDL, Command: "CREATE TABLE", Tables: []string{"public.t"}}
	upd := airlock.Statement{Kind: airlock.KindUpdate, Level: airlock.LevelWrite, HasWhere: true, Tables: []string{"public.t"}, WriteTables: []string{"public.t"}}
	agent := &airlock.User{Name: "bot", Kind: airlock.KindAgent}
	person := &airlock.User{Name: "alice", Groups: []string{"eng"}}
	cases := []struct {
		name   string
		user   *airlock.User
		behalf string
		st     airlock.Statement
		rule   string
	}{
		{"agent ddl", agent, "alice", ddl, "agents-no-ddl"},
		{"person ddl", person, "", ddl, ""},
		{"agent write alone", agent, "", upd, "agents-for-someone"},
		{"agent write for alice", agent, "alice", upd, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Subject{User: tc.user, Database: &cfg.DB("shop").Spec, Level: airlock.LevelAdmin, Agent: tc.user.IsAgent(), OnBehalfOf: tc.behalf}
			d := e.Decide(s, []airlock.Statement{tc.st}, time.Now())
			if d.Rule != tc.rule || d.Allowed != (tc.rule == "") {
				t.Fatalf("decision = %+v, want rule %q", d, tc.rule)
			}
		})
	}
}

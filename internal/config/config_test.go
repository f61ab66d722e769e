package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock"
)

func TestSpecExample(t *testing.T) {
	t.Setenv("SHOP_RO_PASSWORD", "ro-secret")
	c, err := Load("testdata/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := c.DB("shop")
	if db == nil {
		t.Fatal("no database shop")
	}
	if got := db.Credentials[airlock.LevelRead]; got.User != "shop_ro" || got.Password != "ro-secret" {
		t.Errorf("read credential = %+v", got)
	}
	if got := db.Credentials[airlock.LevelWrite]; got.Password != "secret" {
		t.Errorf("write credential = %+v", got)
	}
	if _, ok := db.Credentials[airlock.LevelDDL]; ok {
		t.Error("ddl credential should be missing")
	}
	if c.Policies[0].MaxDuration.D() != 4*time.Hour || c.Policies[0].Standing != airlock.LevelRead {
		t.Errorf("policy = %+v", c.Policies[0])
	}
	if c.Listen.Postgres.Address != "127.0.0.1:15432" || c.Listen.Postgres.Auth != "scram" {
		t.Errorf("listen = %+v", c.Listen)
	}
	want := filepath.Join(c.Dir(), "airlock.db")
	if c.StorePath() != want {
		t.Errorf("store path = %q, want %q", c.StorePath(), want)
	}
	if !db.ParamsAudited() || !db.RuleEnabled("blast-radius") {
		t.Error("defaults not applied")
	}
}

func TestErrors(t *testing.T) {
	base := `databases:
  - name: shop
    engine: postgres
    address: "127.0.0.1:5432"
    credentials:
      read: {user: ro, password: x}
`
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "listn: {}\n", "c.yaml:1: listn: unknown key"},
		{"unknown nested key", base + "    colour: blue\n", "c.yaml:7: databases[0].colour: unknown key"},
		{"bad duration", "tokens: {default_ttl: soon}\n", `c.yaml:1: tokens.default_ttl: want a duration`},
		{"yaml syntax", "users: [\n", `c.yaml:1: did not find expected node content`},
		{"metrics unknown key", "metrics: {token: x}\n", `c.yaml:1: metrics.token: unknown key`},
		{"short duration", "tokens: {default_ttl: 10ms}\n", `shorter than 1s`},
		{"bad level", base + "policies:\n  - {name: p, groups: [g], databases: [shop], standing: root}\n", `c.yaml:8: policies[0].standing: unknown level "root"`},
		{"unknown database", base + "policies:\n  - {name: p, groups: [g], databases: [nope]}\n", `c.yaml:8: policies[0].databases: unknown database "nope"`},
		{"bad engine", strings.Replace(base, "postgres", "oracle", 1), `c.yaml:3: databases[0].engine: want postgres or mysql`},
		{"missing env", strings.Replace(base, "password: x", "password_env: AIRLOCK_TEST_UNSET_VAR", 1), "AIRLOCK_TEST_UNSET_VAR is not set"},
		{"unqualified protected", base + "    protected_tables: [ledger]\n", "public.ledger"},
		{"bad bool", base + "    strict: maybe\n", "want true or false"},
		{"list for scalar", "store: [a]\n", "store: want a single value"},
		{"unknown rule", base + "    guardrails: {disable: [no-such]}\n", `unknown built-in rule "no-such"`},
		{"dup user", "users: [{name: a}, {name: a}]\n", `declared twice`},
		{"bad role", "users: [{name: a, roles: [root]}]\n", `unknown role "root"`},
		{"agent named like a user", "users: [{name: a}]\nagents: [{name: a}]\n", `c.yaml:2: agents[0].name: "a" is declared twice`},
		{"bad agent name", "agents: [{name: 'no way'}]\n", `agents[0].name: want a name`},
		{"unknown agent key", "agents: [{name: a, role: admin}]\n", `agents[0].role: unknown key`},
		{"negative mcp limit", "mcp: {max_rows: -1}\n", `mcp: limits cannot be negative`},
		{"guardrail action", base + "guardrails: [{name: g, when: 'true', action: block}]\n", "want deny or warn"},
		{"requestable below standing", base + "policies:\n  - {name: p, groups: [g], databases: [shop], standing: write, requestable: [read], approvers: [x]}\n", "not above the standing level"},
		{"empty", "", "the file is empty"},
		{"soft_drop unknown key", base + "    soft_drop: {retention: 72h, keep: forever}\n", "databases[0].soft_drop.keep: unknown key"},
		{"soft_drop without retention", base + "    soft_drop: {}\n", "databases[0].soft_drop.retention: set how long"},
		{"soft_drop bad retention", base + "    soft_drop: {retention: 3 days}\n", "soft_drop.retention: want a duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestListenerMapping(t *testing.T) {
	c, err := Parse("c.yaml", []byte("listen: {postgres: {address: '127.0.0.1:0', auth: cleartext}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.Postgres.Address != "127.0.0.1:0" || c.Listen.Postgres.Auth != "cleartext" {
		t.Fatalf("listen = %+v", c.Listen.Postgres)
	}
	if _, err := Parse("c.yaml", []byte("listen: {postgres: {adress: x}}\n")); err == nil || !strings.Contains(err.Error(), "adress: unknown key") {
		t.Fatalf("err = %v", err)
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600)
	cfg := `databases:
  - {name: d, engine: postgres, address: "h:1", credentials: {read: {user: u, password_file: pw}}}
`
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte(cfg), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Databases[0].Credentials[airlock.LevelRead].Password; got != "s3cret" {
		t.Fatalf("password = %q", got)
	}
}

func TestAgents(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`users: [{name: alice, groups: [eng]}]
agents:
  - {name: claude-shop, on_behalf_of_required: true, groups: [agents], calls_per_minute: 5}
mcp: {bytes_per_minute: 1000}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.AgentByName("claude-shop")
	if a == nil || !a.OnBehalfOfRequired || a.Groups[0] != "agents" {
		t.Fatalf("agent = %+v", a)
	}
	if calls, bytes := c.AgentLimits("claude-shop"); calls != 5 || bytes != 1000 {
		t.Errorf("limits = %d calls, %d bytes", calls, bytes)
	}
	if calls, _ := c.AgentLimits("other"); calls != c.MCP.CallsPerMinute || calls <= 0 {
		t.Errorf("default calls = %d", calls)
	}
	us := c.ConfigUsers()
	if len(us) != 2 || us[0].IsAgent() || !us[1].IsAgent() || !us[1].FromConfig {
		t.Fatalf("config users = %+v", us)
	}
}

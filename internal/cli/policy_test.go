package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

// policyTestConfig has a PostgreSQL and a MySQL database that cannot be
// reached: policy test never connects.
const policyTestConfig = `users:
  - {name: eva, groups: [eng]}
  - {name: wanda, groups: [writers]}
databases:
  - {name: app, engine: postgres, address: "127.0.0.1:1", database: app, tls: disable, credentials: {read: {user: r, password: r}, write: {user: w, password: w}}}
  - {name: shop, engine: mysql, address: "127.0.0.1:1", database: shop, tls: disable, credentials: {read: {user: r, password: r}, write: {user: w, password: w}}}
policies:
  - {name: eng, groups: [eng], databases: [app, shop], standing: read}
  - {name: writers, groups: [writers], databases: [app, shop], standing: write}
`

// TestPolicyTestDialects: `policy test` classifies with the dialect of the
// database's engine: MySQL text (backticks, REPLACE INTO, LOAD DATA) on a
// MySQL database is read and decided as the gateway would, and the same
// text on a PostgreSQL database is a parse error, while PostgreSQL text
// still is decided there.
func TestPolicyTestDialects(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "airlock.yaml")
	if err := os.WriteFile(cfg, []byte(policyTestConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, db, user, level, sql string
		code                       int
		want                       []string
	}{
		{"mysql read", "shop", "eva", "read", "SELECT `id`, `name` FROM `items` WHERE `id` = 1", 0, []string{
			"kind select, needs read", "tables shop.items;", "has_where true", "decision: allowed at read"}},
		{"mysql replace at read", "shop", "eva", "read", "REPLACE INTO `items` (`id`) VALUES (1)", 3, []string{
			"kind insert, needs write", "writes shop.items", "decision: denied", "rule: level",
			"REPLACE adds rows and replaces those with the same key; it needs write access and this session has read"}},
		{"mysql replace at write", "shop", "wanda", "write", "REPLACE INTO `items` (`id`) VALUES (1)", 0, []string{
			"kind insert, needs write", "decision: allowed at write (runs guarded"}},
		{"mysql load data", "shop", "eva", "read", "LOAD DATA INFILE '/tmp/x' INTO TABLE `items`", 3, []string{
			"kind copy_from", "writes shop.items", "decision: denied", "rule: level", "this session has read"}},
		{"mysql rejects postgres text", "shop", "eva", "read", `SELECT 1::int FROM items`, 3, []string{
			"parse error:", "rule: parse"}},
		{"postgres read", "app", "eva", "read", `SELECT "id" FROM items WHERE id = 1`, 0, []string{
			"kind select, needs read", "tables public.items;", "decision: allowed at read"}},
		{"postgres delete at read", "app", "eva", "read", "DELETE FROM items WHERE id = 1", 3, []string{
			"kind delete, needs write", "decision: denied", "rule: level", "this session has read"}},
		{"postgres rejects backticks", "app", "eva", "read", "SELECT `id` FROM `items`", 3, []string{
			"parse error: syntax error", "rule: parse"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(nil, "policy", "test", "--config", cfg, "--database", tc.db,
				"--user", tc.user, "--level", tc.level, "--sql", tc.sql)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in\n%s%s", w, out, errs)
				}
			}
		})
	}

	// --json: the facts and the decision, with the reason.
	out, errs, code := run(nil, "policy", "test", "--json", "--config", cfg, "--database", "shop",
		"--user", "eva", "--level", "read", "--sql", "REPLACE INTO `items` (`id`) VALUES (1)")
	if code != 3 {
		t.Errorf("json: exit %d, want 3\n%s%s", code, out, errs)
	}
	var p gateway.Preview
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(p.Statements) != 1 || p.Statements[0].Kind != airlock.KindInsert || p.Statements[0].Command != "REPLACE" ||
		p.Statements[0].Level != airlock.LevelWrite || strings.Join(p.Statements[0].WriteTables, ",") != "shop.items" {
		t.Errorf("json statements: %+v", p.Statements)
	}
	if p.Decision.Allowed || p.Decision.Rule != "level" || !strings.Contains(p.Decision.Reason, "REPLACE adds rows") {
		t.Errorf("json decision: %+v", p.Decision)
	}

	// A database the config does not have is named.
	if _, errs, code := run(nil, "policy", "test", "--config", cfg, "--database", "nope", "--sql", "SELECT 1"); code == 0 || !strings.Contains(errs, `no database "nope"`) {
		t.Errorf("unknown database: exit %d\n%s", code, errs)
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"airlock"
)

// TestDatabaseKnownKeys: the keys a database entry's unknown-key error
// lists are exactly the keys it decodes, the domain's and the config's.
func TestDatabaseKnownKeys(t *testing.T) {
	fields := map[string][]int{}
	names := structFields(reflect.TypeOf(Database{}), nil, fields, nil)
	listed := (*Database)(nil).knownKeys()
	slices.Sort(names)
	sorted := slices.Sorted(slices.Values(listed))
	if !slices.Equal(names, sorted) {
		t.Fatalf("knownKeys() = %v, decoded keys = %v", listed, names)
	}
}

// TestDatabaseDomain: a database entry decodes into the domain database
// with typed engine and undo mode, and into the config-only parts beside it.
func TestDatabaseDomain(t *testing.T) {
	entry := `databases:
  - name: shop
    engine: %s
    address: "127.0.0.1:3306"
    undo: %s
    strict: true
%s    guardrails: {disable: [resource]}
    credentials:
      read: {user: ro, password: x}
  - name: crm
    engine: postgres
    address: "127.0.0.1:5432"
    credentials:
      read: {user: ro, password: x}
`
	yaml := fmt.Sprintf(entry, "mysql", "required", "    soft_drop: {retention: 72h}\n")
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	shop, crm := c.DB("shop"), c.DB("crm")
	want := airlock.Database{Name: "shop", Engine: airlock.EngineMySQL, Address: "127.0.0.1:3306", Database: "shop",
		TLSMode: "prefer", MaxRowsChanged: 1000, Undo: airlock.UndoRequired, UnboundedWriteMaxRows: 1,
		Guardrails: airlock.DatabaseGuardrails{Disable: []string{"resource"}}, SoftDrop: &airlock.SoftDrop{Retention: 72 * time.Hour}}
	if !reflect.DeepEqual(shop.Spec, want) {
		t.Errorf("shop = %+v, want %+v", shop.Spec, want)
	}
	if !shop.Strict || shop.Line != 2 || shop.Credentials[airlock.LevelRead].User != "ro" || shop.RuleEnabled("resource") {
		t.Errorf("shop config parts = %+v", shop)
	}
	if crm.Engine != airlock.EnginePostgres || crm.Undo != airlock.UndoBestEffort || crm.SoftDrop != nil {
		t.Errorf("crm = %+v", crm.Spec)
	}

	for _, c := range []struct{ engine, undo, extra, want string }{
		{"oracle", "off", "", `c.yaml:3: databases[0].engine: want postgres or mysql, got "oracle"`},
		{"mysql", "sometimes", "", `c.yaml:5: databases[0].undo: want required, best_effort or off, got "sometimes"`},
		{"mysql", "off", "    soft_drop: {retention: 10ms}\n", `c.yaml:7: databases[0].soft_drop.retention: duration 10ms is shorter than 1s`},
		{"mysql", "off", "    colour: blue\n", "c.yaml:7: databases[0].colour: unknown key (known keys here: name, engine, address, database, tls, credentials, protected_tables,"},
	} {
		bad := fmt.Sprintf(entry, c.engine, c.undo, c.extra)
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s/%s/%q: err = %v, want %q", c.engine, c.undo, c.extra, err, c.want)
		}
	}
}

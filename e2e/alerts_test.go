package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/testenv"
)

// TestAlerts: each alert rule fires into a webhook receiver when its
// pattern is played, and is an audit event of kind alert.
func TestAlerts(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev struct {
			Event string `json:"event"`
			Rule  string `json:"rule"`
		}
		json.Unmarshal(b, &ev)
		mu.Lock()
		got[ev.Rule]++
		mu.Unlock()
	}))
	defer recv.Close()
	// Working hours that do not include now.
	now := time.Now().UTC()
	hours := fmt.Sprintf("%s-%s", now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04"))

	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 50); CREATE TABLE other (id int)")
	a := testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf(`notifications:
  webhooks: [{url: %q, format: json, events: ["alert.*"]}]
alerts:
  - {name: too-many-denials, type: denials, count: 2, window: 1m}
  - {name: big-read, type: rows_read, count: 30}
  - {name: off-hours, type: outside_hours, hours: %q, days: [mon, tue, wed, thu, fri, sat, sun], timezone: UTC}
  - {name: new-table, type: first_table_access}
  - {name: new-address, type: new_client_address}
`, recv.URL, hours)})
	ctx := context.Background()
	alice := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	defer alice.Close(ctx)
	for range 3 {
		alice.Exec(ctx, "DELETE FROM items WHERE id = 1")
	}
	var n int
	alice.QueryRow(ctx, "SELECT count(*) FROM (SELECT * FROM items) s").Scan(&n)
	rows, _ := alice.Query(ctx, "SELECT id FROM items")
	for rows.Next() {
	}
	rows.Close()
	alice.Exec(ctx, "SELECT * FROM items WHERE id = 2") // not a first access any more
	wanda := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer wanda.Close(ctx)
	if _, err := wanda.Exec(ctx, "INSERT INTO other VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	wanda.Exec(ctx, "INSERT INTO other VALUES (2)") // same address: no second alert

	want := map[string]int{"too-many-denials": 1, "big-read": 1, "off-hours": 2, "new-table": 2, "new-address": 1}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := true
		for k, v := range want {
			ok = ok && got[k] >= v
		}
		snapshot := fmt.Sprint(got)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts received %s, want at least %v", snapshot, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("alert %s fired %d times, want %d", k, got[k], v)
		}
	}
	// They are audit events of kind alert.
	out, err := runCLI(t, a, a.AdminToken, "audit", "list", "--kind", "alert", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var evs []airlock.Event
	json.Unmarshal([]byte(out), &evs)
	if len(evs) != 7 {
		t.Errorf("%d alert events in the audit, want 7:\n%s", len(evs), out)
	}
}

// TestAuditFileSinkAndCheckpoints: every event goes to the JSON-lines file
// with HMAC-keyed checkpoints; verify compares the store with the last
// checkpoint, so that losing the newest events is detected.
func TestAuditFileSinkAndCheckpoints(t *testing.T) {
	db := testenv.NewDB(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "audit.key")
	os.WriteFile(keyFile, []byte(testenv.RandHex(32)+"\n"), 0o600)
	file := filepath.Join(dir, "audit.jsonl")
	a := testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf("audit: {file: %q, hmac_key_file: %q}\n", file, keyFile)})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	for i := range 30 {
		c.Exec(ctx, fmt.Sprintf("SELECT %d", i))
	}
	c.Close(ctx)
	a.Shutdown(ctx, time.Second)

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var ids []int64
	for _, l := range lines {
		var ev airlock.Event
		if strings.HasPrefix(l, `{"checkpoint"`) {
			continue
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		ids = append(ids, ev.ID)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("file events out of order or missing at %d: %v", i, ids)
		}
	}
	cp, err := audit.LastCheckpoint(strings.NewReader(string(data)))
	if err != nil || cp == nil || cp.ID != ids[len(ids)-1] || cp.HMAC == "" {
		t.Fatalf("last checkpoint %+v %v (last id %d)", cp, err, ids[len(ids)-1])
	}
	cfg := filepath.Join(a.Dir, "airlock.yaml")
	out := run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("%s audit verify --config %s; echo exit=$?", airlockBin, cfg))
	if !strings.Contains(out, "exit=0") {
		t.Fatalf("verify: %s", out)
	}
	// Drop the newest events from the store: the chain alone still
	// verifies, the checkpoint does not.
	tamperEvents(t, filepath.Join(a.Dir, "airlock.db"), func(evs map[int64]string) {
		last := int64(0)
		for id := range evs {
			last = max(last, id)
		}
		for id := last - 2; id <= last; id++ {
			delete(evs, id)
		}
	})
	out = run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("%s audit verify --config %s; echo exit=$?", airlockBin, cfg))
	if strings.Contains(out, "exit=0") || !strings.Contains(out, "lost the newest events") {
		t.Fatalf("verify after truncation: %s", out)
	}
}

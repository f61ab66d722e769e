package mcp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"airlock"
	airmcp "airlock/internal/mcp"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestBridgeInProcess drives the stdio bridge with the SDK's client over
// in-memory transports: tools come from the server, calls carry the
// token, on_behalf_of and the --database limit.
func TestBridgeInProcess(t *testing.T) {
	a, _ := pgEnv(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ct, st := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() {
		done <- airmcp.Bridge(ctx, airmcp.BridgeOptions{Endpoint: a.HTTPURL() + "/mcp", Token: a.Token("strict-bot", 0),
			OnBehalfOf: "alice", Databases: []string{"app"}}, st)
	}()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if got := strings.Join(names, ","); got != "describe,execute,explain,list_databases,query,request_access,undo_preview" {
		t.Fatalf("tools = %s", got)
	}
	// strict-bot must name whom it acts for: the bridge adds alice.
	var q queryResult
	structured(t, call(t, cs, "query", map[string]any{"database": "app", "sql": "SELECT count(*) AS n FROM items"}), &q)
	if q.Count != 1 || q.Rows[0][0] != float64(10) || q.Columns[0].Type != "int8" {
		t.Fatalf("query = %+v", q)
	}
	wantError(t, call(t, cs, "query", map[string]any{"database": "other", "sql": "SELECT 1"}), "limited to databases [app]")
	var dbs struct {
		Databases []struct{ Name string } `json:"databases"`
	}
	structured(t, call(t, cs, "list_databases", nil), &dbs)
	if len(dbs.Databases) != 1 || dbs.Databases[0].Name != "app" {
		t.Fatalf("list_databases = %+v", dbs)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "DELETE FROM items WHERE id = 1"}), "airlock: denied: level:")
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "nope"}); err == nil {
		t.Fatal("unknown tool answered")
	}
	cs.Close()
	cancel()
	<-done
}

// TestBridgeSubprocess runs the real `airlock mcp` as an MCP client would
// (Claude Code, Cursor): a subprocess on stdio, authenticated by
// AIRLOCK_TOKEN.
func TestBridgeSubprocess(t *testing.T) {
	a, db := pgEnv(t, "")
	bin := filepath.Join(t.TempDir(), "airlock")
	if out, err := exec.Command("go", "build", "-o", bin, "airlock/cmd/airlock").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// users add --agent makes an agent.
	add := exec.Command(bin, "users", "add", "robo", "--agent", "--group", "eng", "--json")
	add.Env = append(os.Environ(), "AIRLOCK_SERVER="+a.HTTPURL(), "AIRLOCK_TOKEN="+a.AdminToken, "HOME="+t.TempDir())
	if out, err := add.CombinedOutput(); err != nil || !strings.Contains(string(out), `"kind": "agent"`) {
		t.Fatalf("users add --agent: %v\n%s", err, out)
	}
	if u, err := a.Store.GetUser(t.Context(), "robo"); err != nil || !u.IsAgent() {
		t.Fatalf("robo = %+v, %v", u, err)
	}

	cmd := exec.Command(bin, "mcp", "--on-behalf-of", "alice")
	cmd.Env = append(os.Environ(), "AIRLOCK_SERVER="+a.HTTPURL(), "AIRLOCK_TOKEN="+a.Token("bot", 0), "HOME="+t.TempDir())
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(t.Context(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var dbs struct {
		Databases []struct{ Name, Level string } `json:"databases"`
	}
	structured(t, call(t, cs, "list_databases", nil), &dbs)
	if len(dbs.Databases) != 1 || dbs.Databases[0].Level != "read" {
		t.Fatalf("list_databases = %+v", dbs)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE items SET qty = 1 WHERE id = 3"}), "airlock: denied: level:", "request_access")
	approve(t, a, cs, nil)
	var w struct {
		RowsChanged int64  `json:"rows_changed"`
		UndoID      string `json:"undo_id"`
	}
	structured(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE items SET qty = 1 WHERE id = 3"}), &w)
	if w.RowsChanged != 1 || w.UndoID == "" || db.QueryInt("SELECT qty FROM items WHERE id = 3") != 1 {
		t.Fatalf("execute = %+v", w)
	}
	// on_behalf_of came from the command line.
	r, err := a.Access.ListRequests(t.Context(), a.Actor(a.AdminToken), airlock.RequestFilter{User: "bot"})
	if err != nil || len(r) != 1 || !strings.Contains(r[0].Reason, "for alice") {
		t.Fatalf("requests = %+v, %v", r, err)
	}
}

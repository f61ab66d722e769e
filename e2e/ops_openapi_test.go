package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"airlock/internal/api"
	"airlock/internal/testenv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// loadOpenAPI parses and validates the embedded OpenAPI document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// TestOpenAPIRoutes: every route the API registers is in the document,
// and every operation of the document is a registered route.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := api.Routes()
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for op := range documented {
		if !slices.Contains(routes, op) {
			t.Errorf("openapi.json documents %s, which the API does not serve", op)
		}
	}
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered: %v", len(routes), routes)
	}
}

// apiCall is one request of TestOpenAPIResponses.
type apiCall struct {
	method, path, token string
	body                any
	status              int
}

// TestOpenAPIResponses drives every endpoint of a real airlock, success
// and error answers, and validates each request and response against the
// document (undocumented fields or statuses fail); every route must have
// been exercised.
func TestOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a')`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info", Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    undo: best_effort
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)})
	doc.Servers = openapi3.Servers{{URL: a.HTTPURL()}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
	ctx := context.Background()
	admin, alice, bob, wanda := a.AdminToken, a.Token("alice", time.Hour), a.Token("bob", time.Hour), a.Token("wanda", time.Hour)

	// A session that writes, for sessions, undo and kill.
	c := testenv.Connect(t, a.URL("wanda", wanda, "app"))
	if _, err := c.Exec(ctx, "UPDATE items SET name = 'b' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var undoID string
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	call := func(c apiCall) []byte {
		t.Helper()
		var body io.Reader
		var raw []byte
		if c.body != nil {
			raw, _ = json.Marshal(c.body)
			body = bytes.NewReader(raw)
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(rctx, c.method, a.HTTPURL()+c.path, body)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: not in openapi.json: %v", c.method, c.path, err)
		}
		seen[route.Method+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateRequest(rctx, in); err != nil {
			t.Errorf("%s %s: request does not match openapi.json: %v", c.method, c.path, err)
		}
		if raw != nil {
			req.Body = io.NopCloser(bytes.NewReader(raw))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got []byte
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			buf := make([]byte, 4096) // the stream does not end: its first bytes
			n, _ := resp.Body.Read(buf)
			got = buf[:n]
		} else {
			got, _ = io.ReadAll(resp.Body)
		}
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, got, c.status)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: in.Options}
		out.SetBodyBytes(got)
		if err := openapi3filter.ValidateResponse(rctx, out); err != nil {
			t.Errorf("%s %s: response does not match openapi.json: %v\n%s", c.method, c.path, err, got)
		}
		return got
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}

	call(apiCall{"GET", "/api/v1/openapi.json", "", nil, 200})
	call(apiCall{"GET", "/api/v1/whoami", "", nil, 401})
	call(apiCall{"GET", "/api/v1/whoami", alice, nil, 200})
	call(apiCall{"GET", "/api/v1/users", alice, nil, 403})
	call(apiCall{"GET", "/api/v1/users", admin, nil, 200})
	call(apiCall{"POST", "/api/v1/users", admin, map[string]any{"name": "dave", "groups": []string{"eng"}}, 201})
	call(apiCall{"POST", "/api/v1/users", admin, map[string]any{"name": "dave"}, 409})
	var tok struct{ ID string }
	decode(call(apiCall{"POST", "/api/v1/tokens", admin, map[string]any{"user": "dave", "ttl": "30m"}, 201}), &tok)
	call(apiCall{"POST", "/api/v1/tokens", admin, map[string]any{"user": "dave", "ttl": "soon"}, 400})
	call(apiCall{"GET", "/api/v1/tokens?user=dave", admin, nil, 200})
	call(apiCall{"POST", "/api/v1/tokens/" + tok.ID + "/revoke", admin, nil, 200})
	decode(call(apiCall{"POST", "/api/v1/tokens", admin, map[string]any{"user": "dave"}, 201}), &tok)
	call(apiCall{"DELETE", "/api/v1/tokens/" + tok.ID, admin, nil, 200})
	call(apiCall{"DELETE", "/api/v1/tokens/nope", admin, nil, 404})
	call(apiCall{"GET", "/api/v1/audit?limit=50", admin, nil, 200})
	call(apiCall{"GET", "/api/v1/audit?since=yesterday", admin, nil, 400})
	call(apiCall{"GET", "/api/v1/audit/verify", admin, nil, 200})
	call(apiCall{"GET", "/api/v1/audit/export?kind=statement", admin, nil, 200})
	call(apiCall{"GET", "/api/v1/audit/stream?after_id=0", admin, nil, 200})
	var sessions []struct{ ID, User string }
	decode(call(apiCall{"GET", "/api/v1/sessions?active=true", admin, nil, 200}), &sessions)
	call(apiCall{"GET", "/api/v1/databases", alice, nil, 200})
	call(apiCall{"GET", "/api/v1/databases/app/check", admin, nil, 200})
	call(apiCall{"POST", "/api/v1/databases/app/prepare", admin, nil, 200})
	call(apiCall{"POST", "/api/v1/databases/nope/prepare", admin, nil, 404})
	// With capture installed, a write leaves an undo record.
	if _, err := c.Exec(ctx, "UPDATE items SET name = 'c' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	a.Audit.Sync(ctx)
	var evs []struct {
		Detail map[string]string `json:"detail"`
	}
	decode(call(apiCall{"GET", "/api/v1/audit?kind=statement&statement_kind=update&user=wanda", admin, nil, 200}), &evs)
	for _, ev := range evs {
		if strings.HasPrefix(ev.Detail["undo"], "u") {
			undoID = ev.Detail["undo"]
		}
	}
	if undoID == "" {
		t.Fatalf("no undo record in %v", evs)
	}
	call(apiCall{"GET", "/api/v1/undo/" + undoID, admin, nil, 200})
	call(apiCall{"GET", "/api/v1/undo/nope", admin, nil, 400})
	call(apiCall{"POST", "/api/v1/undo/" + undoID + "/apply", admin, map[string]any{"force": false}, 200})
	for _, s := range sessions {
		if s.User == "wanda" {
			call(apiCall{"POST", "/api/v1/sessions/" + s.ID + "/kill", admin, nil, 200})
		}
	}
	call(apiCall{"POST", "/api/v1/sessions/nope/kill", admin, nil, 404})

	var req struct{ ID string }
	decode(call(apiCall{"POST", "/api/v1/requests", alice, map[string]any{"database": "app", "level": "write", "duration": "1h", "reason": "fix"}, 201}), &req)
	call(apiCall{"POST", "/api/v1/requests", alice, map[string]any{"database": "app", "level": "admin", "duration": "1h", "reason": "fix"}, 400})
	call(apiCall{"GET", "/api/v1/requests?pending=true", bob, nil, 200})
	call(apiCall{"GET", "/api/v1/requests/" + req.ID, alice, nil, 200})
	call(apiCall{"POST", "/api/v1/requests/" + req.ID + "/approve", bob, nil, 200})
	call(apiCall{"POST", "/api/v1/requests/" + req.ID + "/approve", bob, nil, 409})
	var grants []struct{ ID string }
	decode(call(apiCall{"GET", "/api/v1/grants?active=true", admin, nil, 200}), &grants)
	if len(grants) != 1 {
		t.Fatalf("grants: %v", grants)
	}
	call(apiCall{"POST", "/api/v1/grants/" + grants[0].ID + "/revoke", admin, nil, 200})
	decode(call(apiCall{"POST", "/api/v1/requests", alice, map[string]any{"database": "app", "level": "write", "reason": "again"}, 201}), &req)
	call(apiCall{"POST", "/api/v1/requests/" + req.ID + "/deny", bob, map[string]any{"reason": "no"}, 200})
	decode(call(apiCall{"POST", "/api/v1/requests", alice, map[string]any{"database": "app", "level": "write", "reason": "third"}, 201}), &req)
	call(apiCall{"POST", "/api/v1/requests/" + req.ID + "/cancel", alice, nil, 200})

	for _, r := range api.Routes() {
		if !seen[r] {
			t.Errorf("route %s was not exercised", r)
		}
	}
}

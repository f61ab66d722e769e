package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BridgeOptions configure Bridge.
type BridgeOptions struct {
	// Endpoint is the server's MCP endpoint (https://airlock.example/mcp).
	Endpoint string
	// Token is the bearer token every call carries.
	Token string
	// OnBehalfOf, when set, is added to calls that do not name whom
	// they act for.
	OnBehalfOf string
	// Databases, when not empty, are the only databases calls may name
	// (airlock mcp --database).
	Databases []string
	Version   string
	// HTTPClient is used for the server (default: one with a timeout
	// long enough for a request_access that waits).
	HTTPClient *http.Client
}

// Bridge serves MCP on t (stdio, for `airlock mcp`) by forwarding the
// server's tools: the tool list comes from the server at start, and each
// call goes to the server's /mcp endpoint with the token. The bridge holds
// no database credential and decides nothing; it returns when t closes or
// ctx ends.
func Bridge(ctx context.Context, o BridgeOptions, t mcp.Transport) error {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Minute}
	}
	hc = &http.Client{Timeout: hc.Timeout, Transport: bearer{token: o.Token, next: hc.Transport}}
	if o.Version == "" {
		o.Version = "dev"
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "airlock-mcp-bridge", Version: o.Version}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: o.Endpoint, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", o.Endpoint, err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("list the server's tools: %w", err)
	}
	instructions := ""
	if r := cs.InitializeResult(); r != nil {
		instructions = r.Instructions
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "airlock", Version: o.Version}, &mcp.ServerOptions{Instructions: instructions})
	for _, tool := range tools.Tools {
		srv.AddTool(tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, errRes := o.arguments(req.Params.Arguments)
			if errRes != nil {
				return errRes, nil
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: req.Params.Name, Arguments: args})
			if err != nil {
				return nil, fmt.Errorf("airlock server: %w", err)
			}
			if req.Params.Name == "list_databases" && len(o.Databases) > 0 && !res.IsError {
				res = o.onlyDatabases(res)
			}
			return res, nil
		})
	}
	return srv.Run(ctx, t)
}

// arguments adds on_behalf_of and checks the database against --database.
// Arguments that are not an object go to the server unchanged, which
// answers the validation error.
func (o *BridgeOptions) arguments(raw json.RawMessage) (json.RawMessage, *mcp.CallToolResult) {
	if o.OnBehalfOf == "" && len(o.Databases) == 0 {
		return raw, nil
	}
	var m map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &m) != nil {
		return raw, nil // not an object: the server answers the validation error
	}
	if m == nil {
		m = map[string]any{}
	}
	if db, ok := m["database"].(string); ok && len(o.Databases) > 0 && !slices.Contains(o.Databases, db) {
		return nil, &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{
			Text: fmt.Sprintf("airlock: this MCP server is limited to databases %v (airlock mcp --database); %q is not one of them", o.Databases, db)}}}
	}
	if _, ok := m["on_behalf_of"]; !ok && o.OnBehalfOf != "" {
		m["on_behalf_of"] = o.OnBehalfOf
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw, nil
	}
	return b, nil
}

// onlyDatabases keeps the databases of --database in a list_databases
// answer.
func (o *BridgeOptions) onlyDatabases(res *mcp.CallToolResult) *mcp.CallToolResult {
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return res
	}
	var list struct {
		Databases []DatabaseInfo `json:"databases"`
	}
	if json.Unmarshal(b, &list) != nil {
		return res
	}
	kept := []DatabaseInfo{}
	for _, d := range list.Databases {
		if slices.Contains(o.Databases, d.Name) {
			kept = append(kept, d)
		}
	}
	out := map[string]any{"databases": kept}
	r := textResult(out)
	r.StructuredContent = out
	return r
}

// bearer adds the token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	next := b.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

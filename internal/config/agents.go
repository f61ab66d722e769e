package config

import (
	"fmt"
	"slices"
	"time"

	"airlock"
)

// Agent is an AI agent or program declared in the config (`agents:`): a
// user of kind agent, managed by the config like declared users. Agents
// reach databases through the MCP server only.
type Agent struct {
	Line   int      `yaml:"-"`
	Name   string   `yaml:"name"`
	Groups []string `yaml:"groups"`
	// OnBehalfOfRequired refuses the agent's calls that do not name the
	// person they act for.
	OnBehalfOfRequired bool `yaml:"on_behalf_of_required"`
	// CallsPerMinute and BytesPerMinute override the MCP server's
	// per-agent limits for this agent (0: the mcp: defaults).
	CallsPerMinute int   `yaml:"calls_per_minute"`
	BytesPerMinute int64 `yaml:"bytes_per_minute"`
}

// MCP bounds what the MCP server returns and how often agents may call it.
type MCP struct {
	// MaxRows, MaxBytes and Timeout bound one query's result (rows,
	// encoded bytes) and its running time.
	MaxRows  int      `yaml:"max_rows"`
	MaxBytes int64    `yaml:"max_bytes"`
	Timeout  Duration `yaml:"timeout"`
	// CallsPerMinute and BytesPerMinute are each agent's limits on tool
	// calls and on result bytes over the last minute.
	CallsPerMinute int   `yaml:"calls_per_minute"`
	BytesPerMinute int64 `yaml:"bytes_per_minute"`
	// RequestWait is the longest request_access waits for a decision.
	RequestWait Duration `yaml:"request_wait"`
}

// AgentByName returns the declared agent called name, or nil.
func (c *Config) AgentByName(name string) *Agent {
	for i := range c.Agents {
		if c.Agents[i].Name == name {
			return &c.Agents[i]
		}
	}
	return nil
}

// AgentLimits returns the calls and result bytes per minute allowed to the
// agent called name.
func (c *Config) AgentLimits(name string) (calls int, bytes int64) {
	calls, bytes = c.MCP.CallsPerMinute, c.MCP.BytesPerMinute
	if a := c.AgentByName(name); a != nil {
		if a.CallsPerMinute > 0 {
			calls = a.CallsPerMinute
		}
		if a.BytesPerMinute > 0 {
			bytes = a.BytesPerMinute
		}
	}
	return calls, bytes
}

func (c *Config) agentDefaults() {
	m := &c.MCP
	if m.MaxRows == 0 {
		m.MaxRows = 500
	}
	if m.MaxBytes == 0 {
		m.MaxBytes = 256 << 10
	}
	if m.Timeout == 0 {
		m.Timeout = Duration(30 * time.Second)
	}
	if m.CallsPerMinute == 0 {
		m.CallsPerMinute = 120
	}
	if m.BytesPerMinute == 0 {
		m.BytesPerMinute = 8 << 20
	}
	if m.RequestWait == 0 {
		m.RequestWait = Duration(10 * time.Minute)
	}
}

func (c *Config) validateAgents(at func(line int, path, format string, args ...any)) {
	names := map[string]bool{}
	for _, u := range c.Users {
		names[u.Name] = true
	}
	for i, a := range c.Agents {
		p := fmt.Sprintf("agents[%d]", i)
		if !nameRE.MatchString(a.Name) {
			at(a.Line, p+".name", "want a name of letters, digits, _ . - (up to 63), got %q", a.Name)
		}
		if names[a.Name] {
			at(a.Line, p+".name", "%q is declared twice (users and agents share one namespace)", a.Name)
		}
		names[a.Name] = true
		if a.CallsPerMinute < 0 || a.BytesPerMinute < 0 {
			at(a.Line, p, "limits cannot be negative")
		}
	}
	m := c.MCP
	if m.MaxRows < 0 || m.MaxBytes < 0 || m.CallsPerMinute < 0 || m.BytesPerMinute < 0 || m.Timeout < 0 {
		at(0, "mcp", "limits cannot be negative")
	}
}

// ConfigUsers returns the users the config declares, agents included, as
// the store keeps them (without salt and creation time).
func (c *Config) ConfigUsers() []*airlock.User {
	var out []*airlock.User
	for _, u := range c.Users {
		out = append(out, &airlock.User{Name: u.Name, Groups: nonNilStrings(u.Groups), Roles: nonNilStrings(u.Roles), FromConfig: true})
	}
	for _, a := range c.Agents {
		out = append(out, &airlock.User{Name: a.Name, Groups: nonNilStrings(a.Groups), Roles: []string{}, Kind: airlock.KindAgent, FromConfig: true})
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Package codec holds the encodings that every store gives the same
// columns, so that a record reads back the same from any store and `airlock
// store migrate` copies it unchanged.
package codec

import (
	"encoding/json"
	"fmt"

	"airlock"
)

// requestScript is what a request's script_json column holds.
type requestScript struct {
	Script    string             `json:"script"`
	SHA256    string             `json:"sha256"`
	Tolerance int64              `json:"tolerance"`
	DryRun    *airlock.ScriptRun `json:"dry_run,omitempty"`
	Run       *airlock.ScriptRun `json:"run,omitempty"`
}

// RequestScript is the script_json of r: "" when r has no script.
func RequestScript(r *airlock.Request) (string, error) {
	if r.Script == "" && r.DryRun == nil && r.Run == nil {
		return "", nil
	}
	b, err := json.Marshal(requestScript{Script: r.Script, SHA256: r.ScriptSHA256, Tolerance: r.Tolerance, DryRun: r.DryRun, Run: r.Run})
	if err != nil {
		return "", fmt.Errorf("encode the request's script: %w", err)
	}
	return string(b), nil
}

// ScanRequestScript sets r's script fields from a script_json value.
func ScanRequestScript(r *airlock.Request, s string) error {
	if s == "" {
		return nil
	}
	var rs requestScript
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return fmt.Errorf("decode the request's script: %w", err)
	}
	r.Script, r.ScriptSHA256, r.Tolerance, r.DryRun, r.Run = rs.Script, rs.SHA256, rs.Tolerance, rs.DryRun, rs.Run
	return nil
}

package airlock

import "fmt"

// Decision is the outcome of checking statements against a session.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Rule and Reason say why a statement was denied: the client sees
	// "airlock: denied: <Rule>: <Reason>".
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Need is the level the statements need.
	Need Level `json:"need"`
	// Hint tells the user what to do (the request command line).
	Hint string `json:"hint,omitempty"`
	// Warnings are rules with action warn that matched an allowed statement.
	Warnings []Warning `json:"warnings,omitempty"`
	// Syntax is set on a denial by rule parse when the database's own
	// grammar rejects the text: the adapter answers the database's syntax
	// error instead of airlock's denial (see SyntaxError).
	Syntax *SyntaxError `json:"-"`
}

// Warning is a matched warn rule.
type Warning struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Message is the client-visible denial message.
func (d Decision) Message() string {
	return fmt.Sprintf("airlock: denied: %s: %s", d.Rule, d.Reason)
}

// Verdict is the decision as stored in the audit log: "allowed" or "denied".
func (d Decision) Verdict() string {
	if d.Allowed {
		return DecisionAllowed
	}
	return DecisionDenied
}

// Audit decisions.
const (
	DecisionAllowed = "allowed"
	DecisionDenied  = "denied"
)

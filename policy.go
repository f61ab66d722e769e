package airlock

// Policy gives the members of groups a standing level on databases, and
// the levels they may request with whose approval. How long a requested
// grant may last is the config's (internal/config.Policy.MaxDuration).
type Policy struct {
	Name        string   `yaml:"name"`
	Groups      []string `yaml:"groups"`
	Databases   []string `yaml:"databases"` // "*": every database
	Standing    Level    `yaml:"standing"`
	Requestable []Level  `yaml:"requestable"`
	Approvers   []string `yaml:"approvers"`
	Approvals   int      `yaml:"approvals"`
}

// Guardrail actions.
const (
	GuardrailDeny = "deny"
	GuardrailWarn = "warn"
)

// Guardrail is a custom rule written in CEL: when When holds for a
// statement, Action (deny or warn) with Message.
type Guardrail struct {
	// Line is where the rule is written in the config file, for the
	// error that says it does not compile (0: not read from a file).
	Line      int      `yaml:"-"`
	Name      string   `yaml:"name"`
	Databases []string `yaml:"databases"` // empty: every database
	When      string   `yaml:"when"`
	Action    string   `yaml:"action"` // deny | warn
	Message   string   `yaml:"message"`
}

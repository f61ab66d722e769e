// Package airlock holds the domain of the airlock gateway: the words every
// other package speaks (levels, users, tokens, sessions, statements,
// decisions, audit events, errors, databases with their engine and undo
// mode, policies and guardrails) and the interfaces that the store
// implementations satisfy.
//
// It imports nothing from the rest of the module. Wire protocols, SQL
// parsers and storage engines live in internal packages named after what they
// depend on; the wiring happens in internal/server, which cmd/airlock starts
// through internal/cli. internal/deptest checks that the domain and the core
// packages link no wire, driver or parser package.
package airlock

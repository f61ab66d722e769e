package gateway_test

import (
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

// TestDenials pins the denials the adapters answer for what only they see:
// each names its rule constant, the level it needs and, word for word, the
// reason clients and the audit log have always been given.
func TestDenials(t *testing.T) {
	sess, _, _ := newSession(t, "alice") // standing read
	for _, c := range []struct {
		name   string
		got    airlock.Decision
		rule   string
		need   airlock.Level
		reason string
	}{
		{"reserved statement name", gateway.ProtocolViolation(`statement names starting with "airlock_" are reserved by airlock`),
			airlock.RuleProtocol, airlock.LevelAdmin, `statement names starting with "airlock_" are reserved by airlock`},
		{"too large, size known", sess.StatementTooLarge(2048, 1024),
			airlock.RuleMaxBytes, airlock.LevelRead, "the statement is 2048 bytes, more than limits.max_statement_bytes (1024)"},
		{"too large, size unknown", sess.StatementTooLarge(0, 1024),
			airlock.RuleMaxBytes, airlock.LevelRead, "the statement is more than limits.max_statement_bytes (1024 bytes)"},
		{"statement memory", sess.OutOfStatementMemory(),
			airlock.RuleStatementMemory, airlock.LevelRead, "too many large statements are in flight on this gateway now; try again shortly"},
		{"blast radius", gateway.BlastRadius(airlock.LevelWrite, "why not"),
			airlock.RuleBlastRadius, airlock.LevelWrite, "why not"},
		{"answer too large", gateway.AnswerTooLarge(airlock.LevelWrite, 64<<20),
			airlock.RuleBlastRadius, airlock.LevelWrite, "its answer is larger than the 64 MiB airlock holds back while it counts the rows changed; the statement was rolled back"},
		{"view write", gateway.ViewWrite("public.v", "public.v", "is defined as a query that calls f", airlock.LevelWrite, airlock.LevelRead),
			airlock.RuleViewWrite, airlock.LevelWrite, "view public.v is defined as a query that calls f; it needs write access and this session has read"},
		{"view write, nested", gateway.ViewWrite("app.v", "app.w", "nests views too deep to check", airlock.LevelAdmin, airlock.LevelRead),
			airlock.RuleViewWrite, airlock.LevelAdmin, "view app.v (through view app.w) nests views too deep to check; it needs admin access and this session has read"},
		{"other schema", gateway.OtherSchema("shop", "app"),
			airlock.RuleSchema, airlock.LevelAdmin, "this session may only use schema `shop` of database app"},
		{"non-transactional", gateway.NonTransactional(airlock.LevelWrite, "t uses the MyISAM storage engine, which cannot roll a write back"),
			airlock.RuleNonTransactional, airlock.LevelWrite, "t uses the MyISAM storage engine, which cannot roll a write back"},
		{"capture reserved", gateway.CaptureReserved(airlock.LevelWrite, "the user variable @airlock_..."),
			airlock.RuleUndo, airlock.LevelWrite, "the user variable @airlock_... is airlock's own, for undo capture; statements may not use it"},
		{"startup settings", gateway.StartupRefused("setting x is not allowed"),
			airlock.RuleLevel, airlock.LevelNone, "setting x is not allowed"},
		{"function call", sess.FunctionCall(),
			airlock.RuleLevel, airlock.LevelAdmin, "FunctionCall messages call functions by number, which airlock cannot check; it needs admin access and this session has read"},
		{"server command", gateway.ServerCommand("COM_SHUTDOWN"),
			airlock.RuleLevel, airlock.LevelAdmin, "COM_SHUTDOWN acts on the server, and airlock does not relay it; use SQL statements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got.Allowed {
				t.Fatalf("allowed: %+v", c.got)
			}
			if c.got.Rule != c.rule || c.got.Need != c.need || c.got.Reason != c.reason {
				t.Fatalf("got rule %q need %s reason %q\nwant rule %q need %s reason %q", c.got.Rule, c.got.Need, c.got.Reason, c.rule, c.need, c.reason)
			}
		})
	}
}

// Package gateway is airlock's protocol-agnostic core: it opens sessions
// for authenticated logins, decides every statement, and audits what
// happens to it.
//
// The seam with a protocol adapter (internal/pgwire, internal/mysqlwire,
// the MCP server internal/mcp) is narrow:
//
//   - At login the adapter gives Gateway.Open its Adapter: Veto (what only
//     its database can tell about an allowed check, such as the view
//     definitions it hands to Session.CheckViews), Interrupt (End wakes
//     it) and LevelDropped. NoAdapter does nothing; Arming holds
//     Interrupt and LevelDropped back until the adapter can act on them.
//   - Per message, one core call returns the Check the adapter acts on:
//     Session.Check for a simple query, Session.Prepare when a statement
//     is prepared, Session.CheckPrepared for each execution,
//     Session.CheckCommand for a protocol command that is not SQL the
//     core classifies (MySQL's COM_INIT_DB and the like). The call
//     classifies (a Classifier per engine), decides (internal/policy),
//     asks the adapter's veto and audits a denial, or a write's start,
//     before returning. After forwarding, the adapter reports with Done
//     (and RowsChanged and Captured for a guarded write).
//   - Prepared statements' facts stay here: Prepare records an allowed
//     statement under its name, ClosePrepared forgets it, and each
//     returns a Revert for a message the database failed or skipped. The
//     adapter holds the opaque *Prepared (Session.Prepared; a PostgreSQL
//     portal binds one) and passes it to CheckPrepared.
//   - What only the adapter sees before there is a statement (a message
//     too large, a reserved name, an unknown portal) it denies with a
//     Decision built here (denials.go) and audits with Session.Deny.
//
// Every Decision is built here or in internal/policy, and every rule name
// is a constant of the root package (rules.go). The package links no
// wire, driver or parser package (internal/deptest).
package gateway

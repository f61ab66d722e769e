package pg

import (
	"strings"

	"airlock"
)

// funcRule is the level a function call needs and why; Why holds %s for the
// function's name.
type funcRule struct {
	Level airlock.Level
	Why   string
}

// Reasons shared by several functions.
const (
	whyOtherSessions = "%s acts on other sessions"
	whyServer        = "%s acts on the server"
	whyServerFiles   = "%s accesses the server's files"
	whyReplication   = "%s acts on replication"
	whyOtherServers  = "%s connects to other servers"
	whySequence      = "%s changes a sequence"
	whyAdvisory      = "%s takes or releases an advisory lock"
	whyLargeObject   = "%s changes large objects"
	whyIndex         = "%s changes an index, like VACUUM"
	whyUnknownFunc   = "calls function %s, which may change data"
	whyUnknownOp     = "uses operator %s, which may change data"
	whyDynamicQuery  = "%s runs a query given at run time"
)

// pgFunctionRules are the builtins of pg_catalog that are not read-only, by
// exact name. TestPGBuiltins checks that each names a real builtin.
var pgFunctionRules = map[string]funcRule{
	// Other sessions and the server.
	"pg_terminate_backend":           {airlock.LevelAdmin, whyOtherSessions},
	"pg_cancel_backend":              {airlock.LevelAdmin, whyOtherSessions},
	"pg_log_backend_memory_contexts": {airlock.LevelAdmin, whyOtherSessions},
	"pg_reload_conf":                 {airlock.LevelAdmin, whyServer},
	"pg_rotate_logfile":              {airlock.LevelAdmin, whyServer},
	"pg_rotate_logfile_old":          {airlock.LevelAdmin, whyServer},
	"pg_promote":                     {airlock.LevelAdmin, whyServer},
	"pg_switch_wal":                  {airlock.LevelAdmin, whyServer},
	"pg_create_restore_point":        {airlock.LevelAdmin, whyServer},
	"pg_wal_replay_pause":            {airlock.LevelAdmin, whyServer},
	"pg_wal_replay_resume":           {airlock.LevelAdmin, whyServer},
	"pg_import_system_collations":    {airlock.LevelAdmin, whyServer},
	"pg_nextoid":                     {airlock.LevelAdmin, whyServer},
	"pg_stop_making_pinned_objects":  {airlock.LevelAdmin, whyServer},
	// Server-side files.
	"pg_read_file":              {airlock.LevelAdmin, whyServerFiles},
	"pg_read_file_old":          {airlock.LevelAdmin, whyServerFiles},
	"pg_read_binary_file":       {airlock.LevelAdmin, whyServerFiles},
	"pg_stat_file":              {airlock.LevelAdmin, whyServerFiles},
	"lo_import":                 {airlock.LevelAdmin, whyServerFiles},
	"lo_export":                 {airlock.LevelAdmin, whyServerFiles},
	"pg_hba_file_rules":         {airlock.LevelAdmin, whyServerFiles},
	"pg_ident_file_mappings":    {airlock.LevelAdmin, whyServerFiles},
	"pg_show_all_file_settings": {airlock.LevelAdmin, whyServerFiles},
	// Sequences.
	"nextval": {airlock.LevelWrite, whySequence},
	"setval":  {airlock.LevelWrite, whySequence},
	// Advisory locks.
	"pg_advisory_lock":                 {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_lock_shared":          {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_xact_lock":            {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_xact_lock_shared":     {airlock.LevelWrite, whyAdvisory},
	"pg_try_advisory_lock":             {airlock.LevelWrite, whyAdvisory},
	"pg_try_advisory_lock_shared":      {airlock.LevelWrite, whyAdvisory},
	"pg_try_advisory_xact_lock":        {airlock.LevelWrite, whyAdvisory},
	"pg_try_advisory_xact_lock_shared": {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_unlock":               {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_unlock_shared":        {airlock.LevelWrite, whyAdvisory},
	"pg_advisory_unlock_all":           {airlock.LevelWrite, whyAdvisory},
	// Notifications.
	"pg_notify": {airlock.LevelWrite, "%s signals other sessions"},
	// Large objects.
	"lo_create":                {airlock.LevelWrite, whyLargeObject},
	"lo_creat":                 {airlock.LevelWrite, whyLargeObject},
	"lo_unlink":                {airlock.LevelWrite, whyLargeObject},
	"lowrite":                  {airlock.LevelWrite, whyLargeObject},
	"lo_put":                   {airlock.LevelWrite, whyLargeObject},
	"lo_from_bytea":            {airlock.LevelWrite, whyLargeObject},
	"lo_truncate":              {airlock.LevelWrite, whyLargeObject},
	"lo_truncate64":            {airlock.LevelWrite, whyLargeObject},
	"pg_extension_config_dump": {airlock.LevelDDL, "%s changes an extension"},
	// Index maintenance (VACUUM is ddl).
	"brin_summarize_new_values": {airlock.LevelDDL, whyIndex},
	"brin_summarize_range":      {airlock.LevelDDL, whyIndex},
	"brin_desummarize_range":    {airlock.LevelDDL, whyIndex},
	"gin_clean_pending_list":    {airlock.LevelDDL, whyIndex},
	// Procedural-language handlers run code.
	"plpgsql_call_handler":   {airlock.LevelAdmin, whyServer},
	"plpgsql_inline_handler": {airlock.LevelAdmin, whyServer},
	"plpgsql_validator":      {airlock.LevelAdmin, whyServer},
}

// pgFunctionPrefixes are rules by name prefix, for families of functions
// (including those of common extensions: dblink, adminpack), checked whatever
// the schema.
var pgFunctionPrefixes = []struct {
	Prefix string
	Rule   funcRule
}{
	{"pg_ls_", funcRule{airlock.LevelAdmin, whyServerFiles}},
	{"pg_file_", funcRule{airlock.LevelAdmin, whyServerFiles}}, // adminpack
	{"pg_logdir_ls", funcRule{airlock.LevelAdmin, whyServerFiles}},
	{"dblink", funcRule{airlock.LevelAdmin, whyOtherServers}},
	{"pg_backup_", funcRule{airlock.LevelAdmin, whyServer}},
	{"pg_start_backup", funcRule{airlock.LevelAdmin, whyServer}},
	{"pg_stop_backup", funcRule{airlock.LevelAdmin, whyServer}},
	{"pg_logical_", funcRule{airlock.LevelAdmin, whyReplication}},
	{"pg_replication_origin_", funcRule{airlock.LevelAdmin, whyReplication}},
	{"pg_stat_reset", funcRule{airlock.LevelAdmin, whyServer}},
	{"pg_log_standby_snapshot", funcRule{airlock.LevelAdmin, whyServer}},
	{"binary_upgrade_", funcRule{airlock.LevelAdmin, whyServer}},
}

// pgDynamicQueryFuncs are builtins that run a query given as a text argument,
// by the index of that argument (0-based) and the number of arguments the
// form that takes a query has.
var pgDynamicQueryFuncs = map[string]struct{ Arg, NArgs int }{
	"query_to_xml":               {0, 4},
	"query_to_xmlschema":         {0, 4},
	"query_to_xml_and_xmlschema": {0, 4},
	"ts_stat":                    {0, 0}, // ts_stat(query [, weights])
	"ts_rewrite":                 {1, 2}, // ts_rewrite(tsquery, select)
}

// pgFunctionRule returns the level a call of schema.name needs and why (with
// the display name already in Why). schema is "" when the call does not
// qualify the name. Names are as PostgreSQL folds them: a quoted
// "PG_SLEEP" is not the builtin pg_sleep.
func pgFunctionRule(schema, name, display string) funcRule {
	r, ok := pgFunctionRules[name]
	if !ok {
		for _, p := range pgFunctionPrefixes {
			if strings.HasPrefix(name, p.Prefix) {
				r, ok = p.Rule, true
				break
			}
		}
	}
	if !ok && strings.HasPrefix(name, "pg_") && strings.Contains(name, "replication_slot") {
		r, ok = funcRule{airlock.LevelAdmin, whyReplication}, true
	}
	if ok {
		return funcRule{r.Level, sprintfName(r.Why, display)}
	}
	if schema == "information_schema" {
		if _, builtin := pgInformationSchemaFunctions[name]; builtin {
			return funcRule{airlock.LevelRead, ""}
		}
	}
	if schema != "" && schema != "pg_catalog" {
		return funcRule{airlock.LevelWrite, sprintfName(whyUnknownFunc, display)}
	}
	if _, builtin := pgBuiltinFunctions[name]; builtin {
		return funcRule{airlock.LevelRead, ""}
	}
	return funcRule{airlock.LevelWrite, sprintfName(whyUnknownFunc, display)}
}

// pgOperatorRule returns the level an operator needs: builtin operator names
// (unqualified or in pg_catalog) are read-only, others may run any function.
func pgOperatorRule(schema, name, display string) funcRule {
	if schema == "pg_catalog" {
		if _, ok := pgBuiltinOperators[name]; ok {
			return funcRule{airlock.LevelRead, ""}
		}
	}
	if schema == "" {
		if _, ok := pgBuiltinOperators[name]; ok {
			return funcRule{airlock.LevelRead, ""}
		}
	}
	return funcRule{airlock.LevelWrite, sprintfName(whyUnknownOp, display)}
}

// sprintfName replaces the single %s of a reason by name; it avoids fmt so
// that a name holding '%' cannot garble the reason.
func sprintfName(why, name string) string {
	return strings.Replace(why, "%s", name, 1)
}

package pg

import (
	"reflect"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"airlock"
)

// stmtRule is the fixed classification of a statement type.
type stmtRule struct {
	Kind    airlock.Kind
	Level   airlock.Level
	Command string
	Why     string
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[*T]() }

// pgAdminStmts act on the server, on roles, on replication or on other
// servers: admin whatever they name (SPEC §2).
var pgAdminStmts = map[reflect.Type]stmtRule{
	typeOf[pg.Node_AlterSystemStmt]():              {airlock.KindUtility, airlock.LevelAdmin, "ALTER SYSTEM", "ALTER SYSTEM changes the server's configuration"},
	typeOf[pg.Node_CheckPointStmt]():               {airlock.KindUtility, airlock.LevelAdmin, "CHECKPOINT", "CHECKPOINT acts on the server"},
	typeOf[pg.Node_LoadStmt]():                     {airlock.KindUtility, airlock.LevelAdmin, "LOAD", "LOAD loads a library into the server"},
	typeOf[pg.Node_CreateExtensionStmt]():          {airlock.KindDDL, airlock.LevelAdmin, "CREATE EXTENSION", "CREATE EXTENSION installs code on the server"},
	typeOf[pg.Node_AlterExtensionStmt]():           {airlock.KindDDL, airlock.LevelAdmin, "ALTER EXTENSION", "ALTER EXTENSION changes code on the server"},
	typeOf[pg.Node_AlterExtensionContentsStmt]():   {airlock.KindDDL, airlock.LevelAdmin, "ALTER EXTENSION", "ALTER EXTENSION changes code on the server"},
	typeOf[pg.Node_CreatedbStmt]():                 {airlock.KindDDL, airlock.LevelAdmin, "CREATE DATABASE", "CREATE DATABASE acts on the server"},
	typeOf[pg.Node_DropdbStmt]():                   {airlock.KindDrop, airlock.LevelAdmin, "DROP DATABASE", "DROP DATABASE acts on the server"},
	typeOf[pg.Node_AlterDatabaseStmt]():            {airlock.KindDDL, airlock.LevelAdmin, "ALTER DATABASE", "ALTER DATABASE acts on the server"},
	typeOf[pg.Node_AlterDatabaseSetStmt]():         {airlock.KindDDL, airlock.LevelAdmin, "ALTER DATABASE", "ALTER DATABASE acts on the server"},
	typeOf[pg.Node_AlterDatabaseRefreshCollStmt](): {airlock.KindDDL, airlock.LevelAdmin, "ALTER DATABASE", "ALTER DATABASE acts on the server"},
	typeOf[pg.Node_CreateRoleStmt]():               {airlock.KindDDL, airlock.LevelAdmin, "CREATE ROLE", "CREATE ROLE acts on roles"},
	typeOf[pg.Node_AlterRoleStmt]():                {airlock.KindDDL, airlock.LevelAdmin, "ALTER ROLE", "ALTER ROLE acts on roles"},
	typeOf[pg.Node_AlterRoleSetStmt]():             {airlock.KindDDL, airlock.LevelAdmin, "ALTER ROLE", "ALTER ROLE acts on roles"},
	typeOf[pg.Node_DropRoleStmt]():                 {airlock.KindDrop, airlock.LevelAdmin, "DROP ROLE", "DROP ROLE acts on roles"},
	typeOf[pg.Node_ReassignOwnedStmt]():            {airlock.KindDDL, airlock.LevelAdmin, "REASSIGN OWNED", "REASSIGN OWNED gives objects to another role"},
	typeOf[pg.Node_DropOwnedStmt]():                {airlock.KindDrop, airlock.LevelAdmin, "DROP OWNED", "DROP OWNED drops every object of a role"},
	typeOf[pg.Node_CreateForeignServerStmt]():      {airlock.KindDDL, airlock.LevelAdmin, "CREATE SERVER", "CREATE SERVER connects to other servers"},
	typeOf[pg.Node_AlterForeignServerStmt]():       {airlock.KindDDL, airlock.LevelAdmin, "ALTER SERVER", "ALTER SERVER connects to other servers"},
	typeOf[pg.Node_CreateUserMappingStmt]():        {airlock.KindDDL, airlock.LevelAdmin, "CREATE USER MAPPING", "CREATE USER MAPPING holds credentials for other servers"},
	typeOf[pg.Node_AlterUserMappingStmt]():         {airlock.KindDDL, airlock.LevelAdmin, "ALTER USER MAPPING", "ALTER USER MAPPING holds credentials for other servers"},
	typeOf[pg.Node_DropUserMappingStmt]():          {airlock.KindDrop, airlock.LevelAdmin, "DROP USER MAPPING", "DROP USER MAPPING acts on connections to other servers"},
	typeOf[pg.Node_CreateFdwStmt]():                {airlock.KindDDL, airlock.LevelAdmin, "CREATE FOREIGN DATA WRAPPER", "CREATE FOREIGN DATA WRAPPER connects to other servers"},
	typeOf[pg.Node_AlterFdwStmt]():                 {airlock.KindDDL, airlock.LevelAdmin, "ALTER FOREIGN DATA WRAPPER", "ALTER FOREIGN DATA WRAPPER connects to other servers"},
	typeOf[pg.Node_ImportForeignSchemaStmt]():      {airlock.KindDDL, airlock.LevelAdmin, "IMPORT FOREIGN SCHEMA", "IMPORT FOREIGN SCHEMA connects to other servers"},
	typeOf[pg.Node_CreateSubscriptionStmt]():       {airlock.KindDDL, airlock.LevelAdmin, "CREATE SUBSCRIPTION", "CREATE SUBSCRIPTION acts on replication"},
	typeOf[pg.Node_AlterSubscriptionStmt]():        {airlock.KindDDL, airlock.LevelAdmin, "ALTER SUBSCRIPTION", "ALTER SUBSCRIPTION acts on replication"},
	typeOf[pg.Node_DropSubscriptionStmt]():         {airlock.KindDrop, airlock.LevelAdmin, "DROP SUBSCRIPTION", "DROP SUBSCRIPTION acts on replication"},
	typeOf[pg.Node_CreatePublicationStmt]():        {airlock.KindDDL, airlock.LevelAdmin, "CREATE PUBLICATION", "CREATE PUBLICATION acts on replication"},
	typeOf[pg.Node_AlterPublicationStmt]():         {airlock.KindDDL, airlock.LevelAdmin, "ALTER PUBLICATION", "ALTER PUBLICATION acts on replication"},
	typeOf[pg.Node_CreateTableSpaceStmt]():         {airlock.KindDDL, airlock.LevelAdmin, "CREATE TABLESPACE", "CREATE TABLESPACE uses the server's files"},
	typeOf[pg.Node_DropTableSpaceStmt]():           {airlock.KindDrop, airlock.LevelAdmin, "DROP TABLESPACE", "DROP TABLESPACE uses the server's files"},
	typeOf[pg.Node_AlterTableSpaceOptionsStmt]():   {airlock.KindDDL, airlock.LevelAdmin, "ALTER TABLESPACE", "ALTER TABLESPACE uses the server's files"},
	typeOf[pg.Node_AlterTableMoveAllStmt]():        {airlock.KindDDL, airlock.LevelAdmin, "ALTER TABLE", "ALTER ... ALL IN TABLESPACE moves every table of a tablespace"},
	typeOf[pg.Node_CreateEventTrigStmt]():          {airlock.KindDDL, airlock.LevelAdmin, "CREATE EVENT TRIGGER", "CREATE EVENT TRIGGER acts on every schema change"},
	typeOf[pg.Node_AlterEventTrigStmt]():           {airlock.KindDDL, airlock.LevelAdmin, "ALTER EVENT TRIGGER", "ALTER EVENT TRIGGER acts on every schema change"},
	typeOf[pg.Node_CreatePlangStmt]():              {airlock.KindDDL, airlock.LevelAdmin, "CREATE LANGUAGE", "CREATE LANGUAGE installs code on the server"},
	typeOf[pg.Node_CreateAmStmt]():                 {airlock.KindDDL, airlock.LevelAdmin, "CREATE ACCESS METHOD", "CREATE ACCESS METHOD installs code on the server"},
}

// pgDDLStmts change the schema without naming a table in a way that
// needs more than the generic walk.
var pgDDLStmts = map[reflect.Type]stmtRule{
	typeOf[pg.Node_CreateDomainStmt]():           {airlock.KindDDL, airlock.LevelDDL, "CREATE DOMAIN", ""},
	typeOf[pg.Node_AlterDomainStmt]():            {airlock.KindDDL, airlock.LevelDDL, "ALTER DOMAIN", ""},
	typeOf[pg.Node_CreateEnumStmt]():             {airlock.KindDDL, airlock.LevelDDL, "CREATE TYPE", ""},
	typeOf[pg.Node_CompositeTypeStmt]():          {airlock.KindDDL, airlock.LevelDDL, "CREATE TYPE", ""},
	typeOf[pg.Node_CreateRangeStmt]():            {airlock.KindDDL, airlock.LevelDDL, "CREATE TYPE", ""},
	typeOf[pg.Node_AlterEnumStmt]():              {airlock.KindDDL, airlock.LevelDDL, "ALTER TYPE", ""},
	typeOf[pg.Node_AlterTypeStmt]():              {airlock.KindDDL, airlock.LevelDDL, "ALTER TYPE", ""},
	typeOf[pg.Node_CreateOpClassStmt]():          {airlock.KindDDL, airlock.LevelDDL, "CREATE OPERATOR CLASS", ""},
	typeOf[pg.Node_CreateOpFamilyStmt]():         {airlock.KindDDL, airlock.LevelDDL, "CREATE OPERATOR FAMILY", ""},
	typeOf[pg.Node_AlterOpFamilyStmt]():          {airlock.KindDDL, airlock.LevelDDL, "ALTER OPERATOR FAMILY", ""},
	typeOf[pg.Node_AlterOperatorStmt]():          {airlock.KindDDL, airlock.LevelDDL, "ALTER OPERATOR", ""},
	typeOf[pg.Node_CreateCastStmt]():             {airlock.KindDDL, airlock.LevelDDL, "CREATE CAST", ""},
	typeOf[pg.Node_CreateConversionStmt]():       {airlock.KindDDL, airlock.LevelDDL, "CREATE CONVERSION", ""},
	typeOf[pg.Node_CreateTransformStmt]():        {airlock.KindDDL, airlock.LevelDDL, "CREATE TRANSFORM", ""},
	typeOf[pg.Node_AlterTsdictionaryStmt]():      {airlock.KindDDL, airlock.LevelDDL, "ALTER TEXT SEARCH DICTIONARY", ""},
	typeOf[pg.Node_AlterTsconfigurationStmt]():   {airlock.KindDDL, airlock.LevelDDL, "ALTER TEXT SEARCH CONFIGURATION", ""},
	typeOf[pg.Node_AlterCollationStmt]():         {airlock.KindDDL, airlock.LevelDDL, "ALTER COLLATION", ""},
	typeOf[pg.Node_AlterStatsStmt]():             {airlock.KindDDL, airlock.LevelDDL, "ALTER STATISTICS", ""},
	typeOf[pg.Node_AlterDefaultPrivilegesStmt](): {airlock.KindGrant, airlock.LevelDDL, "ALTER DEFAULT PRIVILEGES", "ALTER DEFAULT PRIVILEGES changes privileges"},
}

// pgAdminObjects are object types whose creation, change or removal acts
// on the server, roles or other servers, with what it acts on.
var pgAdminObjects = map[pg.ObjectType]string{
	pg.ObjectType_OBJECT_EXTENSION:             "changes code on the server",
	pg.ObjectType_OBJECT_LANGUAGE:              "changes code on the server",
	pg.ObjectType_OBJECT_ACCESS_METHOD:         "changes code on the server",
	pg.ObjectType_OBJECT_DATABASE:              "acts on the server",
	pg.ObjectType_OBJECT_PARAMETER_ACL:         "acts on the server's configuration",
	pg.ObjectType_OBJECT_TABLESPACE:            "uses the server's files",
	pg.ObjectType_OBJECT_ROLE:                  "acts on roles",
	pg.ObjectType_OBJECT_FOREIGN_SERVER:        "acts on connections to other servers",
	pg.ObjectType_OBJECT_FDW:                   "acts on connections to other servers",
	pg.ObjectType_OBJECT_USER_MAPPING:          "acts on connections to other servers",
	pg.ObjectType_OBJECT_SUBSCRIPTION:          "acts on replication",
	pg.ObjectType_OBJECT_PUBLICATION:           "acts on replication",
	pg.ObjectType_OBJECT_PUBLICATION_NAMESPACE: "acts on replication",
	pg.ObjectType_OBJECT_PUBLICATION_REL:       "acts on replication",
	pg.ObjectType_OBJECT_EVENT_TRIGGER:         "acts on every schema change",
}

// pgRelationObjects are object types that are relations, named by a list
// of strings in DROP, COMMENT and SECURITY LABEL.
var pgRelationObjects = map[pg.ObjectType]bool{
	pg.ObjectType_OBJECT_TABLE: true, pg.ObjectType_OBJECT_VIEW: true, pg.ObjectType_OBJECT_MATVIEW: true,
	pg.ObjectType_OBJECT_SEQUENCE: true, pg.ObjectType_OBJECT_INDEX: true, pg.ObjectType_OBJECT_FOREIGN_TABLE: true,
}

// objectNames spells object types as command tags do, where the enum name
// does not.
var objectNames = map[pg.ObjectType]string{
	pg.ObjectType_OBJECT_MATVIEW:               "MATERIALIZED VIEW",
	pg.ObjectType_OBJECT_FDW:                   "FOREIGN DATA WRAPPER",
	pg.ObjectType_OBJECT_FOREIGN_SERVER:        "SERVER",
	pg.ObjectType_OBJECT_TSCONFIGURATION:       "TEXT SEARCH CONFIGURATION",
	pg.ObjectType_OBJECT_TSDICTIONARY:          "TEXT SEARCH DICTIONARY",
	pg.ObjectType_OBJECT_TSPARSER:              "TEXT SEARCH PARSER",
	pg.ObjectType_OBJECT_TSTEMPLATE:            "TEXT SEARCH TEMPLATE",
	pg.ObjectType_OBJECT_OPCLASS:               "OPERATOR CLASS",
	pg.ObjectType_OBJECT_OPFAMILY:              "OPERATOR FAMILY",
	pg.ObjectType_OBJECT_AMOP:                  "OPERATOR FAMILY",
	pg.ObjectType_OBJECT_AMPROC:                "OPERATOR FAMILY",
	pg.ObjectType_OBJECT_TABCONSTRAINT:         "TABLE",
	pg.ObjectType_OBJECT_COLUMN:                "TABLE",
	pg.ObjectType_OBJECT_DEFAULT:               "TABLE",
	pg.ObjectType_OBJECT_DOMCONSTRAINT:         "DOMAIN",
	pg.ObjectType_OBJECT_ATTRIBUTE:             "TYPE",
	pg.ObjectType_OBJECT_DEFACL:                "DEFAULT PRIVILEGES",
	pg.ObjectType_OBJECT_LARGEOBJECT:           "LARGE OBJECT",
	pg.ObjectType_OBJECT_PUBLICATION_NAMESPACE: "PUBLICATION",
	pg.ObjectType_OBJECT_PUBLICATION_REL:       "PUBLICATION",
	pg.ObjectType_OBJECT_STATISTIC_EXT:         "STATISTICS",
	pg.ObjectType_OBJECT_PARAMETER_ACL:         "PARAMETER",
}

func objectName(t pg.ObjectType) string {
	if n, ok := objectNames[t]; ok {
		return n
	}
	return strings.ReplaceAll(strings.TrimPrefix(t.String(), "OBJECT_"), "_", " ")
}

// ddl sets a schema change on objects of type t: admin for server-wide
// objects, ddl otherwise.
func (f *facts) ddl(kind airlock.Kind, t pg.ObjectType, command string) {
	if what, ok := pgAdminObjects[t]; ok {
		f.base(kind, airlock.LevelAdmin, command+" "+what, command)
		return
	}
	f.base(kind, airlock.LevelDDL, command+" changes the schema", command)
}

// utilityStmt classifies the schema, privilege, maintenance and server
// statements.
func (f *facts) utilityStmt(n *pg.Node) {
	t := reflect.TypeOf(n.Node)
	if r, ok := pgAdminStmts[t]; ok {
		f.base(r.Kind, r.Level, r.Why, r.Command)
		f.node(n)
		return
	}
	if r, ok := pgDDLStmts[t]; ok {
		why := r.Why
		if why == "" {
			why = r.Command + " changes the schema"
		}
		f.base(r.Kind, r.Level, why, r.Command)
		if ct := n.GetCompositeTypeStmt(); ct != nil {
			f.nodes(ct.Coldeflist) // its RangeVar names the new type, not a table
			return
		}
		f.node(n)
		return
	}
	switch x := n.Node.(type) {
	case *pg.Node_CreateStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_TABLE, "CREATE TABLE")
		f.target(x.CreateStmt.Relation)
	case *pg.Node_CreateForeignTableStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_FOREIGN_TABLE, "CREATE FOREIGN TABLE")
		if x.CreateForeignTableStmt.BaseStmt != nil {
			f.target(x.CreateForeignTableStmt.BaseStmt.Relation)
		}
	case *pg.Node_CreateTableAsStmt:
		cmd := "CREATE TABLE AS"
		if x.CreateTableAsStmt.Objtype == pg.ObjectType_OBJECT_MATVIEW {
			cmd = "CREATE MATERIALIZED VIEW"
		}
		f.base(airlock.KindDDL, airlock.LevelDDL, cmd+" creates a table", cmd)
		if x.CreateTableAsStmt.Into != nil {
			f.target(x.CreateTableAsStmt.Into.Rel)
		}
		f.top = x.CreateTableAsStmt.Query
	case *pg.Node_ViewStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_VIEW, "CREATE VIEW")
		f.target(x.ViewStmt.View)
	case *pg.Node_IndexStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_INDEX, "CREATE INDEX")
		f.target(x.IndexStmt.Relation)
	case *pg.Node_CreateSeqStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_SEQUENCE, "CREATE SEQUENCE")
		f.target(x.CreateSeqStmt.Sequence)
	case *pg.Node_AlterSeqStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_SEQUENCE, "ALTER SEQUENCE")
		f.target(x.AlterSeqStmt.Sequence)
	case *pg.Node_AlterTableStmt:
		f.alterTable(x.AlterTableStmt)
	case *pg.Node_RenameStmt:
		r := x.RenameStmt
		t := r.RenameType // the command tag names the renamed object, or the relation of a column
		if t == pg.ObjectType_OBJECT_COLUMN {
			t = r.RelationType
		}
		f.ddl(airlock.KindDDL, r.RenameType, "ALTER "+objectName(t))
		f.target(r.Relation)
	case *pg.Node_AlterObjectSchemaStmt:
		f.ddl(airlock.KindDDL, x.AlterObjectSchemaStmt.ObjectType, "ALTER "+objectName(x.AlterObjectSchemaStmt.ObjectType))
		f.target(x.AlterObjectSchemaStmt.Relation)
	case *pg.Node_AlterObjectDependsStmt:
		f.ddl(airlock.KindDDL, x.AlterObjectDependsStmt.ObjectType, "ALTER "+objectName(x.AlterObjectDependsStmt.ObjectType))
		f.target(x.AlterObjectDependsStmt.Relation)
	case *pg.Node_AlterOwnerStmt:
		cmd := "ALTER " + objectName(x.AlterOwnerStmt.ObjectType)
		f.base(airlock.KindDDL, airlock.LevelAdmin, cmd+" ... OWNER TO gives an object to another role", cmd)
		f.target(x.AlterOwnerStmt.Relation)
	case *pg.Node_CreateFunctionStmt:
		f.createFunction(x.CreateFunctionStmt)
		return
	case *pg.Node_AlterFunctionStmt:
		f.ddl(airlock.KindDDL, x.AlterFunctionStmt.Objtype, "ALTER "+objectName(x.AlterFunctionStmt.Objtype))
	case *pg.Node_CreateSchemaStmt:
		f.createSchema(x.CreateSchemaStmt)
		return
	case *pg.Node_CreateTrigStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_TRIGGER, "CREATE TRIGGER")
		f.target(x.CreateTrigStmt.Relation)
	case *pg.Node_RuleStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_RULE, "CREATE RULE")
		f.target(x.RuleStmt.Relation)
		exec := f.exec
		f.exec = false // the rule's actions run later, on the table's changes
		f.node(x.RuleStmt.WhereClause)
		f.nodes(x.RuleStmt.Actions)
		f.exec = exec
		return
	case *pg.Node_CreatePolicyStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_POLICY, "CREATE POLICY")
		f.target(x.CreatePolicyStmt.Table)
	case *pg.Node_AlterPolicyStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_POLICY, "ALTER POLICY")
		f.target(x.AlterPolicyStmt.Table)
	case *pg.Node_CreateStatsStmt:
		f.ddl(airlock.KindDDL, pg.ObjectType_OBJECT_STATISTIC_EXT, "CREATE STATISTICS")
		for _, r := range x.CreateStatsStmt.Relations {
			f.target(r.GetRangeVar())
		}
	case *pg.Node_DefineStmt:
		f.ddl(airlock.KindDDL, x.DefineStmt.Kind, "CREATE "+objectName(x.DefineStmt.Kind))
	case *pg.Node_GrantStmt:
		g := x.GrantStmt
		cmd := "GRANT"
		if !g.IsGrant {
			cmd = "REVOKE"
		}
		f.base(airlock.KindGrant, airlock.LevelDDL, cmd+" changes privileges", cmd)
		if g.Targtype == pg.GrantTargetType_ACL_TARGET_OBJECT {
			for _, o := range g.Objects {
				f.target(o.GetRangeVar())
			}
		}
	case *pg.Node_GrantRoleStmt:
		cmd := "GRANT ROLE"
		if !x.GrantRoleStmt.IsGrant {
			cmd = "REVOKE ROLE"
		}
		f.base(airlock.KindGrant, airlock.LevelAdmin, cmd+" changes role membership", cmd)
	case *pg.Node_CommentStmt:
		f.base(airlock.KindDDL, airlock.LevelDDL, "COMMENT changes the schema", "COMMENT")
		f.objectTarget(x.CommentStmt.Objtype, x.CommentStmt.Object)
	case *pg.Node_SecLabelStmt:
		f.base(airlock.KindDDL, airlock.LevelDDL, "SECURITY LABEL changes the schema", "SECURITY LABEL")
		f.objectTarget(x.SecLabelStmt.Objtype, x.SecLabelStmt.Object)
	case *pg.Node_DropStmt:
		d := x.DropStmt
		f.ddl(airlock.KindDrop, d.RemoveType, "DROP "+objectName(d.RemoveType))
		if pgRelationObjects[d.RemoveType] {
			for _, o := range d.Objects {
				if l := o.GetList(); l != nil {
					f.targetNames(l.Items)
				}
			}
		}
	case *pg.Node_TruncateStmt:
		f.base(airlock.KindTruncate, airlock.LevelDDL, "TRUNCATE removes all rows", "TRUNCATE TABLE")
		for _, r := range x.TruncateStmt.Relations {
			f.target(r.GetRangeVar())
		}
	case *pg.Node_VacuumStmt:
		cmd, why := "VACUUM", "VACUUM works on tables' storage"
		if !x.VacuumStmt.IsVacuumcmd {
			cmd, why = "ANALYZE", "ANALYZE changes table statistics"
		}
		f.base(airlock.KindUtility, airlock.LevelDDL, why, cmd)
		for _, r := range x.VacuumStmt.Rels {
			if vr := r.GetVacuumRelation(); vr != nil {
				f.target(vr.Relation)
			}
		}
	case *pg.Node_ClusterStmt:
		f.base(airlock.KindUtility, airlock.LevelDDL, "CLUSTER rewrites tables", "CLUSTER")
		f.target(x.ClusterStmt.Relation)
	case *pg.Node_ReindexStmt:
		f.base(airlock.KindUtility, airlock.LevelDDL, "REINDEX rebuilds indexes", "REINDEX")
		f.target(x.ReindexStmt.Relation)
	case *pg.Node_RefreshMatViewStmt:
		f.base(airlock.KindUtility, airlock.LevelDDL, "REFRESH MATERIALIZED VIEW replaces its rows", "REFRESH MATERIALIZED VIEW")
		f.target(x.RefreshMatViewStmt.Relation)
	default:
		cmd := commandOf(n)
		f.base(airlock.KindUnknown, airlock.LevelAdmin, cmd+" is not a statement airlock knows", cmd)
		return
	}
	f.node(n)
}

func (f *facts) alterTable(a *pg.AlterTableStmt) {
	cmd := "ALTER " + objectName(a.Objtype)
	f.ddl(airlock.KindDDL, a.Objtype, cmd)
	f.target(a.Relation)
	for _, c := range a.Cmds {
		atc := c.GetAlterTableCmd()
		if atc == nil {
			continue
		}
		if atc.Subtype == pg.AlterTableType_AT_ChangeOwner {
			f.raise(airlock.LevelAdmin, cmd+" ... OWNER TO gives an object to another role", -1)
		}
		if pc := atc.Def.GetPartitionCmd(); pc != nil {
			f.target(pc.Name) // ATTACH / DETACH PARTITION changes the partition too
		}
	}
}

// objectTarget lists the relation a COMMENT or SECURITY LABEL is on.
func (f *facts) objectTarget(t pg.ObjectType, obj *pg.Node) {
	l := obj.GetList()
	if l == nil {
		return
	}
	switch {
	case pgRelationObjects[t]:
		f.targetNames(l.Items)
	case t == pg.ObjectType_OBJECT_COLUMN && len(l.Items) > 1:
		f.targetNames(l.Items[:len(l.Items)-1])
	}
}

// createFunction: creating code is ddl, code in C or internal functions
// is admin; the body runs later, so it raises nothing now.
func (f *facts) createFunction(c *pg.CreateFunctionStmt) {
	cmd := "CREATE FUNCTION"
	if c.IsProcedure {
		cmd = "CREATE PROCEDURE"
	}
	f.base(airlock.KindDDL, airlock.LevelDDL, cmd+" changes the schema", cmd)
	for _, o := range c.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "language" {
			continue
		}
		if lang, _ := defArgString(d.Arg); strings.EqualFold(lang, "c") || strings.EqualFold(lang, "internal") {
			f.raise(airlock.LevelAdmin, cmd+" in language "+strings.ToLower(lang)+" loads code into the server", -1)
		}
	}
	exec := f.exec
	f.exec = false
	f.node(&pg.Node{Node: &pg.Node_CreateFunctionStmt{CreateFunctionStmt: c}})
	f.exec = exec
}

// createSchema classifies CREATE SCHEMA and the statements it holds.
func (f *facts) createSchema(c *pg.CreateSchemaStmt) {
	f.base(airlock.KindDDL, airlock.LevelDDL, "CREATE SCHEMA changes the schema", "CREATE SCHEMA")
	for _, e := range c.SchemaElts {
		f.stmt(e)
	}
	f.kind, f.command = airlock.KindDDL, "CREATE SCHEMA"
}

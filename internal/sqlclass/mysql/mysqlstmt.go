package mysql

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"airlock"
	"airlock/internal/sqlclass"
)

// stmt classifies a statement parsed by TiDB: its kind, command and own
// level, then walks it for tables and calls. A statement type not listed
// here is airlock.KindUnknown at airlock.LevelAdmin (the TiDB grammar has
// many statements of its own that MySQL and MariaDB do not).
func (m *MySQL) stmt(f *myFacts, n ast.StmtNode, depth int) *sqlclass.ParseError {
	switch x := n.(type) {
	case *ast.SelectStmt:
		f.base(airlock.KindSelect, airlock.LevelRead, "SELECT reads rows", "SELECT")
		f.walk(x)
		f.hasWhere, f.hasLimit = x.Where != nil, x.Limit != nil
	case *ast.SetOprStmt:
		f.base(airlock.KindSelect, airlock.LevelRead, "SELECT reads rows", "SELECT")
		f.walk(x)
		f.hasLimit = x.Limit != nil
	case *ast.InsertStmt:
		f.insertStmt(x)
	case *ast.UpdateStmt:
		f.updateStmt(x)
	case *ast.DeleteStmt:
		f.deleteStmt(x)
	case *ast.LoadDataStmt:
		if x.FileLocRef == ast.FileLocClient {
			// The client sends its own data: a bulk write, like COPY
			// FROM STDIN (the adapter relays the data it is asked for).
			f.base(airlock.KindCopyFrom, airlock.LevelWrite, "LOAD DATA LOCAL INFILE adds the client's rows", "LOAD DATA LOCAL")
		} else {
			f.base(airlock.KindCopyFrom, airlock.LevelAdmin, "LOAD DATA INFILE reads the server's files", "LOAD DATA")
		}
		if x.Table != nil {
			f.target(myTableName(x.Table))
		}
		f.walk(x)
	case *ast.CallStmt:
		proc := ""
		if p := x.Procedure; p != nil {
			proc = myFunctionName(p.Schema.O, p.FnName.O)
			f.base(airlock.KindCall, airlock.LevelWrite, "CALL runs procedure "+proc+", which may change data", "CALL")
			f.function(proc)
			for _, a := range p.Args {
				f.walk(a)
			}
		} else {
			f.base(airlock.KindCall, airlock.LevelWrite, "CALL runs a procedure, which may change data", "CALL")
		}
	case *ast.DoStmt:
		f.base(airlock.KindDo, airlock.LevelRead, "DO evaluates expressions", "DO")
		f.walk(x)
	case *ast.ShowStmt:
		f.base(airlock.KindShow, airlock.LevelRead, "SHOW reads the server's metadata", "SHOW")
		if x.Table != nil {
			f.table(myTableName(x.Table))
		}
		if x.Pattern != nil {
			f.walk(x.Pattern)
		}
		if x.Where != nil {
			f.walk(x.Where)
		}
	case *ast.ExplainStmt:
		return m.explainStmt(f, x, depth)
	case *ast.ExplainForStmt:
		f.base(airlock.KindExplain, airlock.LevelRead, "EXPLAIN FOR CONNECTION shows another session's plan", "EXPLAIN")
	case *ast.PrepareStmt:
		return m.prepareStmt(f, x, depth)
	case *ast.ExecuteStmt:
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "EXECUTE runs a prepared statement whose facts are recorded at PREPARE", "EXECUTE")
		f.name = strings.ToLower(x.Name)
		// The USING values run too (MariaDB takes any expression there):
		// their own level is kept apart, for the gateway to combine with
		// the facts recorded at PREPARE.
		args := newMyFacts()
		args.raise(airlock.LevelRead, "")
		for _, e := range x.UsingVars {
			args.walk(e)
		}
		f.argsLevel, f.argsWhy = args.level, args.why
		f.tables, f.funcs = args.tables, args.funcs
	case *ast.DeallocateStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "DEALLOCATE PREPARE forgets a prepared statement", "DEALLOCATE PREPARE")
		f.name = strings.ToLower(x.Name)
	case *ast.UseStmt:
		// The name is kept as written: database names are case-sensitive
		// on most servers, and the adapter compares it with its schema.
		f.base(airlock.KindUtility, airlock.LevelRead, "USE changes the default schema", "USE")
		f.name = x.DBName

	case *ast.SetStmt:
		f.setStmt("SET", x)
	case *ast.SetRoleStmt:
		f.base(airlock.KindSet, airlock.LevelRead, "SET ROLE switches the database identity", "SET ROLE")
		f.escapes(airlock.EscapeIdentity, "SET ROLE switches the database identity")
		f.setting = &mySetting{Name: "role", Value: myRoleValue(x), Known: true}
	case *ast.SetPwdStmt:
		f.base(airlock.KindDDL, airlock.LevelAdmin, "SET PASSWORD changes an account's password", "SET PASSWORD")
	case *ast.SetDefaultRoleStmt:
		f.base(airlock.KindDDL, airlock.LevelAdmin, "SET DEFAULT ROLE changes an account", "SET DEFAULT ROLE")

	case *ast.LockTablesStmt:
		f.base(airlock.KindLock, airlock.LevelWrite, "LOCK TABLES blocks other sessions", "LOCK TABLES")
		for _, l := range x.TableLocks {
			if l.Table != nil {
				f.target(myTableName(l.Table))
			}
		}
	case *ast.UnlockTablesStmt:
		f.base(airlock.KindLock, airlock.LevelRead, "UNLOCK TABLES releases the session's table locks", "UNLOCK TABLES")
	case *ast.KillStmt:
		if x.Query && !x.TiDBExtension && x.Expr == nil {
			// The adapter maps a client's cancel (KILL QUERY <its own
			// connection id>) to the upstream thread.
			f.base(airlock.KindUtility, airlock.LevelAdmin, "KILL QUERY acts on another session", "KILL QUERY")
			f.name = strconv.FormatUint(x.ConnectionID, 10)
		} else {
			f.base(airlock.KindUtility, airlock.LevelAdmin, "KILL acts on another session", "KILL")
		}
	case *ast.FlushStmt:
		f.base(airlock.KindUtility, airlock.LevelAdmin, "FLUSH acts on the server", "FLUSH")
		for _, t := range x.Tables {
			f.table(myTableName(t))
		}
	case *ast.ShutdownStmt:
		f.base(airlock.KindUtility, airlock.LevelAdmin, "SHUTDOWN stops the server", "SHUTDOWN")
	case *ast.BinlogStmt:
		f.base(airlock.KindUtility, airlock.LevelAdmin, "BINLOG replays replication events", "BINLOG")
	case *ast.HelpStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "HELP reads the server's help tables", "HELP")

	default:
		f.ddlStmt(n)
	}
	return nil
}

func (f *myFacts) insertStmt(x *ast.InsertStmt) {
	switch {
	case x.IsReplace:
		f.base(airlock.KindInsert, airlock.LevelWrite, "REPLACE adds rows and replaces those with the same key", "REPLACE")
	case len(x.OnDuplicate) > 0:
		f.base(airlock.KindInsert, airlock.LevelWrite, "INSERT ... ON DUPLICATE KEY UPDATE adds rows and changes existing ones", "INSERT")
	default:
		f.base(airlock.KindInsert, airlock.LevelWrite, "INSERT adds rows", "INSERT")
	}
	if x.Table != nil {
		for _, s := range mySources(x.Table.TableRefs) {
			if s.table != nil {
				f.target(myTableName(s.table))
			}
		}
	}
	f.walk(x)
}

func (f *myFacts) updateStmt(x *ast.UpdateStmt) {
	f.base(airlock.KindUpdate, airlock.LevelWrite, "UPDATE changes rows", "UPDATE")
	var srcs []mySource
	if x.TableRefs != nil {
		srcs = mySources(x.TableRefs.TableRefs)
	}
	var bases []*ast.TableName
	for _, s := range srcs {
		if s.table != nil {
			bases = append(bases, s.table)
		}
	}
	all := func() {
		for _, t := range bases {
			f.target(myTableName(t))
		}
	}
	for _, a := range x.List {
		if a.Column == nil {
			all()
			continue
		}
		switch {
		case a.Column.Table.L != "":
			if t := myResolve(srcs, a.Column.Schema.L, a.Column.Table.L); t != nil {
				f.target(myTableName(t))
			} else {
				all()
			}
		case len(bases) == 1:
			f.target(myTableName(bases[0]))
		default:
			all() // an unqualified column of a multi-table UPDATE
		}
	}
	f.walk(x)
	f.hasWhere, f.hasLimit = x.Where != nil, x.Limit != nil
}

func (f *myFacts) deleteStmt(x *ast.DeleteStmt) {
	f.base(airlock.KindDelete, airlock.LevelWrite, "DELETE changes rows", "DELETE")
	var srcs []mySource
	if x.TableRefs != nil {
		srcs = mySources(x.TableRefs.TableRefs)
	}
	if x.IsMultiTable && x.Tables != nil {
		for _, t := range x.Tables.Tables {
			if r := myResolve(srcs, t.Schema.L, t.Name.L); r != nil {
				f.target(myTableName(r))
			} else {
				f.target(myTableName(t))
			}
		}
	} else {
		for _, s := range srcs {
			if s.table != nil {
				f.target(myTableName(s.table))
			}
		}
	}
	f.walk(x)
	f.hasWhere, f.hasLimit = x.Where != nil, x.Limit != nil
}

func (m *MySQL) explainStmt(f *myFacts, x *ast.ExplainStmt, depth int) *sqlclass.ParseError {
	if s, ok := x.Stmt.(*ast.ShowStmt); ok {
		// DESCRIBE t, EXPLAIN t: the columns of a table.
		f.base(airlock.KindShow, airlock.LevelRead, "DESCRIBE reads a table's columns", "DESCRIBE")
		if s.Table != nil {
			f.table(myTableName(s.Table))
		}
		return nil
	}
	if x.Stmt == nil {
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "this EXPLAIN is not one airlock knows", "EXPLAIN")
		return nil
	}
	f.raise(airlock.LevelRead, "EXPLAIN shows a plan")
	exec := f.exec
	if !x.Analyze {
		f.exec = false // a plain EXPLAIN runs nothing
	}
	err := m.stmt(f, x.Stmt, depth)
	f.exec = exec
	f.command = "EXPLAIN"
	if !x.Analyze || f.kind == airlock.KindSelect {
		f.kind = airlock.KindExplain
	}
	return err
}

// prepareStmt classifies PREPARE name FROM 'text' as the statement in the
// text; PREPARE name FROM @var prepares text that is only known at run time.
func (m *MySQL) prepareStmt(f *myFacts, x *ast.PrepareStmt, depth int) *sqlclass.ParseError {
	name := strings.ToLower(x.Name)
	if x.SQLVar != nil {
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "PREPARE ... FROM @"+strings.ToLower(x.SQLVar.Name)+" prepares SQL built at run time, which airlock cannot check", "PREPARE")
		f.name = name
		return nil
	}
	sts, err := m.classify(x.SQLText, depth+1)
	if err != nil {
		pe := *err
		pe.Message = "in the text of PREPARE " + name + ": " + pe.Message
		pe.Position = 0
		return &pe
	}
	if len(sts) != 1 || sts[0].Kind == airlock.KindEmpty {
		return &sqlclass.ParseError{Message: "PREPARE " + name + " must prepare exactly one statement"}
	}
	inner := sts[0]
	*f = myFacts{
		kind: inner.Kind, level: inner.Level, why: inner.Why, escape: inner.Escape, escapeWhy: inner.Why,
		tables: inner.Tables, writes: inner.WriteTables, funcs: inner.Functions,
		hasWhere: inner.HasWhere, hasLimit: inner.HasLimit, txn: inner.Txn, exec: true,
		argsLevel: inner.ArgsLevel, argsWhy: inner.ArgsWhy,
	}
	if inner.Setting != "" {
		f.setting = &mySetting{Name: inner.Setting, Value: inner.Value}
	}
	f.command, f.name = "PREPARE", name
	return nil
}

func myRoleValue(x *ast.SetRoleStmt) string {
	switch x.SetRoleOpt {
	case ast.SetRoleDefault:
		return "DEFAULT"
	case ast.SetRoleNone:
		return "NONE"
	case ast.SetRoleAll:
		return "ALL"
	}
	names := make([]string, 0, len(x.RoleList))
	for _, r := range x.RoleList {
		names = append(names, r.Username)
	}
	return strings.Join(names, ", ")
}

// setStmt classifies SET of one or more variables: the statement needs the
// most any of them needs, and reports the setting that decides (the first
// of the worst).
func (f *myFacts) setStmt(verb string, x *ast.SetStmt) {
	f.kind, f.command = airlock.KindSet, "SET"
	var worst *mySetting
	worstRank := -1
	for _, v := range x.Variables {
		c := myAssignment(verb, v)
		l, why, esc := judgeMySetting(c)
		f.raise(l, why)
		f.escapes(esc, why)
		if v.Value != nil {
			f.walk(v.Value)
		}
		if rank := myEscapeRank[esc]*10 + int(l); rank > worstRank {
			worst, worstRank = &c, rank
		}
	}
	f.raise(airlock.LevelRead, verb+" changes session settings")
	if f.exec {
		f.setting = worst
	}
}

// ddlStmt classifies schema changes, account and server statements, and
// anything else.
func (f *myFacts) ddlStmt(n ast.StmtNode) {
	ddl := func(kind airlock.Kind, command string, targets ...*ast.TableName) {
		f.base(kind, airlock.LevelDDL, command+" changes the schema", command)
		for _, t := range targets {
			if t != nil {
				f.target(myTableName(t))
			}
		}
	}
	admin := func(kind airlock.Kind, command, why string) {
		f.base(kind, airlock.LevelAdmin, command+" "+why, command)
	}
	switch x := n.(type) {
	case *ast.CreateTableStmt:
		ddl(airlock.KindDDL, "CREATE TABLE", x.Table)
		if x.ReferTable != nil {
			f.table(myTableName(x.ReferTable))
		}
		f.walkSkipping(x, x.Table) // CREATE TABLE ... SELECT runs its query
	case *ast.CreateViewStmt:
		ddl(airlock.KindDDL, "CREATE VIEW", x.ViewName)
		exec := f.exec
		f.exec = false // the view's query is stored, not run
		f.walk(x.Select)
		f.exec = exec
	case *ast.CreateIndexStmt:
		ddl(airlock.KindDDL, "CREATE INDEX", x.Table)
		f.walk(x)
	case *ast.AlterTableStmt:
		ddl(airlock.KindDDL, "ALTER TABLE", x.Table)
		for _, s := range x.Specs {
			if s.NewTable != nil {
				f.target(myTableName(s.NewTable))
			}
		}
		f.walk(x)
	case *ast.DropTableStmt:
		cmd := "DROP TABLE"
		if x.IsView {
			cmd = "DROP VIEW"
		}
		ddl(airlock.KindDrop, cmd, x.Tables...)
		f.why = cmd + " drops " + map[bool]string{false: "tables", true: "views"}[x.IsView]
	case *ast.DropIndexStmt:
		ddl(airlock.KindDrop, "DROP INDEX", x.Table)
	case *ast.TruncateTableStmt:
		f.base(airlock.KindTruncate, airlock.LevelDDL, "TRUNCATE removes all rows", "TRUNCATE TABLE")
		if x.Table != nil {
			f.target(myTableName(x.Table))
		}
	case *ast.RenameTableStmt:
		ddl(airlock.KindDDL, "RENAME TABLE")
		for _, t := range x.TableToTables {
			f.target(myTableName(t.OldTable))
			f.target(myTableName(t.NewTable))
		}
	case *ast.OptimizeTableStmt:
		ddl(airlock.KindDDL, "OPTIMIZE TABLE", x.Tables...)
	case *ast.AnalyzeTableStmt:
		ddl(airlock.KindDDL, "ANALYZE TABLE", x.TableNames...)
	case *ast.CreateSequenceStmt:
		ddl(airlock.KindDDL, "CREATE SEQUENCE", x.Name)
	case *ast.AlterSequenceStmt:
		ddl(airlock.KindDDL, "ALTER SEQUENCE", x.Name)
	case *ast.DropSequenceStmt:
		ddl(airlock.KindDrop, "DROP SEQUENCE", x.Sequences...)
	case *ast.ProcedureInfo:
		ddl(airlock.KindDDL, "CREATE PROCEDURE")
		exec := f.exec
		f.exec = false // the body is stored, not run
		if x.ProcedureBody != nil {
			f.walk(x.ProcedureBody)
		}
		f.exec = exec
	case *ast.DropProcedureStmt:
		ddl(airlock.KindDrop, "DROP PROCEDURE")
	case *ast.GrantStmt:
		f.grant("GRANT", x.Level)
		for _, u := range x.Users {
			if u != nil && u.AuthOpt != nil {
				f.raise(airlock.LevelAdmin, "GRANT ... IDENTIFIED BY creates or changes an account")
			}
		}
	case *ast.RevokeStmt:
		f.grant("REVOKE", x.Level)
	case *ast.GrantRoleStmt:
		admin(airlock.KindGrant, "GRANT ROLE", "changes role membership")
	case *ast.RevokeRoleStmt:
		admin(airlock.KindGrant, "REVOKE ROLE", "changes role membership")
	case *ast.GrantProxyStmt:
		admin(airlock.KindGrant, "GRANT PROXY", "lets an account act as another")
	case *ast.CreateDatabaseStmt:
		admin(airlock.KindDDL, "CREATE DATABASE", "acts on the server")
	case *ast.AlterDatabaseStmt:
		admin(airlock.KindDDL, "ALTER DATABASE", "acts on the server")
	case *ast.DropDatabaseStmt:
		admin(airlock.KindDrop, "DROP DATABASE", "acts on the server")
	case *ast.CreateUserStmt:
		if x.IsCreateRole {
			admin(airlock.KindDDL, "CREATE ROLE", "acts on accounts")
		} else {
			admin(airlock.KindDDL, "CREATE USER", "acts on accounts")
		}
	case *ast.AlterUserStmt:
		admin(airlock.KindDDL, "ALTER USER", "acts on accounts")
	case *ast.DropUserStmt:
		if x.IsDropRole {
			admin(airlock.KindDrop, "DROP ROLE", "acts on accounts")
		} else {
			admin(airlock.KindDrop, "DROP USER", "acts on accounts")
		}
	case *ast.RenameUserStmt:
		admin(airlock.KindDDL, "RENAME USER", "acts on accounts")
	default:
		cmd := myCommandOf(n)
		f.base(airlock.KindUnknown, airlock.LevelAdmin, cmd+" is not a statement airlock knows", cmd)
	}
}

// grant classifies GRANT/REVOKE of privileges: on a schema or a table it
// is ddl (the table is a target, as in PostgreSQL); on the whole server
// (*.*), admin.
func (f *myFacts) grant(cmd string, l *ast.GrantLevel) {
	if l == nil || l.Level == ast.GrantLevelGlobal || l.Level == ast.GrantLevelNone {
		f.base(airlock.KindGrant, airlock.LevelAdmin, cmd+" on *.* changes privileges on the whole server", cmd)
		return
	}
	f.base(airlock.KindGrant, airlock.LevelDDL, cmd+" changes privileges", cmd)
	if l.Level == ast.GrantLevelTable && l.TableName != "*" && l.TableName != "" {
		name := strings.ToLower(l.TableName)
		if l.DBName != "" {
			name = strings.ToLower(l.DBName) + "." + name
		}
		f.target(name)
	}
}

// myCommandOf derives a command name from a node type, for statements
// airlock does not know: "*ast.AdminStmt" -> "ADMIN".
func myCommandOf(n ast.Node) string {
	t := reflect.TypeOf(n)
	if t == nil {
		return "UNKNOWN"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := strings.TrimSuffix(t.Name(), "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	if b.Len() == 0 {
		return "UNKNOWN"
	}
	return b.String()
}

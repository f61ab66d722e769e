package myadmin

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/undo"
)

// The MySQL veto (gateway.Adapter.Veto): what airlock can tell of a statement only
// from the database, shared by every entry point that runs SQL on MySQL
// (the wire adapter and the MCP server), so that both decide alike.

// TransactionalEngines can roll a statement back.
var TransactionalEngines = []string{"INNODB", "XTRADB", "ROCKSDB", "TOKUDB", "NDBCLUSTER", "NDB"}

// TableInfo is what airlock knows of a table written to.
type TableInfo struct {
	Engine string // upper case; "" for a view
	View   bool
	// OnDelete and OnUpdate: a foreign key with a cascading action
	// (CASCADE, SET NULL, SET DEFAULT) ON DELETE, ON UPDATE references it.
	OnDelete, OnUpdate bool
}

// QueryError is an error the database answered to one of the veto's
// queries (as opposed to a lost connection): the check is then denied.
type QueryError struct{ Message string }

func (e *QueryError) Error() string { return e.Message }

// Veto checks an allowed check against the database of one session: USE
// of another schema, writes to views or non-transactional tables, guarded
// writes a foreign-key cascade could widen unseen, and statements that use
// what undo capture relies on. Tables caches what was read, per session.
type Veto struct {
	DBName string // the airlock database's name
	Schema string // its upstream schema
	Tables map[string]TableInfo
	// Query runs a query of the veto upstream and returns its rows
	// (SQL NULL as ""); an error the database answered is a *QueryError.
	Query func(sql string) ([][]string, error)
}

// UseDenial denies USE of any schema but the database's own (schema, of
// airlock database dbName) and the read-only metadata schemas: airlock
// resolves unqualified table names in that schema.
func UseDenial(ch *gateway.Check, schema, dbName string) *airlock.Decision {
	for _, st := range ch.Stmts {
		if st.Command == "USE" && st.Name != schema && !MetadataSchema(st.Name) {
			d := gateway.OtherSchema(schema, dbName)
			return &d
		}
	}
	return nil
}

// Check returns the denial of ch, or nil; an error means the database
// could not be asked.
func (v *Veto) Check(ch *gateway.Check) (*airlock.Decision, error) {
	if d := UseDenial(ch, v.Schema, v.DBName); d != nil {
		return d, nil
	}
	if d := CaptureUse(ch); d != nil {
		return d, nil
	}
	var want []string
	for i := range ch.Stmts {
		st := &ch.Stmts[i]
		if st.Level < airlock.LevelWrite || !rowWriting(st) {
			continue
		}
		for _, t := range st.WriteTables {
			if _, ok := v.Tables[t]; !ok && !slices.Contains(want, t) {
				want = append(want, t)
			}
		}
	}
	if len(want) > 0 {
		if err := v.load(want); err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				return nil, err
			}
			return vetoed(gateway.NonTransactional(ch.Decision.Need,
				"airlock could not read the storage engine of the tables this writes: "+qe.Message))
		}
	}
	for i := range ch.Stmts {
		st := &ch.Stmts[i]
		if st.Level < airlock.LevelWrite || !rowWriting(st) {
			continue
		}
		for _, t := range st.WriteTables {
			info, ok := v.Tables[t]
			switch {
			case !ok:
				// Not a base table or view of the database (a temporary
				// table, or none): the server answers for it.
			case info.View:
				return vetoed(gateway.NonTransactional(ch.Decision.Need,
					fmt.Sprintf("%s is a view; airlock cannot tell which tables and storage engines a write through it reaches; write to the tables themselves", t)))
			case !slices.Contains(TransactionalEngines, info.Engine):
				return vetoed(gateway.NonTransactional(ch.Decision.Need,
					fmt.Sprintf("%s uses the %s storage engine, which cannot roll a write back", t, info.Engine)))
			case ch.Guard != nil && cascades(st, info):
				return vetoed(gateway.BlastRadius(ch.Decision.Need,
					fmt.Sprintf("foreign keys with cascading actions reference %s, and MySQL does not count the rows a cascade changes, so airlock cannot check this write against the limit", t)))
			}
		}
	}
	return nil, nil
}

// vetoed returns d as a veto's denial.
func vetoed(d airlock.Decision) (*airlock.Decision, error) { return &d, nil }

// rowWriting reports whether a statement changes rows of the tables it
// names (DDL has its own rules; LOCK TABLES and SELECT ... FOR UPDATE only
// lock).
func rowWriting(st *airlock.Statement) bool {
	switch st.Kind {
	case airlock.KindInsert, airlock.KindUpdate, airlock.KindDelete, airlock.KindMerge, airlock.KindCopyFrom:
		return len(st.WriteTables) > 0
	}
	return false
}

// cascades reports whether a statement may fire a cascading action of a
// foreign key that references a table it writes: a DELETE (and REPLACE,
// which deletes the row it replaces) fires ON DELETE actions, an UPDATE
// (and INSERT ... ON DUPLICATE KEY UPDATE) ON UPDATE ones.
func cascades(st *airlock.Statement, info TableInfo) bool {
	// LOAD DATA ... REPLACE deletes what it replaces, ... IGNORE does
	// neither: a LOAD DATA counts as both, to be safe.
	load := st.Kind == airlock.KindCopyFrom
	deletes := load || st.Kind == airlock.KindDelete || st.Kind == airlock.KindMerge || strings.HasPrefix(st.Command, "REPLACE")
	// The facts do not tell an INSERT ... ON DUPLICATE KEY UPDATE from a
	// plain INSERT: any INSERT whose text says DUPLICATE counts as one.
	updates := load || st.Kind == airlock.KindUpdate || st.Kind == airlock.KindMerge ||
		(st.Kind == airlock.KindInsert && strings.Contains(strings.ToUpper(st.Text), "DUPLICATE"))
	return (deletes && info.OnDelete) || (updates && info.OnUpdate)
}

// MetadataSchema reports whether name is information_schema, the
// read-only metadata schema, which a session may make its current schema
// at every level (USE information_schema, as tools do): nothing in it can
// be written.
func MetadataSchema(name string) bool {
	return strings.EqualFold(name, "information_schema")
}

// load reads the engine and cascading foreign keys of tables
// (schema-qualified) into the cache.
func (v *Veto) load(tables []string) error {
	var conds []string
	for _, t := range tables {
		schema, name, ok := strings.Cut(t, ".")
		if !ok {
			schema, name = v.Schema, t
		}
		conds = append(conds, fmt.Sprintf("(t.TABLE_SCHEMA = %s AND t.TABLE_NAME = %s)", undo.MyQuoteLiteral(schema), undo.MyQuoteLiteral(name)))
	}
	q := `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, IFNULL(t.ENGINE, ''), t.TABLE_TYPE,
 (SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS r
   WHERE r.UNIQUE_CONSTRAINT_SCHEMA = t.TABLE_SCHEMA AND r.REFERENCED_TABLE_NAME = t.TABLE_NAME
     AND r.DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT')),
 (SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS r
   WHERE r.UNIQUE_CONSTRAINT_SCHEMA = t.TABLE_SCHEMA AND r.REFERENCED_TABLE_NAME = t.TABLE_NAME
     AND r.UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))
 FROM information_schema.TABLES t WHERE ` + strings.Join(conds, " OR ")
	rows, err := v.Query(q)
	if err != nil {
		return err
	}
	for _, t := range tables {
		schema, name, ok := strings.Cut(t, ".")
		if !ok {
			schema, name = v.Schema, t
		}
		for _, row := range rows {
			// information_schema compares names without case; so does
			// this, and the strictest matching table wins.
			if len(row) != 6 || !strings.EqualFold(row[0], schema) || !strings.EqualFold(row[1], name) {
				continue
			}
			info := TableInfo{Engine: strings.ToUpper(row[2]), View: row[3] == "VIEW", OnDelete: row[4] != "0", OnUpdate: row[5] != "0"}
			if old, ok := v.Tables[t]; ok {
				info.View = info.View || old.View
				info.OnDelete = info.OnDelete || old.OnDelete
				info.OnUpdate = info.OnUpdate || old.OnUpdate
				if slices.Contains(TransactionalEngines, info.Engine) {
					info.Engine = old.Engine
				}
			}
			v.Tables[t] = info
		}
	}
	return nil
}

// CaptureUse denies a check whose text names one of airlock's capture
// variables (@airlock_...) or that writes to the capture table: a session
// could turn its capture off, or make uncaptured rows look accounted for.
func CaptureUse(ch *gateway.Check) *airlock.Decision {
	deny := func(what string) *airlock.Decision {
		d := gateway.CaptureReserved(ch.Decision.Need, what)
		return &d
	}
	if NamesCaptureVar(ch.Text) {
		return deny("the user variable @airlock_...")
	}
	for i := range ch.Stmts {
		for _, t := range ch.Stmts[i].WriteTables {
			if strings.EqualFold(t[strings.LastIndexByte(t, '.')+1:], undo.MyCaptureTable) {
				return deny("the table " + undo.MyCaptureTable)
			}
		}
	}
	return nil
}

// NamesCaptureVar reports whether text has @airlock_ (or @`airlock_,
// @'airlock_, @"airlock_), in any case.
func NamesCaptureVar(text string) bool {
	for i := strings.IndexByte(text, '@'); i >= 0; {
		rest := text[i+1:]
		if len(rest) > 0 && (rest[0] == '`' || rest[0] == '\'' || rest[0] == '"') {
			rest = rest[1:]
		}
		if len(rest) >= 8 && strings.EqualFold(rest[:8], "airlock_") {
			return true
		}
		j := strings.IndexByte(text[i+1:], '@')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// ChangedRows reads a MySQL session's handler counters: the rows it asked
// storage engines to insert (Handler_write), update and delete, triggers
// included (what the blast-radius rule counts on MySQL).
const ChangedRows = "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')"

// Counters are a session's handler counters.
type Counters struct{ Written, Updated, Deleted int64 }

// Minus returns the counts of c since o.
func (c Counters) Minus(o Counters) Counters {
	return Counters{c.Written - o.Written, c.Updated - o.Updated, c.Deleted - o.Deleted}
}

// Total is every row counted.
func (c Counters) Total() int64 { return c.Written + c.Updated + c.Deleted }

// ParseCounters reads the rows of ChangedRows.
func ParseCounters(rows [][]string) (Counters, error) {
	var c Counters
	if len(rows) != 3 {
		return c, errors.New("read row counters: unexpected answer")
	}
	for _, row := range rows {
		if len(row) != 2 {
			return c, fmt.Errorf("read row counters: %q", row)
		}
		v, err := strconv.ParseInt(row[1], 10, 64)
		if err != nil {
			return c, fmt.Errorf("read row counters: %q", row)
		}
		switch strings.ToLower(row[0]) {
		case "handler_write":
			c.Written = v
		case "handler_update":
			c.Updated = v
		case "handler_delete":
			c.Deleted = v
		default:
			return c, fmt.Errorf("read row counters: %q", row[0])
		}
	}
	return c, nil
}

// ReplacedTables lists the tables REPLACE statements write
// (schema-qualified, in schema when unqualified): the rows REPLACE deletes
// there were first insert attempts that found their key taken.
func ReplacedTables(schema string, stmts []airlock.Statement) []string {
	var out []string
	for i := range stmts {
		st := &stmts[i]
		if !strings.HasPrefix(st.Command, "REPLACE") {
			continue
		}
		for _, t := range st.WriteTables {
			if !strings.Contains(t, ".") {
				t = schema + "." + t
			}
			out = append(out, t)
		}
	}
	return out
}

package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/access"
)

// runView is a change script's run as the request page shows it: per
// statement, its sample of changed rows as a table whose changed cells are
// marked.
type runView struct {
	Title string
	*airlock.ScriptRun
	Statements []stmtView
}

type stmtView struct {
	N    int
	SQL  string
	Rows string // "3", or "not run"
	More int    // changed rows beyond the sample
	Err  string
	// Tables groups the sample by table and operation, since the columns
	// differ between tables.
	Tables []sampleView
}

type sampleView struct {
	Table, Op string
	Columns   []string
	Rows      [][]cellView
}

// cellView is one cell: Old and New for an update that changed it,
// Value otherwise.
type cellView struct {
	Value, Old, New string
	Changed         bool
}

func viewRun(title string, run *airlock.ScriptRun) *runView {
	if run == nil {
		return nil
	}
	v := &runView{Title: title, ScriptRun: run}
	for i, st := range run.Statements {
		sv := stmtView{N: i + 1, SQL: strings.TrimSpace(st.SQL), Rows: strconv.FormatInt(st.RowsChanged, 10), Err: st.Error,
			More: max(st.Captured-len(st.Sample), 0)}
		if st.RowsChanged < 0 {
			sv.Rows = "not run"
		}
		for _, rc := range st.Sample {
			var tv *sampleView
			for j := range sv.Tables {
				if sv.Tables[j].Table == rc.Table && sv.Tables[j].Op == rc.Op && len(sv.Tables[j].Columns) == len(rc.Columns) {
					tv = &sv.Tables[j]
				}
			}
			if tv == nil {
				sv.Tables = append(sv.Tables, sampleView{Table: rc.Table, Op: opWord(rc.Op), Columns: rc.Columns})
				tv = &sv.Tables[len(sv.Tables)-1]
			}
			row := make([]cellView, len(rc.Columns))
			for c := range rc.Columns {
				switch rc.Op {
				case "U":
					row[c] = cellView{Value: cellText(rc.After, c), Old: cellText(rc.Before, c), New: cellText(rc.After, c), Changed: rc.Changed(c)}
				case "D":
					row[c] = cellView{Value: cellText(rc.Before, c)}
				default:
					row[c] = cellView{Value: cellText(rc.After, c)}
				}
			}
			tv.Rows = append(tv.Rows, row)
		}
		v.Statements = append(v.Statements, sv)
	}
	return v
}

func opWord(op string) string {
	switch op {
	case "I":
		return "inserted"
	case "D":
		return "deleted"
	}
	return "updated"
}

func cellText(vals []*string, i int) string {
	if i >= len(vals) || vals[i] == nil {
		return "NULL"
	}
	return *vals[i]
}

// createScriptRequest files a change script request from the form: the
// script pasted in (or its file uploaded) and the tolerance.
func (h *Handler) createScriptRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var tol int64
	if v := strings.TrimSpace(r.PostFormValue("tolerance")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return airlock.Errorf(airlock.EINVALID, "the tolerance is a number of rows, 0 or more")
		}
		tol = n
	}
	req, err := h.o.Access.CreateRequest(r.Context(), rc.actor, access.RequestInput{
		Database: r.PostFormValue("database"), Reason: r.PostFormValue("reason"), Script: r.PostFormValue("sql"), Tolerance: tol,
	})
	if err != nil {
		return err
	}
	rc.sess.setFlash(fmt.Sprintf("Request %s filed: a change script on %s, dry-run done. An approver reviews it.", req.ID, req.Database))
	http.Redirect(w, r, "/requests/"+req.ID, http.StatusSeeOther)
	return nil
}

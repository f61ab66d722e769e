package access

import (
	"context"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
)

// MaxScriptBytes bounds a change script's text.
const MaxScriptBytes = 256 << 10

// Scripts is the change-script hook the gateway implements: it classifies
// a script, dry-runs it for review, and runs it once approved.
type Scripts interface {
	ScriptLevel(db *config.Database, script string) (airlock.Level, error)
	DryRunScript(ctx context.Context, u *airlock.User, db *config.Database, level airlock.Level, script string) (*airlock.ScriptRun, error)
	RunApprovedScript(ctx context.Context, r *airlock.Request, approver string) (*airlock.ScriptRun, error)
}

// scriptRequest fills in the script part of a request: the level the
// script needs (which the governing policy must make requestable) and its
// dry-run. A script whose dry-run was refused (it could not be rolled
// back) is refused here.
func (s *Service) scriptRequest(ctx context.Context, a *Actor, db *config.Database, in *RequestInput) (*airlock.ScriptRun, error) {
	if s.Scripts == nil {
		return nil, airlock.Errorf(airlock.EINVALID, "change scripts are not available here")
	}
	if len(in.Script) > MaxScriptBytes {
		return nil, airlock.Errorf(airlock.EINVALID, "the script has %d bytes; at most %d are accepted", len(in.Script), MaxScriptBytes)
	}
	if in.Tolerance < 0 {
		return nil, airlock.Errorf(airlock.EINVALID, "the tolerance must be 0 or more rows")
	}
	if len(in.Tables) > 0 {
		return nil, airlock.Errorf(airlock.EINVALID, "a script request names no tables: the script says what it changes")
	}
	level, err := s.Scripts.ScriptLevel(db, in.Script)
	if err != nil {
		return nil, err
	}
	if in.Level != 0 && in.Level != level {
		return nil, airlock.Errorf(airlock.EINVALID, "the script needs %s access, not %s: leave out the level", level, in.Level)
	}
	in.Level = level
	if _, ok := db.Credentials[level]; !ok {
		return nil, airlock.Errorf(airlock.EINVALID, "database %q has no %s credential, so this script cannot run there", db.Name, level)
	}
	if s.governing(a.User, db.Name, level) == nil {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "no policy lets %s request %s access to %s; ask an admin to add one", a.User.Name, level, db.Name)
	}
	run, err := s.Scripts.DryRunScript(ctx, a.User, db, level, in.Script)
	if err != nil {
		return nil, err
	}
	if run.Refused != "" {
		return nil, airlock.Errorf(airlock.EINVALID, "the script cannot be dry-run: %s", run.Refused)
	}
	return run, nil
}

// runScript runs an approved script request's script; it reports whether
// the request stays approved (the run committed). A run that failed or
// differs from its dry-run sends the request back to review: pending
// again, its approvals cleared, with both runs shown.
func (s *Service) runScript(ctx context.Context, r *airlock.Request, approver string) (bool, error) {
	if s.Scripts == nil {
		return false, airlock.Errorf(airlock.EINVALID, "change scripts are not available here")
	}
	run, err := s.Scripts.RunApprovedScript(ctx, r, approver)
	if err != nil {
		return false, err
	}
	r.Run = run
	if run.Outcome == airlock.ScriptCommitted {
		return true, nil
	}
	r.State, r.DecidedAt, r.GrantID = airlock.RequestPending, nil, ""
	r.Approvals = []airlock.Approval{}
	r.ExpiresAt = s.now().UTC().Add(s.config().Requests.PendingTTL.D())
	why := run.Error
	if len(run.Differences) > 0 {
		why = "the run differs from the dry-run: " + strings.Join(run.Differences, "; ")
	}
	r.DecisionReason = fmt.Sprintf("back to review: %s; nothing was changed", why)
	return false, nil
}

// approveScript finishes the approval of a script request whose last
// approval r now carries: that approval is stored first (so that a
// concurrent approver finds the script running and cannot run it again),
// then the script runs, and the request is approved or sent back to
// review. When the script could not be run at all, the approval is taken
// back and the error returned.
func (s *Service) approveScript(ctx context.Context, a *Actor, r *airlock.Request, now time.Time) (*airlock.Request, error) {
	if err := s.store.UpdateRequest(ctx, r); err != nil {
		return nil, err
	}
	ok, err := s.runScript(ctx, r, a.User.Name)
	if err != nil {
		r.Approvals = r.Approvals[:len(r.Approvals)-1]
		if uerr := s.store.UpdateRequest(ctx, r); uerr != nil {
			s.log.Error("take back the approval of a script that did not run", "request", r.ID, "err", uerr)
		}
		return nil, err
	}
	action := "approved"
	if ok {
		r.DecidedAt, r.State = &now, airlock.RequestApproved
	} else {
		action = "returned"
	}
	if err := s.store.UpdateRequest(ctx, r); err != nil {
		return nil, err
	}
	if !ok {
		s.scheduleRequestExpiry(r)
	}
	return r, s.audit.Record(ctx, requestEvent(r, action, a.User.Name))
}

// scriptDetail adds a script request's facts to its events: the script's
// hash and what its dry-run (and last run) did, in a few words.
func scriptDetail(r *airlock.Request, d map[string]string) {
	d["script_sha256"] = r.ScriptSHA256
	say := func(run *airlock.ScriptRun) string {
		var rows int64
		for _, st := range run.Statements {
			rows += max(st.RowsChanged, 0)
		}
		s := fmt.Sprintf("%d statements, %d rows changed", len(run.Statements), rows)
		if run.Error != "" {
			s += ", an error"
		}
		if n := len(run.SideEffects); n > 0 {
			s += fmt.Sprintf(", %d side effects a rollback cannot undo", n)
		}
		return s
	}
	if r.DryRun != nil {
		d["dry_run"] = say(r.DryRun)
	}
	if r.Run != nil {
		d["run"] = r.Run.Outcome + ": " + say(r.Run)
	}
}

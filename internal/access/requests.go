package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
)

// RequestInput is what a user asks for.
type RequestInput struct {
	Database string
	Level    airlock.Level
	Duration time.Duration // 0: the policy's longest
	Reason   string
	Tables   []string
	// Script is a change script to run once approved (the level is then
	// the one it needs); Tolerance the rows each statement of the real run
	// may differ from its dry-run.
	Script    string
	Tolerance int64
}

// Grants is the access-change hook the gateway implements: it re-evaluates
// the live sessions of user when a grant of theirs starts or ends.
type Grants interface {
	AccessChanged(user string)
}

// governing returns the policy that governs a request for level on db by
// u: among the policies that make the level requestable to u, the
// strictest (most approvals, then shortest maximum).
func (s *Service) governing(u *airlock.User, db string, level airlock.Level) *config.Policy {
	var best *config.Policy
	for i := range s.config().Policies {
		p := &s.config().Policies[i]
		if !slices.Contains(p.Databases, db) && !slices.Contains(p.Databases, "*") {
			continue
		}
		member := false
		for _, g := range p.Groups {
			member = member || u.InGroup(g)
		}
		if !member || !slices.Contains(p.Requestable, level) {
			continue
		}
		if best == nil || p.Approvals > best.Approvals || (p.Approvals == best.Approvals && p.MaxDuration < best.MaxDuration) {
			best = p
		}
	}
	return best
}

// CreateRequest files a request for the actor.
func (s *Service) CreateRequest(ctx context.Context, a *Actor, in RequestInput) (*airlock.Request, error) {
	db := s.config().DB(in.Database)
	if db == nil {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "no database %q", in.Database)
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, airlock.Errorf(airlock.EINVALID, "a reason is required: say what you need the access for")
	}
	var dry *airlock.ScriptRun
	if strings.TrimSpace(in.Script) != "" {
		run, err := s.scriptRequest(ctx, a, db, &in)
		if err != nil {
			return nil, err
		}
		dry = run
	}
	if in.Level <= airlock.LevelRead && in.Level != airlock.LevelRead {
		return nil, airlock.Errorf(airlock.EINVALID, "request a level: read, write, ddl or admin")
	}
	if _, ok := db.Credentials[in.Level]; !ok {
		return nil, airlock.Errorf(airlock.EINVALID, "database %q has no %s credential, so %s access cannot be used there", db.Name, in.Level, in.Level)
	}
	if in.Duration < 0 {
		return nil, airlock.Errorf(airlock.EINVALID, "the duration must be positive")
	}
	p := s.governing(a.User, db.Name, in.Level)
	if p == nil {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "no policy lets %s request %s access to %s; ask an admin to add one", a.User.Name, in.Level, db.Name)
	}
	dur := in.Duration
	if dur == 0 || dur > p.MaxDuration.D() {
		dur = p.MaxDuration.D()
	}
	tables, err := qualifyTables(in.Tables)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &airlock.Request{
		ID: airlock.NewID("req_"), User: a.User.Name, Database: db.Name, Level: in.Level, Tables: tables,
		Duration: dur, Reason: strings.TrimSpace(in.Reason), State: airlock.RequestPending,
		Policy: p.Name, ApproverGroups: slices.Clone(p.Approvers), ApprovalsNeeded: p.Approvals,
		Approvals: []airlock.Approval{}, CreatedAt: now, ExpiresAt: now.Add(s.config().Requests.PendingTTL.D()),
	}
	if dry != nil {
		r.Script, r.ScriptSHA256, r.Tolerance, r.DryRun = in.Script, airlock.ScriptHash(in.Script), in.Tolerance, dry
	}
	if err := s.store.CreateRequest(ctx, r); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, requestEvent(r, "created", a.User.Name)); err != nil {
		return nil, err
	}
	s.scheduleRequestExpiry(r)
	return r, nil
}

func qualifyTables(in []string) ([]string, error) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !strings.Contains(t, ".") {
			t = "public." + t
		}
		if strings.Count(t, ".") != 1 {
			return nil, airlock.Errorf(airlock.EINVALID, "table %q: write schema.table", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func requestEvent(r *airlock.Request, action, actor string) *airlock.Event {
	d := map[string]string{
		"level": r.Level.String(), "duration": r.Duration.String(), "reason": r.Reason, "state": r.State,
		"approvals": fmt.Sprintf("%d/%d", len(r.Approvals), r.ApprovalsNeeded),
	}
	if len(r.Tables) > 0 {
		d["tables"] = strings.Join(r.Tables, ",")
	}
	if r.DecisionReason != "" {
		d["decision_reason"] = r.DecisionReason
	}
	ev := &airlock.Event{Type: airlock.EventRequest, Action: action, User: r.User, Actor: actor, Database: r.Database, Ref: r.ID, Detail: d}
	if r.Script != "" {
		// The script ran (its dry-run) when the request was created, and
		// runs again when approved: its text is in the audit both times.
		scriptDetail(r, d)
		ev.Text = r.Script
	}
	return ev
}

func grantEvent(g *airlock.Grant, action, actor string) *airlock.Event {
	d := map[string]string{"level": g.Level.String(), "expires_at": g.ExpiresAt.Format(time.RFC3339), "request": g.RequestID}
	if len(g.Tables) > 0 {
		d["tables"] = strings.Join(g.Tables, ",")
	}
	return &airlock.Event{Type: airlock.EventGrant, Action: action, User: g.User, Actor: actor, Database: g.Database, Ref: g.ID, Detail: d}
}

// CanDecide reports whether the actor may approve or deny r: an approver
// in one of r's approver groups, never the requester.
func CanDecide(a *Actor, r *airlock.Request) error {
	if a.User.Name == r.User {
		return airlock.Errorf(airlock.EFORBIDDEN, "nobody approves or denies their own request")
	}
	if !a.User.HasRole(airlock.RoleApprover) {
		return airlock.Errorf(airlock.EFORBIDDEN, "only approvers decide requests")
	}
	for _, g := range r.ApproverGroups {
		if a.User.InGroup(g) {
			return nil
		}
	}
	return airlock.Errorf(airlock.EFORBIDDEN, "this request is decided by members of %s", strings.Join(r.ApproverGroups, ", "))
}

// pending loads a request that must still be pending.
func (s *Service) pending(ctx context.Context, id string) (*airlock.Request, error) {
	r, err := s.store.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.State == airlock.RequestPending && !s.now().Before(r.ExpiresAt) {
		s.expireRequest(ctx, r.ID)
		r, err = s.store.GetRequest(ctx, id)
		if err != nil {
			return nil, err
		}
	}
	if r.State != airlock.RequestPending {
		return nil, airlock.Errorf(airlock.ECONFLICT, "request %s is %s", r.ID, r.State)
	}
	return r, nil
}

// ApproveRequest records the actor's approval; with enough distinct
// approvals, the request is approved and its grant starts at once.
func (s *Service) ApproveRequest(ctx context.Context, a *Actor, id string) (*airlock.Request, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.pending(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := CanDecide(a, r); err != nil {
			return nil, err
		}
		if r.ApprovedBy(a.User.Name) {
			return nil, airlock.Errorf(airlock.ECONFLICT, "you already approved request %s", r.ID)
		}
		if r.Script != "" && len(r.Approvals) >= r.ApprovalsNeeded {
			return nil, airlock.Errorf(airlock.ECONFLICT, "request %s is approved and its script is running", r.ID)
		}
		now := s.now().UTC()
		r.Approvals = append(r.Approvals, airlock.Approval{User: a.User.Name, At: now})
		var g *airlock.Grant
		if len(r.Approvals) >= r.ApprovalsNeeded && r.Script != "" {
			return s.approveScript(ctx, a, r, now)
		}
		if len(r.Approvals) >= r.ApprovalsNeeded {
			g = &airlock.Grant{ID: airlock.NewID("gr_"), RequestID: r.ID, User: r.User, Database: r.Database, Level: r.Level,
				Tables: r.Tables, CreatedAt: now, ExpiresAt: now.Add(r.Duration)}
			r.State, r.DecidedAt, r.GrantID = airlock.RequestApproved, &now, g.ID
		}
		err = s.store.UpdateRequest(ctx, r)
		if airlock.ErrorCode(err) == airlock.ECONFLICT && attempt < 5 {
			continue // someone else decided meanwhile: look again
		}
		if err != nil {
			return nil, err
		}
		if g == nil {
			return r, s.audit.Record(ctx, requestEvent(r, "approval", a.User.Name))
		}
		if err := s.store.CreateGrant(ctx, g); err != nil {
			return nil, err
		}
		if err := s.audit.Record(ctx, requestEvent(r, "approved", a.User.Name)); err != nil {
			return nil, err
		}
		if err := s.audit.Record(ctx, grantEvent(g, "started", a.User.Name)); err != nil {
			return nil, err
		}
		s.scheduleGrantEnd(g)
		s.accessChanged(r.User)
		return r, nil
	}
}

// DenyRequest ends a pending request with the actor's reason.
func (s *Service) DenyRequest(ctx context.Context, a *Actor, id, reason string) (*airlock.Request, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, airlock.Errorf(airlock.EINVALID, "a reason is required to deny")
	}
	r, err := s.pending(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := CanDecide(a, r); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r.State, r.DecidedAt, r.DecidedBy, r.DecisionReason = airlock.RequestDenied, &now, a.User.Name, strings.TrimSpace(reason)
	if err := s.store.UpdateRequest(ctx, r); err != nil {
		return nil, err
	}
	return r, s.audit.Record(ctx, requestEvent(r, "denied", a.User.Name))
}

// CancelRequest withdraws a pending request: its requester, or an admin.
func (s *Service) CancelRequest(ctx context.Context, a *Actor, id string) (*airlock.Request, error) {
	r, err := s.pending(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.User != a.User.Name && !a.IsAdmin() {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "only the requester or an admin cancels a request")
	}
	now := s.now().UTC()
	r.State, r.DecidedAt, r.DecidedBy = airlock.RequestCancelled, &now, a.User.Name
	if err := s.store.UpdateRequest(ctx, r); err != nil {
		return nil, err
	}
	return r, s.audit.Record(ctx, requestEvent(r, "cancelled", a.User.Name))
}

// GetRequest returns a request the actor may see.
func (s *Service) GetRequest(ctx context.Context, a *Actor, id string) (*airlock.Request, error) {
	r, err := s.store.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.User != a.User.Name && !a.IsAdmin() && !a.User.HasRole(airlock.RoleApprover) {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "you see your own requests only")
	}
	return r, nil
}

// ListRequests lists requests: admins and approvers see all, others their own.
func (s *Service) ListRequests(ctx context.Context, a *Actor, f airlock.RequestFilter) ([]*airlock.Request, error) {
	if !a.IsAdmin() && !a.User.HasRole(airlock.RoleApprover) {
		if f.User != "" && f.User != a.User.Name {
			return nil, airlock.Errorf(airlock.EFORBIDDEN, "you see your own requests only")
		}
		f.User = a.User.Name
	}
	s.expireDue(ctx)
	return s.store.ListRequests(ctx, f)
}

// ListGrants lists grants: admins and approvers see all, others their own.
func (s *Service) ListGrants(ctx context.Context, a *Actor, f airlock.GrantFilter) ([]*airlock.Grant, error) {
	if !a.IsAdmin() && !a.User.HasRole(airlock.RoleApprover) {
		if f.User != "" && f.User != a.User.Name {
			return nil, airlock.Errorf(airlock.EFORBIDDEN, "you see your own grants only")
		}
		f.User = a.User.Name
	}
	return s.store.ListGrants(ctx, f)
}

// RevokeGrant ends a grant now: admins any, users their own.
func (s *Service) RevokeGrant(ctx context.Context, a *Actor, id string) (*airlock.Grant, error) {
	g, err := s.store.GetGrant(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.User != a.User.Name && !a.IsAdmin() {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "only admins revoke other users' grants")
	}
	if !g.Active(s.now()) {
		return nil, airlock.Errorf(airlock.ECONFLICT, "grant %s is already %s", g.ID, g.State(s.now()))
	}
	if err := s.store.RevokeGrant(ctx, id, s.now().UTC(), a.User.Name); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, grantEvent(g, "revoked", a.User.Name)); err != nil {
		return nil, err
	}
	s.accessChanged(g.User)
	return s.store.GetGrant(ctx, id)
}

// ActiveGrants returns user's grants on db active now.
func (s *Service) ActiveGrants(ctx context.Context, user, db string) ([]*airlock.Grant, error) {
	return s.store.ListGrants(ctx, airlock.GrantFilter{User: user, Database: db, ActiveAt: s.now()})
}

func (s *Service) accessChanged(user string) {
	if s.Grants != nil {
		s.Grants.AccessChanged(user)
	}
}

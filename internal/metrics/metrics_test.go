package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"airlock"
)

// TestCommittedCounts: statement events count by kind and decision, denied
// ones by rule too; "started" events (a write's first half) and other
// types do not count as statements; every batch is timed.
func TestCommittedCounts(t *testing.T) {
	m := New(nil)
	m.Committed([]*airlock.Event{
		{Type: airlock.EventStatement, Action: airlock.ActionExecuted, StatementKind: "select"},
		{Type: airlock.EventStatement, Action: airlock.ActionStarted, StatementKind: "update"},
		{Type: airlock.EventStatement, Action: airlock.ActionExecuted, StatementKind: "update"},
		{Type: airlock.EventStatement, Action: airlock.ActionDenied, StatementKind: "delete", Rule: "level"},
		{Type: airlock.EventStatement, Action: airlock.ActionDenied, Rule: "parse"},
		{Type: airlock.EventSession, Action: "opened"},
	}, 3*time.Millisecond)
	for _, c := range []struct {
		kind, decision string
		want           float64
	}{
		{"select", "allowed", 1}, {"update", "allowed", 1}, {"delete", "denied", 1}, {"unknown", "denied", 1}, {"update", "denied", 0},
	} {
		if got := testutil.ToFloat64(m.statements.WithLabelValues(c.kind, c.decision)); got != c.want {
			t.Errorf("statements{%s,%s} = %v, want %v", c.kind, c.decision, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.denials.WithLabelValues("level")); got != 1 {
		t.Errorf("denials{level} = %v", got)
	}
	if got := testutil.ToFloat64(m.denials.WithLabelValues("parse")); got != 1 {
		t.Errorf("denials{parse} = %v", got)
	}
	if got := testutil.ToFloat64(m.auditEvents); got != 6 {
		t.Errorf("audit events = %v", got)
	}
	if n := testutil.CollectAndCount(m.auditCommit); n != 1 {
		t.Errorf("audit commit histogram: %d series", n)
	}
}

// TestNoGlobalRegistry: two Metrics do not share collectors (each server
// has its own registry), so both can register the same names.
func TestNoGlobalRegistry(t *testing.T) {
	a, b := New(nil), New(nil)
	a.LoginFailed("postgres", "bad_credentials")
	if got := testutil.ToFloat64(b.loginFailures.WithLabelValues("postgres", "bad_credentials")); got != 0 {
		t.Fatalf("the second registry saw the first's login failure: %v", got)
	}
	if got := testutil.ToFloat64(a.loginFailures.WithLabelValues("postgres", "bad_credentials")); got != 1 {
		t.Fatalf("login failures = %v", got)
	}
}

// TestDashboardUsesOurMetrics: every airlock_* name in the Grafana
// dashboard is a metric airlock defines, and every metric airlock defines
// is on the dashboard.
func TestDashboardUsesOurMetrics(t *testing.T) {
	b, err := os.ReadFile("../../examples/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	names := New(nil).Names()
	if len(names) < 15 {
		t.Fatalf("Names: %v", names)
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`airlock_[a-z_]+`)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range re.FindAllString(tg.Expr, -1) {
				base := n
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(n, suf); ok && slices.Contains(names, b) {
						base = b
					}
				}
				if !slices.Contains(names, base) {
					t.Errorf("panel %q uses %s, which airlock does not export", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	for _, n := range names {
		if !used[n] {
			t.Errorf("%s is on no dashboard panel", n)
		}
	}
}

// TestCheckedByEngine: each check is observed once, in its own engine's
// decision and added-latency histograms, whether the engine's histograms
// are looked up once (postgres, mysql) or for each check (any other).
func TestCheckedByEngine(t *testing.T) {
	m := New(nil)
	calls := map[string]int{"postgres": 3, "mysql": 2, "other": 1}
	for engine, n := range calls {
		for range n {
			m.Checked(engine, time.Microsecond, time.Millisecond)
		}
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if mf.GetName() != "airlock_decision_seconds" && mf.GetName() != "airlock_added_latency_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			engine := mt.GetLabel()[0].GetValue()
			if got, want := mt.GetHistogram().GetSampleCount(), uint64(calls[engine]); got != want {
				t.Errorf("%s{engine=%q}: %d observations, want %d", mf.GetName(), engine, got, want)
			}
			seen++
		}
	}
	if seen != 2*len(calls) {
		t.Errorf("%d labelled histograms, want %d", seen, 2*len(calls))
	}
}

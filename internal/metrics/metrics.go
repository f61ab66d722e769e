// Package metrics exposes airlock's Prometheus metrics, every name starting
// with airlock_. A Metrics owns its own registry (never the global default
// one): server wiring creates it, hands it to the gateway as its Observer
// and to the audit log as its Committed hook, points it at the live state
// it reports at scrape time (Watch), and serves Handler at /metrics.
//
// Counters that come from the audit stream (statements, denials) count
// events once they are durable, so they agree with `airlock audit list`.
// Gauges (live sessions, active grants, pending requests, the audit queue)
// are read when Prometheus scrapes, so they cost nothing between scrapes.
//
// Labels carry bounded values only: engine, level, statement kind,
// decision, rule names from the code and the config, database names from
// the config, login failure reasons. Never a user, a statement text, a
// token or an address.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/gateway"
)

// Metrics holds airlock's collectors and their registry. It is safe for
// concurrent use; the zero value is not usable, call New.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	sessionsOpened *prometheus.CounterVec
	statements     *prometheus.CounterVec
	denials        *prometheus.CounterVec
	decision       *prometheus.HistogramVec
	added          *prometheus.HistogramVec
	auditEvents    prometheus.Counter
	auditCommit    prometheus.Histogram
	upstreamErrors *prometheus.CounterVec
	loginFailures  *prometheus.CounterVec

	// checkedPG and checkedMy are the histograms Checked observes for
	// each engine, looked up by label once instead of for every statement.
	checkedPG, checkedMy atomic.Pointer[checkedObs]
}

// checkedObs is the decision and added-latency histograms of one engine.
type checkedObs struct{ decision, added prometheus.Observer }

var _ gateway.Observer = (*Metrics)(nil)

// latencyBuckets span 10µs to about 2.6s: a decision takes microseconds, a
// write's durable audit event milliseconds.
var latencyBuckets = prometheus.ExponentialBuckets(0.00001, 4, 10)

// New returns Metrics with every collector registered in a new registry,
// along with the Go runtime and process collectors.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		sessionsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_sessions_opened_total",
			Help: "Database sessions opened, by engine and the level they started at.",
		}, []string{"engine", "level"}),
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_statements_total",
			Help: "Statements audited, by statement kind and decision (allowed: run; denied: nothing forwarded).",
		}, []string{"kind", "decision"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_denials_total",
			Help: "Denied statements, by the rule that denied them.",
		}, []string{"rule"}),
		decision: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "airlock_decision_seconds",
			Help:    "Time to classify and decide one unit of SQL, by engine.",
			Buckets: latencyBuckets,
		}, []string{"engine"}),
		added: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "airlock_added_latency_seconds",
			Help:    "Time from receiving a unit of SQL until it may be forwarded (decision, and for a write its durable audit event), by engine.",
			Buckets: latencyBuckets,
		}, []string{"engine"}),
		auditEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "airlock_audit_events_total",
			Help: "Audit events written durably to the store.",
		}),
		auditCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "airlock_audit_commit_seconds",
			Help:    "Time the store took to write one batch of audit events durably.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_upstream_connect_errors_total",
			Help: "Failed connections to a database, by engine and database.",
		}, []string{"engine", "database"}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "airlock_login_failures_total",
			Help: "Refused logins, by protocol and reason.",
		}, []string{"protocol", "reason"}),
	}
	m.reg.MustRegister(
		m.sessionsOpened, m.statements, m.denials, m.decision, m.added,
		m.auditEvents, m.auditCommit, m.upstreamErrors, m.loginFailures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails (the store cannot be read) is reported in the log
// and leaves its metric out; the others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogErrorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.log.Warn("metrics", "err", v) }

// Checked implements gateway.Observer.
func (m *Metrics) Checked(engine string, decision, admitted time.Duration) {
	var p *atomic.Pointer[checkedObs]
	switch engine {
	case string(airlock.EnginePostgres):
		p = &m.checkedPG
	case string(airlock.EngineMySQL):
		p = &m.checkedMy
	default:
		m.decision.WithLabelValues(engine).Observe(decision.Seconds())
		m.added.WithLabelValues(engine).Observe(admitted.Seconds())
		return
	}
	o := p.Load()
	if o == nil {
		// Racing callers make the same children: WithLabelValues
		// returns the one a label value has.
		o = &checkedObs{m.decision.WithLabelValues(engine), m.added.WithLabelValues(engine)}
		p.Store(o)
	}
	o.decision.Observe(decision.Seconds())
	o.added.Observe(admitted.Seconds())
}

// UpstreamConnectFailed implements gateway.Observer.
func (m *Metrics) UpstreamConnectFailed(engine, database string) {
	m.upstreamErrors.WithLabelValues(engine, database).Inc()
}

// LoginFailed counts airlock_login_failures_total{protocol,reason}: every
// login refused on an entry point ("postgres", "mysql", "api", "web"),
// for one of the fixed reasons the code gives (never a name or a secret).
// The server makes access.Logins feed it (Logins.Observe).
func (m *Metrics) LoginFailed(protocol, reason string) {
	m.loginFailures.WithLabelValues(protocol, reason).Inc()
}

// SessionOpened implements gateway.Observer.
func (m *Metrics) SessionOpened(engine string, level airlock.Level) {
	m.sessionsOpened.WithLabelValues(engine, level.String()).Inc()
}

// Committed is the audit log's Committed hook: it counts the batch's
// statement events and times the store's write.
func (m *Metrics) Committed(batch []*airlock.Event, took time.Duration) {
	m.auditCommit.Observe(took.Seconds())
	m.auditEvents.Add(float64(len(batch)))
	for _, ev := range batch {
		if ev.Type != airlock.EventStatement {
			continue
		}
		switch ev.Action {
		case airlock.ActionExecuted:
			m.statements.WithLabelValues(kindOf(ev), airlock.DecisionAllowed).Inc()
		case airlock.ActionDenied:
			m.statements.WithLabelValues(kindOf(ev), airlock.DecisionDenied).Inc()
			rule := ev.Rule
			if rule == "" {
				rule = "unknown"
			}
			m.denials.WithLabelValues(rule).Inc()
		}
	}
}

func kindOf(ev *airlock.Event) string {
	if ev.StatementKind == "" {
		return "unknown" // denied before it could be classified
	}
	return ev.StatementKind
}

// Sources is the live state read at scrape time.
type Sources struct {
	Gateway *gateway.Gateway
	Store   airlock.Store
	Audit   *audit.Log
	Now     func() time.Time
}

// Watch registers the gauges read from src at each scrape: live sessions
// by engine and level, active grants, pending requests, the audit queue's
// depth and capacity, and whether the audit log takes events.
func (m *Metrics) Watch(src Sources) {
	if src.Now == nil {
		src.Now = time.Now
	}
	m.reg.MustRegister(&stateCollector{src: src})
}

var (
	sessionsDesc = prometheus.NewDesc("airlock_sessions",
		"Live database sessions, by engine and their level now.", []string{"engine", "level"}, nil)
	grantsDesc = prometheus.NewDesc("airlock_grants_active",
		"Grants active now.", nil, nil)
	pendingDesc = prometheus.NewDesc("airlock_requests_pending",
		"Access requests waiting for a decision.", nil, nil)
	queueDesc = prometheus.NewDesc("airlock_audit_queue_depth",
		"Audit events queued for the writer.", nil, nil)
	queueCapDesc = prometheus.NewDesc("airlock_audit_queue_capacity",
		"Audit events the queue holds before sessions wait.", nil, nil)
	auditUpDesc = prometheus.NewDesc("airlock_audit_available",
		"1 while the audit log takes events, 0 while it refuses them (statements are denied).", nil, nil)
)

// stateCollector reads the live state when Prometheus scrapes.
type stateCollector struct{ src Sources }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionsDesc, grantsDesc, pendingDesc, queueDesc, queueCapDesc, auditUpDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	if g := c.src.Gateway; g != nil {
		type key struct{ engine, level string }
		n := map[key]int{}
		for _, s := range g.Sessions() {
			n[key{string(s.Database().Engine), s.Level().String()}]++
		}
		for k, v := range n {
			ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(v), k.engine, k.level)
		}
	}
	if st := c.src.Store; st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if gs, err := st.ListGrants(ctx, airlock.GrantFilter{ActiveAt: c.src.Now()}); err != nil {
			ch <- prometheus.NewInvalidMetric(grantsDesc, err)
		} else {
			ch <- prometheus.MustNewConstMetric(grantsDesc, prometheus.GaugeValue, float64(len(gs)))
		}
		if rs, err := st.ListRequests(ctx, airlock.RequestFilter{State: airlock.RequestPending}); err != nil {
			ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		} else {
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(len(rs)))
		}
	}
	if a := c.src.Audit; a != nil {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(a.QueueLen()))
		ch <- prometheus.MustNewConstMetric(queueCapDesc, prometheus.GaugeValue, float64(a.QueueCap()))
		up := 1.0
		if a.Err() != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(auditUpDesc, prometheus.GaugeValue, up)
	}
}

// Names returns the name of every metric family airlock defines (those of
// Watch included), whether or not it has a sample yet.
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range []prometheus.Collector{m.sessionsOpened, m.statements, m.denials, m.decision, m.added,
			m.auditEvents, m.auditCommit, m.upstreamErrors, m.loginFailures, &stateCollector{}} {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

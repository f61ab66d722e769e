// Package server wires airlock's parts into one running gateway: store,
// audit log, policy, access, the gateway core, the protocol listeners and
// the HTTP API. cmd/airlock's serve command and the end-to-end tests both
// start it through Start, the tests on port 0.
package server

import (
	"airlock"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"airlock/internal/access"
	"airlock/internal/alert"
	"airlock/internal/api"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/listen"
	"airlock/internal/mcp"
	"airlock/internal/metrics"
	"airlock/internal/myadmin"
	"airlock/internal/mysqlwire"
	"airlock/internal/notify"
	"airlock/internal/oidc"
	"airlock/internal/pgadmin"
	"airlock/internal/pgwire"
	"airlock/internal/policy"
	"airlock/internal/sqlclass/engines"
	"airlock/internal/store/postgres"
	"airlock/internal/web"
)

// Options tune a Server beyond its config.
type Options struct {
	Logger *slog.Logger
	// BootstrapToken is AIRLOCK_BOOTSTRAP_TOKEN.
	BootstrapToken string
	// OnBootstrapToken receives a generated bootstrap token (to print it
	// when stderr is a terminal); it is also written to BootstrapFile.
	OnBootstrapToken func(secret, file string)
	Now              func() time.Time
	// WrapStore, when set, replaces the opened store by what it returns
	// (the tests' store that fails writes on demand).
	WrapStore func(Store) Store
}

// Server is a running airlock.
type Server struct {
	// Config and Policy are those the server started with; after a
	// Reload, ConfigNow returns the configuration in force.
	Config *config.Config
	// GatewayID names this process in a shared store.
	GatewayID string
	Store     Store
	Audit     *audit.Log
	Access    *access.Service
	Gateway   *gateway.Gateway
	Policy    *policy.Engine
	Notify    *notify.Notifier
	Alerts    *alert.Engine
	// Metrics is the server's Prometheus registry and collectors.
	Metrics *metrics.Metrics
	file    *notify.FileSink
	stop    chan struct{}

	cur      atomic.Pointer[config.Config] // see ConfigNow
	reloadMu sync.Mutex

	log  *slog.Logger
	pg   *pgwire.Server
	http *http.Server

	PostgresAddr net.Addr // nil when the listener is off
	HTTPAddr     net.Addr

	my        *mysqlwire.Server
	MySQLAddr net.Addr // nil when the listener is off

	// OIDC is the identity provider sign-in (nil without auth.oidc).
	OIDC   *oidc.Service
	httpLn *listen.Listener

	wg       sync.WaitGroup
	stopOnce sync.Once
	// stopCluster ends the lease and notification loops of a shared store.
	stopCluster context.CancelFunc
}

// Start opens the store and starts every configured listener.
func Start(ctx context.Context, cfg *config.Config, o Options) (_ *Server, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		return nil, err
	}
	gatewayID := airlock.NewID("gw_")
	st, err := OpenStore(ctx, cfg, gatewayID)
	if err != nil {
		return nil, err
	}
	if o.WrapStore != nil {
		st = o.WrapStore(st)
	}
	s := &Server{Config: cfg, Store: st, Policy: pol, log: log, GatewayID: gatewayID, Metrics: metrics.New(log.With("component", "metrics"))}
	s.cur.Store(cfg)
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	batch := 0 // the audit log's default
	if cfg.PostgresStore() {
		batch = postgres.MaxBatch
	}
	s.Audit, err = audit.Open(ctx, st, audit.Options{QueueSize: cfg.Audit.QueueSize, MaxBatch: batch, Logger: log, Now: o.Now, MaxTextBytes: cfg.Audit.MaxTextBytes, Committed: s.Metrics.Committed})
	if err != nil {
		return nil, err
	}
	if cfg.Audit.File != "" {
		// Started before anything is recorded, so that the file has
		// every event from now on.
		key, err := cfg.HMACKey()
		if err != nil {
			return nil, err
		}
		if s.file, err = notify.StartFile(cfg.Audit.File, s.Audit, st, key, log); err != nil {
			return nil, err
		}
	}
	instance := instanceID(cfg.Path)
	if err := s.recoverSessions(ctx, instance, o.Now().UTC()); err != nil {
		return nil, err
	}
	s.Access = access.New(st, s.Audit, cfg, log, o.Now)
	s.Access.Logins().Observe(s.Metrics.LoginFailed)
	if err := s.Access.SyncConfigUsers(ctx); err != nil {
		return nil, fmt.Errorf("sync users from config: %w", err)
	}
	secret, err := s.Access.Bootstrap(ctx, o.BootstrapToken)
	if err != nil {
		return nil, fmt.Errorf("bootstrap admin: %w", err)
	}
	if secret != "" {
		file := filepath.Join(stateDir(cfg), "bootstrap-token")
		if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write bootstrap token: %w", err)
		}
		log.Info("generated a bootstrap admin token", "file", file)
		if o.OnBootstrapToken != nil {
			o.OnBootstrapToken(secret, file)
		}
	}
	base := ""
	if cfg.Listen.HTTP != "" {
		base = "http://" + cfg.Listen.HTTP
	}
	s.Notify = notify.Start(notify.Options{Webhooks: cfg.Notifications.Webhooks, Retries: cfg.Notifications.Retries, Audit: s.Audit, Logger: log, BaseURL: base})
	s.Alerts = alert.Start(cfg.Alerts, s.Audit, st, log, o.Now)
	s.stop = make(chan struct{})
	if r := cfg.Audit.Retention.D(); r > 0 {
		s.wg.Add(1)
		go s.retain(r, o.Now)
	}
	// A classifier for every engine, not only those configured now: a
	// reload may add a database of another engine.
	classifiers := map[airlock.Engine]gateway.Classifier{}
	for _, engine := range engines.Names() {
		cl, err := engines.For(engine)
		if err != nil {
			return nil, err
		}
		classifiers[engine] = cl
	}
	s.Gateway = gateway.New(gateway.Options{
		Config: cfg, Store: st, Audit: s.Audit, Policy: pol, Access: s.Access,
		Classifiers: classifiers,
		Admins:      map[airlock.Engine]gateway.DBAdmin{airlock.EnginePostgres: pgadmin.Admin{}, airlock.EngineMySQL: myadmin.Admin{}},
		Logger:      log, Now: o.Now, Observer: s.Metrics,
	})
	s.Gateway.SetInstance(instance)
	// The parser's C heap goes back with the Go heap's when large
	// statements are done.
	s.Gateway.Memory().AlsoFree(engines.TrimCHeap)
	s.Metrics.Watch(metrics.Sources{Gateway: s.Gateway, Store: st, Audit: s.Audit, Now: o.Now})

	if pst, ok := sharedStore(st); ok {
		if err := s.startCluster(ctx, pst, o.Now); err != nil {
			return nil, err
		}
	}
	if hasSoftDrop(cfg) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.Gateway.RunTrashRetention(s.stop, 10*time.Minute)
		}()
	}

	if err := s.checkDatabases(ctx); err != nil {
		return nil, err
	}
	if err := s.Access.Start(ctx); err != nil {
		return nil, fmt.Errorf("schedule grants and requests: %w", err)
	}

	var tlsCfg *tls.Config
	if cfg.TLS != nil {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.warnPermissions()
	shares := s.listenerShares()
	if addr := cfg.Listen.Postgres.Address; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen postgres: %w", err)
		}
		s.PostgresAddr = ln.Addr()
		s.pg = pgwire.NewServer(pgwire.Options{Gateway: s.Gateway, TLS: tlsCfg, Cleartext: cfg.Listen.Postgres.Auth == "cleartext", Logger: log.With("listener", "postgres"),
			AuthTimeout: cfg.Limits.AuthTimeout.D(), RequireTLS: cfg.TLS != nil && cfg.TLS.Require})
		s.pg.SetMaxConns(shares.Database)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.pg.Serve(ln); err != nil {
				log.Error("postgres listener stopped", "err", err)
			}
		}()
		log.Info("listening for PostgreSQL clients", "addr", ln.Addr().String())
	}
	if addr := cfg.Listen.MySQL.Address; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen mysql: %w", err)
		}
		s.MySQLAddr = ln.Addr()
		s.my = mysqlwire.NewServer(mysqlwire.Options{Gateway: s.Gateway, Config: cfg, TLS: tlsCfg, Cleartext: cfg.Listen.MySQL.Auth == "cleartext", Logger: log.With("listener", "mysql"),
			AuthTimeout: cfg.Limits.AuthTimeout.D(), RequireTLS: cfg.TLS != nil && cfg.TLS.Require})
		s.my.SetMaxConns(shares.Database)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.my.Serve(ln); err != nil {
				log.Error("mysql listener stopped", "err", err)
			}
		}()
		log.Info("listening for MySQL clients", "addr", ln.Addr().String())
	}
	metricsTok, err := cfg.MetricsToken()
	if err != nil {
		return nil, err
	}
	if addr := cfg.Listen.HTTP; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen http: %w", err)
		}
		s.HTTPAddr = ln.Addr()
		listeners := map[string]string{}
		if s.PostgresAddr != nil {
			listeners["postgres"] = s.PostgresAddr.String()
		}
		if s.MySQLAddr != nil {
			listeners["mysql"] = s.MySQLAddr.String()
		}
		h := api.New(api.Options{Config: cfg, Store: st, Access: s.Access, Gateway: s.Gateway, Audit: s.Audit, Logger: log, Now: o.Now, Listeners: listeners})
		// Web console (internal/web): the API keeps /api/ and /healthz,
		// the console serves everything else.
		mux := http.NewServeMux()
		mux.Handle("/api/", h)
		mux.Handle("/healthz", s.health(h))
		if cfg.Auth.OIDC != nil {
			s.OIDC = oidc.New(oidc.Options{Config: cfg.Auth.OIDC, Access: s.Access, Logger: log.With("component", "oidc"), Now: o.Now})
			oh := s.OIDC.Handler()
			mux.Handle(oidc.APIPrefix, oh)
			mux.Handle(oidc.APIPrefix+"/", oh)
		}
		mux.Handle("GET /readyz", s.health(http.HandlerFunc(s.readyz)))
		if !cfg.Metrics.Disable {
			mux.Handle("GET /metrics", s.metricsHandler(metricsTok))
		}
		// MCP for AI agents (internal/mcp): streamable HTTP, bearer token.
		base := "http://" + ln.Addr().String()
		if tlsCfg != nil {
			base = "https://" + ln.Addr().String()
		}
		mux.Handle("/mcp", mcp.New(mcp.Options{Config: cfg, Store: st, Access: s.Access, Gateway: s.Gateway, Audit: s.Audit,
			BaseURL: base, Logger: log.With("component", "mcp"), Now: o.Now}).Handler())
		mux.Handle("/", web.New(web.Options{Config: cfg, Store: st, Access: s.Access, Gateway: s.Gateway, API: h, OIDC: s.OIDC, Logger: log.With("component", "web"), Now: o.Now}))
		var hln net.Listener
		s.http, hln = s.newHTTP(mux, ln, shares.HTTP, tlsCfg)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.http.Serve(hln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http listener stopped", "err", err)
			}
		}()
		log.Info("listening for HTTP", "addr", ln.Addr().String(), "tls", cfg.Listen.HTTPTLS)
	}
	return s, nil
}

// checkDatabases checks every database's credentials at start: problems
// are logged loudly; a database with strict: true refuses to start.
func (s *Server) checkDatabases(ctx context.Context) error {
	for _, db := range s.Config.Databases {
		fs, err := s.Gateway.CheckDatabase(ctx, db.Name)
		if airlock.ErrorCode(err) == airlock.EINVALID {
			continue // no checks for this engine
		}
		if err != nil {
			fs = []airlock.Finding{{Severity: "error", Message: err.Error()}}
		}
		bad := false
		for _, f := range fs {
			if f.Severity == "error" {
				bad = true
				s.log.Error("database credential check", "database", db.Name, "level", f.Level, "problem", f.Message)
			} else {
				s.log.Warn("database credential check", "database", db.Name, "level", f.Level, "problem", f.Message)
			}
		}
		if bad && db.Strict {
			return fmt.Errorf("database %s failed its credential check and is strict; see the log", db.Name)
		}
	}
	return nil
}

// retain prunes audit events older than the retention, hourly.
func (s *Server) retain(retention time.Duration, now func() time.Time) {
	defer s.wg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.Audit.Prune(context.Background(), s.Store, now().Add(-retention))
		if err != nil {
			s.log.Error("audit retention", "err", err)
		} else if n > 0 {
			s.log.Info("audit retention: pruned old events", "count", n)
		}
		// Undo data follows the audit events it belongs to.
		if n, err := s.Store.DeleteUndoBefore(context.Background(), now().Add(-retention)); err != nil {
			s.log.Error("undo retention", "err", err)
		} else if n > 0 {
			s.log.Info("undo retention: pruned old undo records", "count", n)
		}
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
	}
}

// Shutdown stops accepting, lets sessions finish within grace, ends the
// rest, flushes the audit log and closes the store.
func (s *Server) Shutdown(ctx context.Context, grace time.Duration) error {
	var err error
	s.stopOnce.Do(func() {
		if s.pg != nil {
			s.pg.StopAccepting()
		}
		if s.my != nil {
			s.my.StopAccepting()
		}
		idle := s.Gateway.Drain()
		t := time.NewTimer(grace)
		select {
		case <-idle:
		case <-t.C:
			s.log.Info("grace period over; ending the remaining sessions")
			s.Gateway.EndAll("airlock is shutting down")
		case <-ctx.Done():
			s.Gateway.EndAll("airlock is shutting down")
		}
		t.Stop()
		if s.pg != nil {
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.pg.Wait(wctx)
			cancel()
		}
		if s.my != nil {
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.my.Wait(wctx)
			cancel()
		}
		if s.http != nil {
			hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.http.Shutdown(hctx)
			cancel()
		}
		err = s.closeAll()
		s.wg.Wait()
	})
	return err
}

func (s *Server) closeAll() error {
	var errs []error
	if s.stop != nil {
		close(s.stop)
	}
	if s.OIDC != nil {
		s.OIDC.Close()
	}
	if s.stopCluster != nil {
		s.stopCluster()
		if pst, ok := sharedStore(s.Store); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			pst.Release(ctx)
			cancel()
		}
	}
	if s.Access != nil {
		s.Access.Stop()
	}
	if s.Alerts != nil {
		s.Alerts.Close()
	}
	if s.Notify != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.Notify.Close(ctx)
		cancel()
	}
	if s.Audit != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, s.Audit.Close(ctx))
		cancel()
	}
	if s.file != nil {
		s.file.Close()
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	return errors.Join(errs...)
}

func hasSoftDrop(cfg *config.Config) bool {
	for _, db := range cfg.Databases {
		if db.SoftDrop != nil {
			return true
		}
	}
	return false
}

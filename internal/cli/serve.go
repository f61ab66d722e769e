package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"airlock/internal/config"
	"airlock/internal/server"

	"github.com/spf13/cobra"
)

func serveCmd(app *App) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the gateway",
		Long: `Run the gateway: the database listeners and the HTTP API.

With AIRLOCK_BOOTSTRAP_TOKEN set (32+ characters), user "admin" gets that
value as a token without expiry. Without it, when no admin token exists, one
is generated and written to bootstrap-token beside the store.

SIGTERM or SIGINT stops accepting connections, lets open sessions finish
within shutdown.grace, ends the rest and flushes the audit log.

SIGHUP reloads the config file without dropping sessions: users, databases,
policies, guardrails, tokens and requests take effect at once and live
sessions are decided again; a file that does not validate, or that changes
listen, tls, store, audit, notifications, alerts, shutdown, log or metrics,
is refused and the running configuration kept (the reason is logged).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			log := newLogger(cfg)
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if addr := app.Getenv("AIRLOCK_PPROF"); addr != "" {
				// Profiling for benchmarks (docs/benchmarks.md); loopback only.
				go func() {
					if err := http.ListenAndServe(addr, pprofMux()); err != nil {
						log.Error("pprof listener", "err", err)
					}
				}()
			}
			// Registered before Start so that an early SIGHUP waits for
			// the server instead of killing the process.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			srv, err := server.Start(ctx, cfg, server.Options{
				Logger:         log,
				BootstrapToken: app.Getenv("AIRLOCK_BOOTSTRAP_TOKEN"),
				OnBootstrapToken: func(secret, file string) {
					if isTerminal(os.Stderr) {
						fmt.Fprintf(app.Stderr, "\nBootstrap admin token (also in %s, shown once):\n\n  %s\n\n", file, secret)
					}
				},
			})
			if err != nil {
				return err
			}
		wait:
			for {
				select {
				case <-ctx.Done():
					break wait
				case <-hup:
					log.Info("SIGHUP: reloading the config", "file", cfg.Path)
					srv.Reload(ctx) // logs and audits its outcome
				}
			}
			stop()
			log.Info("shutting down", "grace", cfg.Shutdown.Grace.D())
			return srv.Shutdown(context.Background(), cfg.Shutdown.Grace.D())
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "airlock.yaml", "config file")
	return cmd
}

func pprofMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) { pprof.Handler("heap").ServeHTTP(w, r) })
	return m
}

func newLogger(cfg *config.Config) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

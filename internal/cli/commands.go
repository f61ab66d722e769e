package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/api"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/server"

	"github.com/spf13/cobra"
)

func loginCmd(app *App) *cobra.Command {
	var device, noBrowser bool
	var port int
	cmd := &cobra.Command{
		Use:   "login --server URL [--token T | --device]",
		Short: "Sign in to a server and save the token for later commands",
		Long: `Sign in to a server and save the server and token for later commands.

With --token (or $AIRLOCK_TOKEN), the token is checked and saved.

Without one, airlock signs you in through the server's identity provider
(auth.oidc): it opens a browser (xdg-open) on the provider's sign-in page
and listens on a loopback port for the redirect back (authorization code
with PKCE); the airlock token the server mints is saved. --no-browser (or
AIRLOCK_NO_BROWSER=1) only prints the URL to open. The redirect is
http://127.0.0.1:PORT/callback on a free port, or --callback-port.

--device is for machines without a browser: airlock prints a URL and a
code to enter on any other device, and waits for the approval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if app.token == "" && app.Getenv("AIRLOCK_TOKEN") == "" {
				if device {
					return app.loginDevice(cmd.Context())
				}
				return app.loginBrowser(cmd.Context(), !noBrowser && app.Getenv("AIRLOCK_NO_BROWSER") == "", port)
			}
			c, err := app.client()
			if err != nil {
				return err
			}
			var who api.WhoamiJSON
			if err := c.Do("GET", "/api/v1/whoami", nil, nil, &who); err != nil {
				return err
			}
			return app.saveLogin(c.Base, c.Token, who.Name)
		},
	}
	cmd.Flags().BoolVar(&device, "device", false, "sign in with a code on another device (device authorization)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	cmd.Flags().IntVar(&port, "callback-port", 0, "loopback port for the provider's redirect (default: any free port; for providers that need an exact redirect URI)")
	return cmd
}

func whoamiCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the user of the token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var who api.WhoamiJSON
			if err := c.Do("GET", "/api/v1/whoami", nil, nil, &who); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(who)
			}
			fmt.Fprintf(app.Stdout, "%s (groups: %s; roles: %s; token %s expires %s)\n", who.Name,
				listOrNone(who.Groups), listOrNone(who.Roles), who.TokenID, fmtTime(who.TokenExpiresAt))
			return nil
		},
	}
}

// listOrNone joins a list for people to read; an empty one is "none".
func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func usersCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users"}
	var groups, roles []string
	var agent bool
	add := &cobra.Command{
		Use:   "add NAME [--group G]... [--role approver|admin] [--agent]",
		Short: "Add a user (users declared in the config are managed there)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var u api.UserJSON
			if err := c.Do("POST", "/api/v1/users", nil, api.CreateUserRequest{Name: args[0], Groups: groups, Roles: roles, Agent: agent}, &u); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(u)
			}
			fmt.Fprintln(app.Stdout, u.Name)
			return nil
		},
	}
	add.Flags().StringArrayVar(&groups, "group", nil, "group (repeat for several)")
	add.Flags().StringArrayVar(&roles, "role", nil, "role: approver or admin (repeat for both)")
	add.Flags().BoolVar(&agent, "agent", false, "the user is an AI agent or program (it reaches databases through airlock mcp, read-only unless granted)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var us []api.UserJSON
			if err := c.Do("GET", "/api/v1/users", nil, nil, &us); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(us)
			}
			var rows [][]string
			for _, u := range us {
				src := "api"
				if u.FromConfig {
					src = "config"
				}
				rows = append(rows, []string{u.Name, u.Kind, strings.Join(u.Groups, ","), strings.Join(u.Roles, ","), src})
			}
			app.table([]string{"NAME", "KIND", "GROUPS", "ROLES", "SOURCE"}, rows)
			return nil
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}

func tokensCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Issue, list and revoke tokens"}
	var user, ttl, note, cfgPath string
	issue := &cobra.Command{
		Use:   "issue --user NAME [--ttl 30m]",
		Short: "Issue a token; prints the secret alone (shown once)",
		Long: `Issue a token and print its secret alone on stdout (with --json:
{"id","token","user","expires_at"}).

With --config FILE, the token is issued directly in the store of that config,
without a server: the break-glass path when no admin token is at hand.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if ttl != "" {
				var err error
				if d, err = time.ParseDuration(ttl); err != nil {
					return fmt.Errorf("--ttl: want a duration such as 30m or 4h")
				}
			}
			var out api.IssuedTokenJSON
			if cfgPath != "" {
				if user == "" {
					return fmt.Errorf("--user is required with --config")
				}
				secret, t, err := breakGlassIssue(cfgPath, user, d)
				if err != nil {
					return err
				}
				out = api.IssuedTokenJSON{ID: t.ID, Token: secret, User: t.User, ExpiresAt: t.ExpiresAt}
			} else {
				c, err := app.client()
				if err != nil {
					return err
				}
				if err := c.Do("POST", "/api/v1/tokens", nil, api.IssueTokenRequest{User: user, TTL: ttl, Note: note}, &out); err != nil {
					return err
				}
			}
			if app.json {
				return app.printJSON(out)
			}
			fmt.Fprintln(app.Stdout, out.Token)
			return nil
		},
	}
	issue.Flags().StringVar(&user, "user", "", "user the token is for (default: yourself)")
	issue.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 30m (default tokens.default_ttl, at most tokens.max_ttl)")
	issue.Flags().StringVar(&note, "note", "", "note kept with the token")
	issue.Flags().StringVar(&cfgPath, "config", "", "issue directly in this config's store, without a server (break-glass)")
	var listUser string
	list := &cobra.Command{
		Use:   "list [--user NAME]",
		Short: "List tokens (admins: everyone's; others: their own)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if listUser != "" {
				q.Set("user", listUser)
			}
			var ts []api.TokenJSON
			if err := c.Do("GET", "/api/v1/tokens", q, nil, &ts); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(ts)
			}
			var rows [][]string
			for _, t := range ts {
				rows = append(rows, []string{t.ID, t.User, t.State, fmtTime(&t.CreatedAt), fmtTime(t.ExpiresAt), t.Note})
			}
			app.table([]string{"ID", "USER", "STATE", "CREATED", "EXPIRES", "NOTE"}, rows)
			return nil
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "only this user's tokens")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token; sessions opened with it end at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var t api.TokenJSON
			if err := c.Do("POST", "/api/v1/tokens/"+url.PathEscape(args[0])+"/revoke", nil, nil, &t); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(t)
			}
			fmt.Fprintf(app.Stdout, "%s revoked\n", t.ID)
			return nil
		},
	}
	cmd.AddCommand(issue, list, revoke)
	return cmd
}

// breakGlassIssue issues a token directly in the store of a config.
func breakGlassIssue(cfgPath, user string, ttl time.Duration) (string, *airlock.Token, error) {
	cfg, err := config.LoadWithoutSecrets(cfgPath)
	if err != nil {
		return "", nil, err
	}
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg, "")
	if err != nil {
		return "", nil, err
	}
	defer st.Close()
	// A store that cannot record the token's event (a running gateway
	// holds its audit segment log) must not get the token either.
	if err := st.CheckWritable(ctx); err != nil {
		return "", nil, fmt.Errorf("%w (break-glass issues tokens only while no gateway runs on this store: stop it, or issue through it with `airlock tokens issue --server`)", err)
	}
	log, err := audit.Open(ctx, st, audit.Options{})
	if err != nil {
		return "", nil, err
	}
	defer log.Close(ctx)
	svc := access.New(st, log, cfg, nil, nil)
	return svc.IssueTokenDirect(ctx, user, ttl, "break-glass")
}

func auditCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Search, verify and export the audit log"}
	var f eventFilterFlags
	var limit int
	var beforeID int64
	list := &cobra.Command{
		Use:   "list [--user U] [--database D] [--decision allowed|denied] [--since DUR] [--limit N]",
		Short: "List audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			q := f.query()
			q.Set("limit", strconv.Itoa(limit))
			if beforeID > 0 {
				q.Set("before_id", strconv.FormatInt(beforeID, 10))
			}
			var evs []api.EventJSON
			if err := c.Do("GET", "/api/v1/audit", q, nil, &evs); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(evs)
			}
			var rows [][]string
			for i := range evs {
				rows = append(rows, eventRow(&evs[i]))
			}
			app.table([]string{"ID", "TIME", "EVENT", "USER", "DATABASE", "DECISION", "WHAT"}, rows)
			if len(evs) == limit {
				fmt.Fprintf(app.Stderr, "(more: --before-id %d)\n", evs[len(evs)-1].ID)
			}
			return nil
		},
	}
	f.register(list)
	list.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	list.Flags().Int64Var(&beforeID, "before-id", 0, "only events older than this id (next page)")

	var verifyConfig, checkpoints string
	verify := &cobra.Command{
		Use:   "verify [--config FILE]",
		Short: "Check the hash chain; exit 1 naming the first altered event",
		Long: `Walk the audit chain and recompute every hash. Exits 1 and names the
first event that was edited, deleted, inserted or reordered.

With --config FILE, the store of that config is read directly (no server).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rep audit.Report
			if verifyConfig != "" {
				cfg, err := config.LoadWithoutSecrets(verifyConfig)
				if err != nil {
					return err
				}
				st, err := server.OpenStore(context.Background(), cfg, "")
				if err != nil {
					return err
				}
				defer st.Close()
				r, err := audit.Verify(context.Background(), st)
				if err != nil {
					return err
				}
				rep = *r
				if checkpoints == "" {
					checkpoints = cfg.Audit.File
				}
				if checkpoints != "" && rep.Problem == nil {
					p, err := checkCheckpoints(st, checkpoints, cfg)
					if err != nil {
						return err
					}
					rep.Problem = p
				}
			} else {
				c, err := app.client()
				if err != nil {
					return err
				}
				if err := c.Do("GET", "/api/v1/audit/verify", nil, nil, &rep); err != nil {
					return err
				}
			}
			if app.json {
				app.printJSON(rep)
			} else if rep.Problem == nil {
				fmt.Fprintf(app.Stdout, "ok: %d events verified (ids %d to %d), head %s\n", rep.Events, rep.FirstID, rep.LastID, rep.Head)
			}
			if rep.Problem != nil {
				return fmt.Errorf("audit chain broken at event %d: %s", rep.Problem.ID, rep.Problem.Reason)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&verifyConfig, "config", "", "verify this config's store directly")
	verify.Flags().StringVar(&checkpoints, "checkpoints", "", "with --config: an audit file whose last checkpoint the store must match (default: audit.file)")
	cmd.AddCommand(list, verify, auditTailCmd(app), auditExportCmd(app))
	return cmd
}

func sessionsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "sessions", Short: "List and kill sessions"}
	var active bool
	list := &cobra.Command{
		Use:   "list [--active]",
		Short: "List sessions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if active {
				q.Set("active", "true")
			}
			var ss []api.SessionJSON
			if err := c.Do("GET", "/api/v1/sessions", q, nil, &ss); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(ss)
			}
			var rows [][]string
			for _, s := range ss {
				rows = append(rows, []string{s.ID, s.User, s.Database, s.Level, s.State, s.ClientAddr, fmtTime(&s.StartedAt), s.EndReason})
			}
			app.table([]string{"ID", "USER", "DATABASE", "LEVEL", "STATE", "CLIENT", "STARTED", "END"}, rows)
			return nil
		},
	}
	list.Flags().BoolVar(&active, "active", false, "only sessions still open")
	kill := &cobra.Command{
		Use:   "kill ID",
		Short: "End a session now (its open transaction is rolled back)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var out map[string]string
			if err := c.Do("POST", "/api/v1/sessions/"+url.PathEscape(args[0])+"/kill", nil, nil, &out); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(out)
			}
			fmt.Fprintf(app.Stdout, "%s killed\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, kill)
	return cmd
}

func databasesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "databases", Short: "List, check and prepare the configured databases"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List databases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var dbs []api.DatabaseJSON
			if err := c.Do("GET", "/api/v1/databases", nil, nil, &dbs); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(dbs)
			}
			var rows [][]string
			for _, d := range dbs {
				rows = append(rows, []string{d.Name, d.Engine, d.Address, d.Database, strings.Join(d.Levels, ","), strings.Join(d.ProtectedTables, ",")})
			}
			app.table([]string{"NAME", "ENGINE", "ADDRESS", "UPSTREAM", "LEVELS", "PROTECTED"}, rows)
			return nil
		},
	}
	cmd.AddCommand(list)
	cmd.AddCommand(databasesAdminCmds(app)...)
	return cmd
}

// checkCheckpoints compares the store with the last checkpoint of an
// audit file.
func checkCheckpoints(st airlock.EventStore, path string, cfg *config.Config) (*audit.Problem, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cp, err := audit.LastCheckpoint(f)
	if err != nil || cp == nil {
		return nil, err
	}
	key, err := cfg.HMACKey()
	if err != nil {
		return nil, err
	}
	return audit.CheckCheckpoint(context.Background(), st, cp, key)
}

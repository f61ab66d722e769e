package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"airlock"
	"airlock/internal/api"

	"github.com/spf13/cobra"
)

func connectCmd(app *App) *cobra.Command {
	var level, duration, reason, ttl string
	var printURL bool
	cmd := &cobra.Command{
		Use:   "connect DB [--level L] [--print] [-- CLIENT ARGS...]",
		Short: "Start psql or mysql on a database with a fresh short-lived token",
		Long: `Start the database's client (psql for PostgreSQL; mariadb or mysql for
MySQL/MariaDB) connected through airlock, with a fresh token issued for
this connection (--ttl, default 1h; the session ends when it expires).
The token is passed in the environment (PGPASSWORD or MYSQL_PWD), never on
the command line, and revoked when the client exits. Arguments after --
go to the client.

--level write (or ddl, admin) first asks for that level (--duration,
--reason), waits for the approval with progress on stderr, then connects.

--print prints a connection URL with the token on stdout instead of
starting a client.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n > 1 || (n < 0 && len(args) > 1) {
				return fmt.Errorf("connect takes one database; put client arguments after --")
			}
			var clientArgs []string
			if n := cmd.ArgsLenAtDash(); n >= 0 {
				clientArgs = args[n:]
			}
			c, err := app.client()
			if err != nil {
				return err
			}
			db, addr, err := app.connectTarget(c, args[0])
			if err != nil {
				return err
			}
			var who api.WhoamiJSON
			if err := c.Do("GET", "/api/v1/whoami", nil, nil, &who); err != nil {
				return err
			}
			if level != "" && level != "read" {
				if err := app.requestAndWait(c, db.Name, level, duration, reason); err != nil {
					return err
				}
			}
			var tok api.IssuedTokenJSON
			if err := c.Do("POST", "/api/v1/tokens", nil, api.IssueTokenRequest{TTL: ttl, Note: "airlock connect " + db.Name}, &tok); err != nil {
				return err
			}
			host, port, _ := net.SplitHostPort(addr)
			if printURL {
				fmt.Fprintln(app.Stdout, connectURL(airlock.Engine(db.Engine), who.Name, tok.Token, host, port, db.Name))
				return nil
			}
			defer func() {
				// The token was for this connection only.
				if err := c.Do("POST", "/api/v1/tokens/"+url.PathEscape(tok.ID)+"/revoke", nil, nil, nil); err != nil {
					fmt.Fprintf(app.Stderr, "airlock: could not revoke the connection's token %s: %v\n", tok.ID, err)
				}
			}()
			return app.runClient(airlock.Engine(db.Engine), who.Name, tok.Token, host, port, db.Name, clientArgs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&level, "level", "", "ask for this level first (write, ddl, admin) and wait for the approval")
	f.StringVar(&duration, "duration", "", "with --level: how long (default and cap: the policy's max_duration)")
	f.StringVar(&reason, "reason", "", "with --level: why you need it (required)")
	f.StringVar(&ttl, "ttl", "1h", "lifetime of the connection's token (the session ends with it)")
	f.BoolVar(&printURL, "print", false, "print a connection URL (with the token) instead of starting a client")
	return cmd
}

// connectTarget finds db in the server's list and the airlock address its
// clients connect to. A listener on an unspecified address (0.0.0.0, ::)
// is reached at the server URL's host.
func (app *App) connectTarget(c *Client, name string) (*api.DatabaseJSON, string, error) {
	var dbs []api.DatabaseJSON
	if err := c.Do("GET", "/api/v1/databases", nil, nil, &dbs); err != nil {
		return nil, "", err
	}
	for i := range dbs {
		db := &dbs[i]
		if db.Name != name {
			continue
		}
		if db.Listen == "" {
			return nil, "", fmt.Errorf("the server does not listen for %s clients, so database %s cannot be reached through it", db.Engine, name)
		}
		host, port, err := net.SplitHostPort(db.Listen)
		if err != nil {
			return nil, "", fmt.Errorf("the server gave %q as its %s address: %w", db.Listen, db.Engine, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			u, err := url.Parse(c.Base)
			if err != nil {
				return nil, "", fmt.Errorf("server URL: %w", err)
			}
			host = u.Hostname()
		}
		return db, net.JoinHostPort(host, port), nil
	}
	return nil, "", fmt.Errorf("no database %q on this server (airlock databases list shows them)", name)
}

// requestAndWait asks for level on db and waits for the decision, showing
// progress on stderr.
func (app *App) requestAndWait(c *Client, db, level, duration, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("--level %s needs --reason: approvers see why you ask", level)
	}
	var r api.RequestJSON
	if err := c.Do("POST", "/api/v1/requests", nil, api.CreateRequestBody{Database: db, Level: level, Duration: duration, Reason: reason}, &r); err != nil {
		return err
	}
	started := time.Now()
	fmt.Fprintf(app.Stderr, "asked for %s on %s (request %s); waiting for %d approval(s) from %s\n", level, db, r.ID, r.ApprovalsNeeded, strings.Join(r.ApproverGroups, ", "))
	shown := 0
	for r.State == airlock.RequestPending {
		time.Sleep(time.Second)
		if err := c.Do("GET", "/api/v1/requests/"+url.PathEscape(r.ID), nil, nil, &r); err != nil {
			return err
		}
		if len(r.Approvals) != shown {
			shown = len(r.Approvals)
			fmt.Fprintf(app.Stderr, "  %d of %d approval(s)\n", shown, r.ApprovalsNeeded)
		}
		if s := int(time.Since(started).Seconds()); r.State == airlock.RequestPending && s%15 == 0 {
			fmt.Fprintf(app.Stderr, "  still waiting (%ds); approvers run: airlock requests approve %s\n", s, r.ID)
		}
	}
	if r.State != airlock.RequestApproved {
		msg := fmt.Sprintf("request %s was %s", r.ID, r.State)
		if r.DecisionReason != "" {
			msg += ": " + r.DecisionReason
		}
		return errors.New(msg)
	}
	fmt.Fprintf(app.Stderr, "approved: %s on %s; connecting\n", level, db)
	return nil
}

// connectURL is a connection URL for the engine's clients.
func connectURL(engine airlock.Engine, user, token, host, port, db string) string {
	u := url.URL{Host: net.JoinHostPort(host, port), User: url.UserPassword(user, token), Path: "/" + db}
	if engine == airlock.EngineMySQL {
		u.Scheme = "mysql"
	} else {
		u.Scheme = "postgres"
	}
	return u.String()
}

// runClient starts the engine's client with the token in its environment
// and returns its exit status.
func (app *App) runClient(engine airlock.Engine, user, token, host, port, db string, extra []string) error {
	var name string
	var args, env []string
	switch engine {
	case airlock.EnginePostgres:
		name = "psql"
		args = []string{"-h", host, "-p", port, "-U", user, "-d", db}
		env = []string{"PGPASSWORD=" + token}
	case airlock.EngineMySQL:
		for _, n := range []string{"mariadb", "mysql"} {
			if _, err := exec.LookPath(n); err == nil {
				name = n
				break
			}
		}
		if name == "" {
			return fmt.Errorf("neither mariadb nor mysql is installed; use airlock connect --print")
		}
		args = []string{"--protocol=TCP", "-h", host, "-P", port, "-u", user, db}
		env = []string{"MYSQL_PWD=" + token}
	default:
		return fmt.Errorf("no client known for engine %q; use airlock connect --print", engine)
	}
	cmd := exec.Command(name, append(args, extra...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = app.Stdin, app.Stdout, app.Stderr
	// Ctrl-C belongs to the client (psql cancels the running query):
	// airlock catches it and waits; the client gets the default
	// disposition and its own handler.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitCode(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}

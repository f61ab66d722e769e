// Package cli is airlock's command line: cobra commands in noun-verb form.
// Client commands talk to a running server's JSON API with --server and
// --token (or AIRLOCK_SERVER, AIRLOCK_TOKEN, or what `airlock login` saved);
// results go to stdout (--json for scripts), everything else to stderr, and
// failures exit non-zero.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// App holds what every command shares.
type App struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Stdin is what `airlock connect` gives the database client.
	Stdin io.Reader

	server string
	token  string
	json   bool
}

// Root returns the root command.
func Root(app *App) *cobra.Command {
	if app.Stdout == nil {
		app.Stdout = os.Stdout
	}
	if app.Stderr == nil {
		app.Stderr = os.Stderr
	}
	if app.Getenv == nil {
		app.Getenv = os.Getenv
	}
	if app.Stdin == nil {
		app.Stdin = os.Stdin
	}
	root := &cobra.Command{
		Use:           "airlock",
		Short:         "Temporary production database access that cannot lose data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&app.server, "server", "", "the server's URL (default $AIRLOCK_SERVER, or what airlock login saved)")
	pf.StringVar(&app.token, "token", "", "API token (default $AIRLOCK_TOKEN, or what airlock login saved)")
	pf.BoolVar(&app.json, "json", false, "print JSON for scripts")
	root.AddCommand(
		serveCmd(app),
		loginCmd(app), whoamiCmd(app),
		usersCmd(app), tokensCmd(app), requestsCmd(app), grantsCmd(app), auditCmd(app), sessionsCmd(app), databasesCmd(app),
		policyCmd(app), undoCmd(app), connectCmd(app), mcpCmd(app), trashCmd(app),
		versionCmd(app), configCmd(app),
	)
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			serverOnly(c)
		}
		groupsRefuseUnknown(c)
	}
	return root
}

// groupsRefuseUnknown makes every command that only groups others (users,
// tokens...) fail on a subcommand it does not have, naming it, instead of
// printing its help and succeeding.
func groupsRefuseUnknown(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
		}
	}
	for _, c := range cmd.Commands() {
		groupsRefuseUnknown(c)
	}
}

// clientFlags are the root's flags that only client commands read.
var clientFlags = []string{"server", "token", "json"}

// serverOnly keeps the client commands' flags out of cmd's help and usage:
// a server-side command does not read them.
func serverOnly(cmd *cobra.Command) {
	hide := func(c *cobra.Command) {
		for _, n := range clientFlags {
			if f := c.InheritedFlags().Lookup(n); f != nil {
				f.Hidden = true
			}
		}
	}
	help, usage := cmd.HelpFunc(), cmd.UsageFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) { hide(c); help(c, args) })
	cmd.SetUsageFunc(func(c *cobra.Command) error { hide(c); return usage(c) })
}

// Execute runs the command line and returns the exit code.
func Execute(app *App, args []string) int {
	root := Root(app)
	root.SetArgs(args)
	if cmd, err := root.ExecuteC(); err != nil {
		var ec exitCode
		if asExit(err, &ec) {
			return int(ec)
		}
		fmt.Fprintln(app.Stderr, "airlock:", err)
		if usageError(err) {
			fmt.Fprint(app.Stderr, "\n"+cmd.UsageString())
		}
		return 1
	}
	return 0
}

// usageError reports whether err says the command line was not what the
// command takes (cobra's argument and flag errors), so that its usage helps.
func usageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"accepts ", "requires at least", "requires at most", "received ", "unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func asExit(err error, ec *exitCode) bool {
	e, ok := err.(exitCode)
	if ok {
		*ec = e
	}
	return ok
}

// savedLogin is what `airlock login` stores.
type savedLogin struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

func loginFile(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "airlock", "login.json")
}

func (app *App) saved() savedLogin {
	var s savedLogin
	b, err := os.ReadFile(loginFile(app.Getenv))
	if err == nil {
		json.Unmarshal(b, &s)
	}
	return s
}

// client returns an API client from flags, environment or saved login.
func (app *App) client() (*Client, error) {
	saved := app.saved()
	server := firstNonEmpty(app.server, app.Getenv("AIRLOCK_SERVER"), saved.Server)
	token := firstNonEmpty(app.token, app.Getenv("AIRLOCK_TOKEN"), saved.Token)
	if server == "" {
		return nil, fmt.Errorf("no server: pass --server URL, set AIRLOCK_SERVER, or run `airlock login`")
	}
	if token == "" {
		return nil, fmt.Errorf("no token: pass --token, set AIRLOCK_TOKEN, or run `airlock login`")
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	return &Client{Base: strings.TrimRight(server, "/"), Token: token}, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// printJSON writes v as indented JSON.
func (app *App) printJSON(v any) error {
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under a header, tab-aligned.
func (app *App) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

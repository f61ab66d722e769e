package cli

import (
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/policy"
	"airlock/internal/sqlclass/engines"

	"github.com/spf13/cobra"
)

func policyCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Try policies and guardrails"}
	var cfgPath, dbName, userName, levelName, sql string
	var groups []string
	test := &cobra.Command{
		Use:   "test --config F --database D --user U --level L --sql TEXT",
		Short: "Show the facts of a statement and the decision airlock would make, without a database",
		Long: `Classify SQL as the gateway does, in the dialect of the database's
engine (PostgreSQL or MySQL/MariaDB), and decide it for a user at a level,
with the config's policies, built-in rules and CEL guardrails, without
connecting to any database. The user's groups come from the config (or
--group). The real number of rows a write changes is only known when it
runs: a write that would run guarded says so, with its limit.

Exits 0 when the statement would be allowed, 3 when denied.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadWithoutSecrets(cfgPath)
			if err != nil {
				return err
			}
			pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
			if err != nil {
				return err
			}
			db := cfg.DB(dbName)
			if db == nil {
				return fmt.Errorf("no database %q in %s", dbName, cfgPath)
			}
			cl, err := engines.For(db.Engine)
			if err != nil {
				return fmt.Errorf("database %q: %w", dbName, err)
			}
			level, err := airlock.ParseLevel(levelName)
			if err != nil {
				return err
			}
			u := &airlock.User{Name: userName, Groups: groups}
			for _, cu := range cfg.Users {
				if cu.Name == userName && len(groups) == 0 {
					u.Groups, u.Roles = cu.Groups, cu.Roles
				}
			}
			p := gateway.PreviewDecision(cfg, pol, cl, u, db, level, sql, time.Now())
			if app.json {
				app.printJSON(p)
			} else {
				for i, st := range p.Statements {
					fmt.Fprintf(app.Stdout, "statement %d: %s\n", i+1, st.Text)
					fmt.Fprintf(app.Stdout, "  kind %s, needs %s", st.Kind, st.Level)
					if st.Why != "" {
						fmt.Fprintf(app.Stdout, " (%s)", st.Why)
					}
					fmt.Fprintln(app.Stdout)
					if len(st.Tables) > 0 {
						fmt.Fprintf(app.Stdout, "  tables %s; writes %s\n", strings.Join(st.Tables, ", "), strings.Join(st.WriteTables, ", "))
					}
					if len(st.Functions) > 0 {
						fmt.Fprintf(app.Stdout, "  functions %s\n", strings.Join(st.Functions, ", "))
					}
					if st.Kind == airlock.KindUpdate || st.Kind == airlock.KindDelete || st.Kind == airlock.KindSelect {
						fmt.Fprintf(app.Stdout, "  has_where %v, has_limit %v\n", st.HasWhere, st.HasLimit)
					}
					if st.Escape != "" {
						fmt.Fprintf(app.Stdout, "  escape %s\n", st.Escape)
					}
				}
				if p.ParseError != "" {
					fmt.Fprintf(app.Stdout, "parse error: %s\n", p.ParseError)
				}
				if p.Decision.Allowed {
					fmt.Fprintf(app.Stdout, "decision: allowed at %s", level)
					switch {
					case p.Guarded && p.Unbounded > 0:
						fmt.Fprintf(app.Stdout, " (runs guarded: denied at run time if it changes more than %d rows, or more than %d without WHERE)", p.Limit, p.Unbounded)
					case p.Guarded:
						fmt.Fprintf(app.Stdout, " (runs guarded: denied at run time if it changes more than %d rows)", p.Limit)
					}
					fmt.Fprintln(app.Stdout)
					for _, w := range p.Decision.Warnings {
						fmt.Fprintf(app.Stdout, "warning: %s: %s\n", w.Rule, w.Message)
					}
				} else {
					fmt.Fprintf(app.Stdout, "decision: denied\nrule: %s\n%s\n", p.Decision.Rule, p.Decision.Message())
				}
			}
			if !p.Decision.Allowed {
				return exitCode(3)
			}
			return nil
		},
	}
	f := test.Flags()
	f.StringVar(&cfgPath, "config", "airlock.yaml", "config file")
	f.StringVar(&dbName, "database", "", "database name from the config")
	f.StringVar(&userName, "user", "", "user name")
	f.StringArrayVar(&groups, "group", nil, "the user's groups (default: from the config)")
	f.StringVar(&levelName, "level", "read", "the session's level")
	f.StringVar(&sql, "sql", "", "the SQL text")
	test.MarkFlagRequired("database")
	test.MarkFlagRequired("sql")
	cmd.AddCommand(test)
	return cmd
}

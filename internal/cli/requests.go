package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"airlock"
	"airlock/internal/api"

	"github.com/spf13/cobra"
)

func requestsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "requests", Short: "Ask for, approve and deny temporary access"}
	var level, duration, reason, tables, sqlFile string
	var tolerance int64
	var wait bool
	create := &cobra.Command{
		Use:   "create DB --level write --duration 30m --reason TEXT [--tables t1,t2] [--wait] | create DB --sql-file F --reason TEXT",
		Short: "Ask for a level on a database; prints the request id",
		Long: `Ask for a level on a database for a while, with a reason. Prints the
request id alone and returns at once; with --wait, waits for the decision
(exit 0 when approved, 1 otherwise); with --json, prints the request.

The duration is capped by the policy's max_duration. --tables limits a
write grant to those tables (schema-qualified, or public by default).

With --sql-file, the request is for a change script instead of access:
airlock runs it at once in a transaction it rolls back (a dry-run, shown
to approvers by requests show), and on approval runs exactly that script
once, committing only when each statement changes as many rows as in the
dry-run (give or take --tolerance); otherwise the request goes back to
review.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			body := api.CreateRequestBody{Database: args[0], Level: level, Duration: duration, Reason: reason}
			if sqlFile != "" {
				b, err := readScript(app, sqlFile)
				if err != nil {
					return err
				}
				body.SQL, body.Tolerance = b, tolerance
				if !cmd.Flags().Changed("level") {
					body.Level = ""
				}
			}
			if tables != "" {
				body.Tables = strings.Split(tables, ",")
			}
			var r api.RequestJSON
			if err := c.Do("POST", "/api/v1/requests", nil, body, &r); err != nil {
				return err
			}
			if wait {
				fmt.Fprintf(app.Stderr, "request %s is waiting for %d approval(s) from %s...\n", r.ID, r.ApprovalsNeeded, strings.Join(r.ApproverGroups, ", "))
				for r.State == airlock.RequestPending {
					time.Sleep(time.Second)
					if err := c.Do("GET", "/api/v1/requests/"+url.PathEscape(r.ID), nil, nil, &r); err != nil {
						return err
					}
				}
			}
			if app.json {
				app.printJSON(r)
			} else {
				fmt.Fprintln(app.Stdout, r.ID)
			}
			if wait && r.State != airlock.RequestApproved {
				msg := fmt.Sprintf("request %s was %s", r.ID, r.State)
				if r.DecisionReason != "" {
					msg += ": " + r.DecisionReason
				}
				return fmt.Errorf("%s", msg)
			}
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&level, "level", "write", "level: write, ddl or admin")
	f.StringVar(&duration, "duration", "", "how long, e.g. 30m (default and cap: the policy's max_duration)")
	f.StringVar(&reason, "reason", "", "why you need it (required)")
	f.StringVar(&tables, "tables", "", "only these tables, comma-separated")
	f.BoolVar(&wait, "wait", false, "wait for the decision")
	f.StringVar(&sqlFile, "sql-file", "", "a change script to dry-run now and run once approved (- reads stdin)")
	f.Int64Var(&tolerance, "tolerance", 0, "with --sql-file: rows each statement may change beyond or below its dry-run")

	var pending bool
	list := &cobra.Command{
		Use:   "list [--pending]",
		Short: "List requests (yours; approvers and admins: everyone's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if pending {
				q.Set("pending", "true")
			}
			var rs []api.RequestJSON
			if err := c.Do("GET", "/api/v1/requests", q, nil, &rs); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(rs)
			}
			var rows [][]string
			for _, r := range rs {
				rows = append(rows, []string{r.ID, r.User, r.Database, r.Level, r.Duration, r.State,
					fmt.Sprintf("%d/%d", len(r.Approvals), r.ApprovalsNeeded), fmtTime(&r.CreatedAt), r.Reason})
			}
			app.table([]string{"ID", "USER", "DATABASE", "LEVEL", "DURATION", "STATE", "APPROVALS", "CREATED", "REASON"}, rows)
			return nil
		},
	}
	list.Flags().BoolVar(&pending, "pending", false, "only pending requests")

	decide := func(use, short, verb string, needReason bool) *cobra.Command {
		var why string
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := app.client()
				if err != nil {
					return err
				}
				var body any
				if needReason {
					if strings.TrimSpace(why) == "" {
						return fmt.Errorf("--reason is required")
					}
					body = api.DecisionBody{Reason: why}
				}
				var r api.RequestJSON
				if err := c.Do("POST", "/api/v1/requests/"+url.PathEscape(args[0])+"/"+verb, nil, body, &r); err != nil {
					return err
				}
				if app.json {
					return app.printJSON(r)
				}
				switch {
				case r.Script != "" && r.Run != nil && (r.State == airlock.RequestApproved || r.State == airlock.RequestPending):
					printRun(app, "run", r.Run)
					if r.State == airlock.RequestPending {
						fmt.Fprintf(app.Stdout, "%s is back to review: %s\n", r.ID, r.DecisionReason)
					} else {
						fmt.Fprintf(app.Stdout, "%s approved: the script ran and was committed\n", r.ID)
					}
				case r.State == airlock.RequestApproved:
					fmt.Fprintf(app.Stdout, "%s approved: grant %s\n", r.ID, r.GrantID)
				case r.State == airlock.RequestPending:
					fmt.Fprintf(app.Stdout, "%s: %d of %d approvals\n", r.ID, len(r.Approvals), r.ApprovalsNeeded)
				default:
					fmt.Fprintf(app.Stdout, "%s %s\n", r.ID, r.State)
				}
				return nil
			},
		}
		if needReason {
			c.Flags().StringVar(&why, "reason", "", "why (required)")
		}
		return c
	}
	cmd.AddCommand(create, list, requestShowCmd(app),
		decide("approve ID", "Approve a request (approvers of its policy, never your own)", "approve", false),
		decide("deny ID --reason TEXT", "Deny a request", "deny", true),
		decide("cancel ID", "Withdraw your pending request", "cancel", false))
	return cmd
}

func grantsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "grants", Short: "List and revoke grants"}
	var active bool
	list := &cobra.Command{
		Use:   "list [--active]",
		Short: "List grants (yours; approvers and admins: everyone's)",
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
			var gs []api.GrantJSON
			if err := c.Do("GET", "/api/v1/grants", q, nil, &gs); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(gs)
			}
			var rows [][]string
			for _, g := range gs {
				rows = append(rows, []string{g.ID, g.User, g.Database, g.Level, g.State, strings.Join(g.Tables, ","), fmtTime(&g.CreatedAt), fmtTime(&g.ExpiresAt)})
			}
			app.table([]string{"ID", "USER", "DATABASE", "LEVEL", "STATE", "TABLES", "STARTED", "EXPIRES"}, rows)
			return nil
		},
	}
	list.Flags().BoolVar(&active, "active", false, "only grants in force now")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End a grant now; sessions lose its level at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var g api.GrantJSON
			if err := c.Do("POST", "/api/v1/grants/"+url.PathEscape(args[0])+"/revoke", nil, nil, &g); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(g)
			}
			fmt.Fprintf(app.Stdout, "%s revoked\n", g.ID)
			return nil
		},
	}
	cmd.AddCommand(list, revoke)
	return cmd
}

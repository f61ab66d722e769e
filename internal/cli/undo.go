package cli

import (
	"fmt"
	"net/url"
	"strings"

	"airlock"
	"airlock/internal/api"
	"airlock/internal/gateway"

	"github.com/spf13/cobra"
)

func undoCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "undo", Short: "Show and apply the reversal of what statements changed"}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Print the SQL that reverses a statement (its undo record u_..., or its audit event id) or a whole session (s_...), newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var out api.UndoShowJSON
			if err := c.Do("GET", "/api/v1/undo/"+url.PathEscape(args[0]), nil, nil, &out); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(out)
			}
			fmt.Fprint(app.Stdout, out.SQL)
			return nil
		},
	}
	var force bool
	apply := &cobra.Command{
		Use:   "apply ID [--force]",
		Short: "Reverse a statement or a session in one transaction",
		Long: `Reverse what a statement (or every statement of a session) changed, in
one transaction with the database's write credential. Every affected row
is first checked: rows changed since are listed as conflicts and nothing is
applied (exit 1) unless --force. The apply is itself audited and can be
undone in turn (its undo id is printed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var res gateway.UndoResult
			if err := c.Do("POST", "/api/v1/undo/"+url.PathEscape(args[0])+"/apply", nil, api.UndoApplyBody{Force: force}, &res); err != nil {
				return err
			}
			if app.json {
				app.printJSON(res)
			} else {
				for _, cf := range res.Conflicts {
					fmt.Fprintf(app.Stdout, "conflict: %s %s (%s): %s\n", cf.Table, opName(cf.Op), cf.Record, cf.Reason)
					if cf.Current != nil {
						fmt.Fprintf(app.Stdout, "  now:      %s\n", *cf.Current)
					}
					if cf.Want != nil {
						fmt.Fprintf(app.Stdout, "  expected: %s\n", *cf.Want)
					}
				}
				if res.Applied {
					fmt.Fprintf(app.Stdout, "undone: %d rows of %s", res.Rows, strings.Join(res.Records, ", "))
					if res.UndoID != "" {
						fmt.Fprintf(app.Stdout, " (to undo this: airlock undo apply %s)", res.UndoID)
					}
					fmt.Fprintln(app.Stdout)
				}
			}
			if !res.Applied {
				return fmt.Errorf("nothing applied: %d conflicting rows (use --force to apply anyway)", len(res.Conflicts))
			}
			return nil
		},
	}
	apply.Flags().BoolVar(&force, "force", false, "apply even when rows changed since")
	cmd.AddCommand(show, apply)
	return cmd
}

func opName(op string) string {
	switch op {
	case "I":
		return "insert"
	case "U":
		return "update"
	case "D":
		return "delete"
	}
	return op
}

func databasesAdminCmds(app *App) []*cobra.Command {
	check := &cobra.Command{
		Use:   "check NAME",
		Short: "Check a database's credentials: read cannot write, write cannot reach protected tables",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var fs []airlock.Finding
			if err := c.Do("GET", "/api/v1/databases/"+url.PathEscape(args[0])+"/check", nil, nil, &fs); err != nil {
				return err
			}
			if app.json {
				app.printJSON(fs)
			} else if len(fs) == 0 {
				fmt.Fprintf(app.Stdout, "%s: ok\n", args[0])
			}
			bad := 0
			for _, f := range fs {
				if !app.json {
					fmt.Fprintf(app.Stdout, "%s: %s credential: %s\n", f.Severity, f.Level, f.Message)
				}
				if f.Severity == "error" {
					bad++
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d problems", bad)
			}
			return nil
		},
	}
	prepare := &cobra.Command{
		Use:   "prepare NAME",
		Short: "Install what exact undo capture needs (a trigger on every table); run again after schema changes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.Do("POST", "/api/v1/databases/"+url.PathEscape(args[0])+"/prepare", nil, nil, &out); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(out)
			}
			fmt.Fprintf(app.Stdout, "%s: undo capture installed on %v tables\n", args[0], out["tables"])
			return nil
		},
	}
	return []*cobra.Command{check, prepare}
}

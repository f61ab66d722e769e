package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"airlock"
	"airlock/internal/api"

	"github.com/spf13/cobra"
)

// readScript reads a change script from path ("-": stdin).
func readScript(app *App, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read the script: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", fmt.Errorf("the script %s is empty", path)
	}
	return string(b), nil
}

func requestShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a request and, for a change script, its dry-run and run",
		Long: `Show a request. For a change script request, also what its dry-run
changed per statement (rows changed, a sample of rows before and after,
errors, side effects a rollback cannot undo) and, once approved, what the
real run did. With --json, the request with its dry_run and run objects.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var r api.RequestJSON
			if err := c.Do("GET", "/api/v1/requests/"+url.PathEscape(args[0]), nil, nil, &r); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(r)
			}
			w := app.Stdout
			fmt.Fprintf(w, "request   %s\nuser      %s\ndatabase  %s\nlevel     %s\nstate     %s\napprovals %d/%d (%s)\nreason    %s\n",
				r.ID, r.User, r.Database, r.Level, r.State, len(r.Approvals), r.ApprovalsNeeded, strings.Join(r.ApproverGroups, ", "), r.Reason)
			if r.Script == "" {
				fmt.Fprintf(w, "duration  %s\n", r.Duration)
			}
			if r.DecisionReason != "" {
				fmt.Fprintf(w, "decision  %s\n", r.DecisionReason)
			}
			if r.Script != "" {
				fmt.Fprintf(w, "script    sha256 %s, tolerance %d rows\n", r.ScriptSHA256, r.Tolerance)
			}
			if r.DryRun != nil {
				printRun(app, "dry-run", r.DryRun)
			}
			if r.Run != nil {
				printRun(app, "run", r.Run)
			}
			return nil
		},
	}
}

// printRun writes a script run as text: per statement its rows and a diff
// of its sample (changed cells as old -> new).
func printRun(app *App, title string, run *airlock.ScriptRun) {
	w := app.Stdout
	fmt.Fprintf(w, "\n%s: %s at %s\n", title, run.Outcome, fmtTime(&run.At))
	if run.Refused != "" {
		fmt.Fprintf(w, "  refused: %s\n", run.Refused)
	}
	for _, d := range run.Differences {
		fmt.Fprintf(w, "  difference: %s\n", d)
	}
	for _, e := range run.SideEffects {
		fmt.Fprintf(w, "  side effect: %s\n", e)
	}
	if run.UndoID != "" {
		fmt.Fprintf(w, "  undo: airlock undo show %s\n", run.UndoID)
	}
	for i, st := range run.Statements {
		rows := fmt.Sprint(st.RowsChanged)
		if st.RowsChanged < 0 {
			rows = "not run"
		}
		fmt.Fprintf(w, "  [%d] %s\n      rows changed: %s\n", i+1, strings.TrimSpace(st.SQL), rows)
		if st.Error != "" {
			fmt.Fprintf(w, "      error: %s\n", st.Error)
		}
		for _, rc := range st.Sample {
			fmt.Fprintf(w, "      %s %s:", changeName(rc.Op), rc.Table)
			for j, col := range rc.Columns {
				switch {
				case rc.Op == "U" && rc.Changed(j):
					fmt.Fprintf(w, " %s: %s -> %s", col, cell(rc.Before, j), cell(rc.After, j))
				case rc.Op == "U":
					fmt.Fprintf(w, " %s=%s", col, cell(rc.After, j))
				case rc.Op == "D":
					fmt.Fprintf(w, " %s=%s", col, cell(rc.Before, j))
				default:
					fmt.Fprintf(w, " %s=%s", col, cell(rc.After, j))
				}
			}
			fmt.Fprintln(w)
		}
		if st.Captured > len(st.Sample) {
			fmt.Fprintf(w, "      ... and %d more\n", st.Captured-len(st.Sample))
		}
	}
}

func changeName(op string) string {
	switch op {
	case "I":
		return "+ insert"
	case "D":
		return "- delete"
	}
	return "~ update"
}

func cell(vals []*string, i int) string {
	if i >= len(vals) || vals[i] == nil {
		return "NULL"
	}
	return *vals[i]
}

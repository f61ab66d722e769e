package cli

import (
	"fmt"
	"net/url"
	"strings"

	"airlock"
	"airlock/internal/api"

	"github.com/spf13/cobra"
)

func trashCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "trash", Short: "Tables kept by soft DROP and TRUNCATE: list, restore, purge (admins)"}
	var db string
	list := &cobra.Command{
		Use:   "list [--database DB]",
		Short: "List what soft DROP and TRUNCATE kept, newest first, with when each is purged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if db != "" {
				q.Set("database", db)
			}
			var items []airlock.TrashItem
			if err := c.Do("GET", "/api/v1/trash", q, nil, &items); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(items)
			}
			var rows [][]string
			for _, it := range items {
				rows = append(rows, []string{it.ID, it.Database, it.Kind, it.Table, it.User, fmtTime(&it.CreatedAt), fmtTime(&it.ExpiresAt), strings.Join(it.Kept, "; ")})
			}
			app.table([]string{"ID", "DATABASE", "KIND", "TABLE", "USER", "DROPPED", "PURGED AT", "KEPT WITH IT"}, rows)
			return nil
		},
	}
	list.Flags().StringVar(&db, "database", "", "only this database")
	var as string
	restore := &cobra.Command{
		Use:   "restore ID [--as NAME]",
		Short: "Put a dropped table back (with its indexes, constraints, grants and dependent views) or a truncated table's rows",
		Long: `Put a dropped table back with everything kept with it, or a truncated
table's rows back into it. When the table's name was used again since, the
restore is refused: give it another name with --as (same schema; other
tables' foreign keys to it are then not re-created).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var it airlock.TrashItem
			if err := c.Do("POST", "/api/v1/trash/"+url.PathEscape(args[0])+"/restore", nil, api.TrashRestoreBody{As: as}, &it); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(it)
			}
			name := it.Table
			if as != "" {
				name = it.Table[:strings.LastIndex(it.Table, ".")+1] + as
			}
			fmt.Fprintf(app.Stdout, "%s restored: %s\n", it.ID, name)
			return nil
		},
	}
	restore.Flags().StringVar(&as, "as", "", "restore a dropped table under this name")
	purge := &cobra.Command{
		Use:   "purge ID",
		Short: "Drop a kept table for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			var it airlock.TrashItem
			if err := c.Do("POST", "/api/v1/trash/"+url.PathEscape(args[0])+"/purge", nil, nil, &it); err != nil {
				return err
			}
			if app.json {
				return app.printJSON(it)
			}
			fmt.Fprintf(app.Stdout, "%s purged: %s is gone for good\n", it.ID, it.Table)
			return nil
		},
	}
	cmd.AddCommand(list, restore, purge)
	return cmd
}

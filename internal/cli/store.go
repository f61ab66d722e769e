package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"airlock/internal/config"
	"airlock/internal/server"
	"airlock/internal/store/storecopy"

	"github.com/spf13/cobra"
)

func storeCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Manage the store itself"}
	var from, to string
	migrate := &cobra.Command{
		Use:   "migrate --from URL --to URL",
		Short: "Copy every record and the audit chain into a new, empty store",
		Long: `Copy users, tokens, sessions, requests, grants, undo records and the audit
events (with their IDs and hashes, so that the chain still verifies) from one
store into another, typically from the embedded SQLite store to a PostgreSQL
store shared by several gateways:

  airlock store migrate --from sqlite:/var/lib/airlock/airlock.db --to postgres://airlock@db/airlock

Stop the gateways first. The target must be empty: migrate refuses a store
that holds any record. Progress goes to stderr. Afterwards point the config's
store at the target and check it with 'airlock audit verify --config FILE'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("both --from and --to are needed")
			}
			ctx := context.Background()
			src, err := openStoreURL(ctx, from, true)
			if err != nil {
				return fmt.Errorf("source store: %w", err)
			}
			defer src.Close()
			dst, err := openStoreURL(ctx, to, false)
			if err != nil {
				return fmt.Errorf("target store: %w", err)
			}
			defer dst.Close()
			if err := storecopy.Copy(ctx, src, dst, app.Stderr); err != nil {
				return err
			}
			fmt.Fprintln(app.Stderr, "done; check the target with 'airlock audit verify --config FILE'")
			return nil
		},
	}
	migrate.Flags().StringVar(&from, "from", "", "the store to copy: sqlite:PATH or postgres://...")
	migrate.Flags().StringVar(&to, "to", "", "the empty store to fill: postgres://... or sqlite:PATH")
	cmd.AddCommand(migrate)
	return cmd
}

// openStoreURL opens the store named by url as a config's store key names
// it (a relative sqlite: path is relative to the working directory). A
// source must exist: a missing SQLite file is not created.
func openStoreURL(ctx context.Context, url string, mustExist bool) (server.Store, error) {
	cfg := &config.Config{Store: url, Path: "airlock.yaml"}
	if !cfg.PostgresStore() {
		path, ok := strings.CutPrefix(url, "sqlite:")
		if !ok || path == "" {
			return nil, fmt.Errorf("%q is not a store URL (sqlite:PATH or postgres://...)", url)
		}
		if _, err := os.Stat(path); mustExist && err != nil {
			return nil, err
		}
	}
	return server.OpenStore(ctx, cfg, "")
}

package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"airlock/internal/config"
	"airlock/internal/policy"

	"github.com/spf13/cobra"
)

// Set at link time by release builds:
//
//	go build -ldflags "-X airlock/internal/cli.version=v1.2.3 -X airlock/internal/cli.commit=abc123"
//
// Without them, version and commit come from the build information the Go
// toolchain records (the module version and the VCS revision).
var (
	version = ""
	commit  = ""
)

// VersionInfo is what `airlock version --json` prints.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Version returns the running binary's version information.
func Version() VersionInfo {
	v := VersionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if v.Commit == "" {
			dirty := false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					v.Commit = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if dirty && v.Commit != "" {
				v.Commit += "-dirty"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func versionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print airlock's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := Version()
			if app.json {
				return app.printJSON(v)
			}
			fmt.Fprintf(app.Stdout, "airlock %s\ncommit %s\n%s %s\n", v.Version, v.Commit, v.GoVersion, v.Platform)
			return nil
		},
	}
}

func configCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	var path string
	check := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate a config file",
		Long: `Validate a config file exactly as serve (and a SIGHUP reload) would:
YAML, unknown keys, values, CEL guardrails, and that every credential's
password can be read. Prints "ok" on success; on failure prints each problem
as FILE:LINE: path: reason on stderr and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(path)
			if err == nil {
				err = checkPolicy(cfg, path)
			}
			if err != nil {
				return err
			}
			if app.json {
				return app.printJSON(map[string]any{"ok": true, "file": cfg.Path})
			}
			fmt.Fprintln(app.Stdout, "ok")
			return nil
		},
	}
	check.Flags().StringVar(&path, "config", "airlock.yaml", "config file")
	cmd.AddCommand(check)
	return cmd
}

// checkPolicy compiles the config's guardrails as serve does and names the
// first that fails by file and line.
func checkPolicy(cfg *config.Config, file string) error {
	if _, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails); err == nil {
		return nil
	}
	for i := range cfg.Guardrails {
		if _, err := policy.New(nil, cfg.Guardrails[i:i+1]); err != nil {
			return fmt.Errorf("%s:%d: guardrails[%d]: %w", file, cfg.Guardrails[i].Line, i, err)
		}
	}
	_, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	return fmt.Errorf("%s: %w", file, err)
}

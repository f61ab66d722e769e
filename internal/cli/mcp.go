package cli

import (
	"os"
	"os/signal"
	"syscall"

	"airlock/internal/mcp"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
)

// mcpCmd is `airlock mcp`: an MCP server on stdio for AI agents, a thin
// bridge to the server's /mcp endpoint as the logged-in user (or
// AIRLOCK_TOKEN). Database credentials stay on the server.
func mcpCmd(app *App) *cobra.Command {
	var databases []string
	var onBehalfOf string
	cmd := &cobra.Command{
		Use:   "mcp [--database DB]... [--on-behalf-of USER]",
		Short: "Serve MCP on stdio for AI agents (Claude Code, Cursor...), as the logged-in user",
		Long: `Serve the Model Context Protocol on stdin/stdout, for an AI agent that runs it as
a local MCP server. Every tool call goes to the airlock server's /mcp endpoint with
your token (--token, AIRLOCK_TOKEN, or what airlock login saved), so it runs under
the same rules, checks and audit as a database client; nothing is printed on stdout
but the protocol.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return mcp.Bridge(ctx, mcp.BridgeOptions{Endpoint: c.Base + "/mcp", Token: c.Token, OnBehalfOf: onBehalfOf,
				Databases: databases}, &sdk.StdioTransport{})
		},
	}
	cmd.Flags().StringArrayVar(&databases, "database", nil, "only this database (repeat for several; default: all)")
	cmd.Flags().StringVar(&onBehalfOf, "on-behalf-of", "", "the person an agent acts for, added to every call that does not name one")
	return cmd
}

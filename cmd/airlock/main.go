// Command airlock is the gateway server and its command line client.
package main

import (
	"os"

	"airlock/internal/cli"
)

func main() {
	os.Exit(cli.Execute(&cli.App{}, os.Args[1:]))
}

package e2e

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// listeningRE matches the log line of a listener that is up.
var listeningRE = regexp.MustCompile(`msg="listening for (PostgreSQL clients|MySQL clients|HTTP)" addr=(\S+)`)

// runServe starts cmd, an `airlock serve` (or a command running one),
// and reads its log (stderr) until it has named the address of each
// listener in want ("PostgreSQL clients", "MySQL clients", "HTTP"); it
// returns them by name. every, when set, sees each line of the log, before
// and after. The log is read to its end in the background; the channel is
// closed then. The test fails when the log ends before every listener is up.
func runServe(t *testing.T, cmd *exec.Cmd, every func(line string), want ...string) (map[string]string, <-chan struct{}) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	up := func() bool {
		for _, w := range want {
			if addrs[w] == "" {
				return false
			}
		}
		return true
	}
	sc := bufio.NewScanner(stderr)
	for !up() && sc.Scan() {
		line := sc.Text()
		if every != nil {
			every(line)
		}
		if m := listeningRE.FindStringSubmatch(line); m != nil {
			addrs[m[1]] = m[2]
		}
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for sc.Scan() {
			if every != nil {
				every(sc.Text())
			}
		}
	}()
	if !up() {
		cmd.Process.Kill()
		t.Fatalf("airlock did not start (listening: %v, want %s)", addrs, strings.Join(want, ", "))
	}
	return addrs, ended
}

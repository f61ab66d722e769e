package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnit validates examples/airlock.service with systemd-analyze
// verify (scripts/setup.sh installs it), the unit's binary path pointed at
// the airlock built for the tests; the unit reloads with SIGHUP and checks
// the config before starting.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../examples/airlock.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"ExecStart=/usr/local/bin/airlock serve --config /etc/airlock/airlock.yaml",
		"ExecStartPre=/usr/local/bin/airlock config check --config /etc/airlock/airlock.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"DynamicUser=yes", "StateDirectory=airlock", "NoNewPrivileges=yes",
	} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "airlock.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/airlock", airlockBin)), 0o644)
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is missing: run scripts/setup.sh")
	}
	out := run(t, 60*time.Second, "", nil, "sh", "-c", "systemd-analyze verify "+path+" 2>&1; echo exit=$?")
	if strings.TrimSpace(out) != "exit=0" {
		t.Fatalf("systemd-analyze verify:\n%s", out)
	}
	// The check is real: a typo in a directive fails it.
	os.WriteFile(path, []byte(strings.Replace(strings.ReplaceAll(unit, "/usr/local/bin/airlock", airlockBin), "Restart=on-failure", "Restart=sometimes", 1)), 0o644)
	if out := run(t, 60*time.Second, "", nil, "sh", "-c", "systemd-analyze verify "+path+" 2>&1; echo exit=$?"); !strings.Contains(out, "sometimes") {
		t.Fatalf("systemd-analyze verify accepted a bad Restart=:\n%s", out)
	}
}

// dockerInstr is one Dockerfile instruction with its line.
type dockerInstr struct {
	line      int
	cmd, args string
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, backslash continuations joined, the keyword upper
// case.
func parseDockerfile(t *testing.T, text string) []dockerInstr {
	var out []dockerInstr
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{start, strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends in a continuation")
	}
	return out
}

// TestDockerfile checks examples/Dockerfile without a Docker daemon (none
// runs here): every instruction is one Docker knows; a build stage and a
// final stage from scratch; the binary built with cgo and linked
// statically from this module at the Go version go.mod names; the final
// stage runs as a non-root user and copies only from the build stage;
// no registry host is named; and the entrypoint runs airlock. (The
// build step's go build line was run by hand with these flags: it links a
// static binary that runs `airlock version`.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../examples/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ins := parseDockerfile(t, string(b))
	known := map[string]bool{"FROM": true, "RUN": true, "COPY": true, "ARG": true, "ENV": true, "WORKDIR": true, "USER": true,
		"EXPOSE": true, "VOLUME": true, "ENTRYPOINT": true, "CMD": true, "HEALTHCHECK": true, "LABEL": true}
	var froms []dockerInstr
	for _, in := range ins {
		if !known[in.cmd] {
			t.Errorf("line %d: unknown instruction %s", in.line, in.cmd)
		}
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	if len(froms) != 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(froms))
	}
	gomod, _ := os.ReadFile("../go.mod")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if m := regexp.MustCompile(`^golang:(\d+\.\d+)\S* AS build$`).FindStringSubmatch(froms[0].args); m == nil || m[1] != goVer[1] {
		t.Errorf("build stage %q: want golang:%s... AS build (go.mod's Go)", froms[0].args, goVer[1])
	}
	if froms[1].args != "scratch" {
		t.Errorf("final stage from %q, want scratch", froms[1].args)
	}
	for _, f := range froms {
		if image, _, _ := strings.Cut(f.args, " "); strings.Contains(image, "/") && strings.ContainsAny(strings.Split(image, "/")[0], ".:") {
			t.Errorf("line %d names a registry host: %s", f.line, image)
		}
	}
	var final []dockerInstr
	for _, in := range ins {
		if in.line > froms[1].line {
			final = append(final, in)
		}
	}
	var user, entry, build string
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "RUN":
			t.Errorf("line %d: RUN in the final stage (it has no shell)", in.line)
		case "COPY":
			if !strings.HasPrefix(in.args, "--from=build ") {
				t.Errorf("line %d: the final stage copies from outside the build stage: %s", in.line, in.args)
			}
		}
	}
	for _, in := range ins[:len(ins)-len(final)] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if entry != `["/usr/local/bin/airlock"]` {
		t.Errorf("entrypoint %s", entry)
	}
	for _, want := range []string{"CGO_ENABLED=1", "-tags netgo,osusergo", "-extldflags -static", "-X airlock/internal/cli.version=${VERSION}", "./cmd/airlock", "/out/airlock version"} {
		if !strings.Contains(build, want) {
			t.Errorf("build step lacks %q: %s", want, build)
		}
	}
}

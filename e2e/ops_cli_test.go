package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestVersion: `airlock version` prints the version, commit and Go
// version, --json the same as an object; a release build's -X flags set
// them.
func TestVersion(t *testing.T) {
	out := run(t, 30*time.Second, "", nil, airlockBin, "version")
	if !strings.Contains(out, "airlock ") || !strings.Contains(out, "commit ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version:\n%s", out)
	}
	bin := filepath.Join(t.TempDir(), "airlock")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X airlock/internal/cli.version=v9.8.7 -X airlock/internal/cli.commit=0123abcd", "airlock/cmd/airlock")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	var v struct {
		Version, Commit, GoVersion, Platform string
	}
	raw := run(t, 30*time.Second, "", nil, bin, "version", "--json")
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("version --json: %v\n%s", err, raw)
	}
	var keys map[string]any
	json.Unmarshal([]byte(raw), &keys)
	if v.Version != "v9.8.7" || v.Commit != "0123abcd" || keys["go_version"] != runtime.Version() || keys["platform"] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("version --json: %s", raw)
	}
}

// TestCompletion: cobra's completion scripts are generated for each shell
// and name airlock's commands.
func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_airlock", "zsh": "#compdef airlock", "fish": "complete -c airlock", "powershell": "Register-ArgumentCompleter"} {
		out := run(t, 30*time.Second, "", nil, airlockBin, "completion", shell)
		if !strings.Contains(out, marker) {
			t.Errorf("completion %s lacks %q", shell, marker)
		}
	}
	// The completion engine itself knows the commands.
	out := run(t, 30*time.Second, "", nil, airlockBin, "__complete", "con")
	if !strings.Contains(out, "config") {
		t.Errorf("__complete con:\n%s", out)
	}
	out = run(t, 30*time.Second, "", nil, "bash", "-c", "source <("+airlockBin+" completion bash) && complete -p airlock")
	if !strings.Contains(out, "airlock") || strings.Contains(out, "error") {
		t.Errorf("bash completion does not load:\n%s", out)
	}
}

// TestConfigCheck: ok for a valid file; exit 1 naming file:line for an
// unknown key, a bad value and a guardrail that does not compile.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := `listen: {postgres: "127.0.0.1:15432", http: "127.0.0.1:8080"}
users:
  - {name: alice, groups: [eng]}
databases:
  - name: shop
    engine: postgres
    address: "127.0.0.1:5432"
    database: shop
    credentials:
      read: {user: shop_ro, password: x}
policies:
  - {name: eng, groups: [eng], databases: [shop], standing: read}
`
	for _, c := range []struct {
		name, yaml string
		want       string // regexp on the output; "" for ok
	}{
		{"valid", good, ""},
		{"unknown key", strings.Replace(good, "standing: read}", "standing: read, colour: blue}", 1), `c\.yaml:12: policies\[0\]\.colour: unknown key`},
		{"bad value", strings.Replace(good, "engine: postgres", "engine: oracle", 1), `c\.yaml:6: databases\[0\]\.engine: `},
		{"bad guardrail", good + "guardrails:\n  - {name: g, databases: [shop], when: 'stmt.kind ==', action: deny, message: m}\n", `c\.yaml:14: guardrails\[0\]: `},
		{"bad yaml", good + "users: [\n", `c\.yaml:\d+`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "c.yaml")
			os.WriteFile(path, []byte(c.yaml), 0o600)
			cmd := exec.Command(airlockBin, "config", "check", "--config", path)
			out, err := cmd.CombinedOutput()
			if c.want == "" {
				if err != nil || strings.TrimSpace(string(out)) != "ok" {
					t.Fatalf("config check: %v\n%s", err, out)
				}
				return
			}
			var ee *exec.ExitError
			if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("config check exit: %v\n%s", err, out)
			}
			if !regexp.MustCompile(c.want).Match(out) {
				t.Fatalf("config check output does not match %s:\n%s", c.want, out)
			}
		})
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

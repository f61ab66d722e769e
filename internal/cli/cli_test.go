package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"airlock/internal/api"
)

// run executes the command line with env and returns stdout, stderr and
// the exit code.
func run(env map[string]string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code := Execute(app, args)
	return out.String(), errb.String(), code
}

func TestCommandLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/whoami" || r.Header.Get("Authorization") != "Bearer alk_test" {
			http.Error(w, `{"error": "not found"}`, 404)
			return
		}
		json.NewEncoder(w).Encode(api.WhoamiJSON{UserJSON: api.UserJSON{Name: "alice", Groups: []string{"eng"}}, TokenID: "t_1"})
	}))
	defer srv.Close()
	env := map[string]string{"AIRLOCK_SERVER": srv.URL, "AIRLOCK_TOKEN": "alk_test", "HOME": t.TempDir()}

	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, noOut string // in stdout+stderr, and never there
	}{
		{"whoami without roles", []string{"whoami"}, 0, "alice (groups: eng; roles: none; token t_1", "roles: ;"},
		{"missing argument shows usage", []string{"requests", "create"}, 1, "Usage:\n  airlock requests create DB --level write", ""},
		{"unknown flag shows usage", []string{"sessions", "list", "--bogus"}, 1, "unknown flag: --bogus\n\nUsage:\n  airlock sessions list", ""},
		{"unknown subcommand fails", []string{"requests", "frobnicate", "x"}, 1, "unknown command \"frobnicate\" for \"airlock requests\"\n\nUsage:", ""},
		{"a group alone shows its commands", []string{"requests"}, 0, "Available Commands:", ""},
		{"serve help names only its flags", []string{"serve", "--help"}, 0, "--config string", "--server"},
		{"client help names the client flags", []string{"whoami", "--help"}, 0, "--server string", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(env, tc.args...)
			all := out + errs
			if code != tc.code || !strings.Contains(all, tc.out) || (tc.noOut != "" && strings.Contains(all, tc.noOut)) {
				t.Errorf("exit %d (want %d)\n%s", code, tc.code, all)
			}
		})
	}
}

package pgwire

import (
	"fmt"
	"testing"
)

func TestParseStartupSettings(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string // the settings as printed, or the error
	}{
		{"plain", map[string]string{"user": "u", "database": "d", "Jit": "off"}, "[{jit off false}]"},
		{"options -c", map[string]string{"options": "-c a=1 -cb=2"}, "[{a 1 true} {b 2 true}]"},
		{"options long", map[string]string{"options": "--lock-timeout=3s"}, "[{lock_timeout 3s true}]"},
		{"options escapes", map[string]string{"options": `-c search_path=a,\ b\\c`}, `[{search_path a, b\c true}]`},
		{"options value with =", map[string]string{"options": "-c x=a=b"}, "[{x a=b true}]"},
		{"options repeat", map[string]string{"options": "-c a=1 -c A=2"}, "[{a 2 true}]"},
		{"parameter over options", map[string]string{"options": "-c a=1", "a": "3"}, "[{a 3 false}]"},
		{"empty options", map[string]string{"options": "  "}, "[]"},
		{"protocol extension ignored", map[string]string{"_pq_.x": "1"}, "[]"},
		{"replication off", map[string]string{"replication": "off"}, "[]"},
		{"replication database", map[string]string{"replication": "database"}, "error: airlock: replication connections are not allowed"},
		{"replication true", map[string]string{"replication": "true"}, "error: airlock: replication connections are not allowed"},
		{"-c without value", map[string]string{"options": "-c"}, "error: airlock: startup options: -c needs name=value"},
		{"-c without =", map[string]string{"options": "-c jit"}, `error: airlock: startup options: "jit" needs name=value`},
		{"server switch", map[string]string{"options": "-B 100"}, `error: airlock: startup options: "-B" is not allowed; only -c name=value and --name=value settings are`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStartupSettings(tt.params)
			s := fmt.Sprint(got)
			if err != nil {
				s = "error: " + err.Error()
			}
			if s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestParseStartupParamsRepeat(t *testing.T) {
	b := []byte("user\x00a\x00client_encoding\x00UTF8\x00client_encoding\x00utf8\x00\x00")
	p, err := parseStartupParams(b)
	if err != nil {
		t.Fatal(err)
	}
	if p["client_encoding"] != "utf8" || p["user"] != "a" {
		t.Errorf("got %v, want the last client_encoding", p)
	}
}

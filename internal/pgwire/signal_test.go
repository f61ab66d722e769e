package pgwire

import "testing"

func TestSignalParse(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"SELECT pg_terminate_backend(123)", true},
		{"  select pg_catalog.pg_cancel_backend( $1 ) ; ", true},
		{"select pg_terminate_backend(pg_backend_pid())", true},
		{"SELECT pg_terminate_backend(123 + 0)", false},
		{"SELECT pg_terminate_backend($2)", false},
		{"SELECT pg_terminate_backend($1::int)", false},
		{"SELECT pg_terminate_backend(123), 1", false},
		{"SELECT pg_terminate_backend(123); SELECT pg_terminate_backend(456)", false},
		{"SELECT pg_terminate_backend(123) -- x", false},
		{"SELECT pg_terminate_backend(pid) FROM pg_stat_activity", false},
		{"SELECT pg_log_backend_memory_contexts(123)", false},
	} {
		if got := signalParse(tc.text); got != tc.want {
			t.Errorf("signalParse(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestParamPID(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want uint32
		ok   bool
	}{
		{"4242", 4242, true},
		{" 4242 ", 4242, true},
		{`\x00001092`, 4242, true},
		{`\x0000000000001092`, 4242, true},
		{`\xffffffff`, 0, false},
		{`\x0000000100000000`, 0, false},
		{`\x1092`, 0, false},
		{"-1", 0, false},
		{"4242abc", 0, false},
		{"NULL", 0, false},
		{"2147483648", 0, false},
	} {
		got, ok := paramPID(tc.v)
		if got != tc.want && tc.ok || ok != tc.ok {
			t.Errorf("paramPID(%q) = %d, %v, want %d, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

package mysqlwire

import "testing"

func TestPublicVersion(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"mariadb", "5.5.5-10.11.6-MariaDB-0+deb12u1", "5.5.5-10.11.0-MariaDB-airlock"},
		{"mariadb without prefix", "11.4.2-MariaDB", "5.5.5-11.4.0-MariaDB-airlock"},
		{"mysql", "8.0.36-0ubuntu0.22.04.1", "8.0.0-airlock"},
		{"mysql 8.4", "8.4.0", "8.4.0-airlock"},
		{"unknown", "garbage", "8.0.0-airlock"},
		{"airlock fallback", "8.0.0-airlock", "8.0.0-airlock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicVersion(tc.in); got != tc.want {
				t.Errorf("publicVersion(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

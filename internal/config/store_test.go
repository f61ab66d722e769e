package config

import (
	"strings"
	"testing"
)

func TestStoreURL(t *testing.T) {
	for _, tc := range []struct {
		name, store string
		postgres    bool
		err         string
	}{
		{"sqlite", "sqlite:a.db", false, ""},
		{"postgres", "postgres://airlock:secret@db:5432/airlock?sslmode=verify-full", true, ""},
		{"postgresql", "postgresql://airlock@db/airlock", true, ""},
		{"other scheme", "mysql://db/airlock", false, "the store is sqlite:PATH or postgres://USER@HOST/DB"},
		{"sqlite without path", "sqlite:", false, "sqlite: needs a file path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte("store: \""+tc.store+"\"\n"))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error repeats the store's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.PostgresStore() != tc.postgres {
				t.Fatalf("PostgresStore() = %v", c.PostgresStore())
			}
			if tc.postgres && c.StorePath() != "" {
				t.Fatalf("StorePath() = %q for a PostgreSQL store", c.StorePath())
			}
		})
	}
}

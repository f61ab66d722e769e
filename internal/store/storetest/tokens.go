package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"airlock"
)

// token returns a token of user with the given ID, created at at(created).
func token(id, user string, created time.Duration) *airlock.Token {
	h := sha256.Sum256([]byte("secret of " + id))
	return &airlock.Token{
		ID:         id,
		User:       user,
		CreatedBy:  "admin",
		CreatedAt:  at(created),
		ExpiresAt:  ptr(at(created + time.Hour)),
		Note:       "note of " + id,
		Hash:       h[:],
		StoredKey:  []byte("stored key " + id),
		ServerKey:  []byte("server key " + id),
		Iterations: 4096,
		// Verifiers are fixed-size hashes in practice; any bytes do here.
		MySQLNative: []byte("native " + id),
		MySQLSHA2:   []byte("sha2 " + id),
	}
}

// tokenIDs returns the IDs of ts, in order.
func tokenIDs(ts []*airlock.Token) []string {
	ids := []string{}
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func (s *suite) tokens(t *testing.T) {
	// withUsers opens a store holding users alice and bob.
	withUsers := func(t *testing.T) airlock.Store {
		st := s.store(t)
		for _, name := range []string{"alice", "bob"} {
			must(t, st.CreateUser(t.Context(), &airlock.User{Name: name, CreatedAt: at(-time.Hour)}))
		}
		return st
	}

	t.Run("create_get", func(t *testing.T) {
		st := withUsers(t)
		tok := token("tok_1", "alice", 0)
		must(t, st.CreateToken(t.Context(), tok))
		got, err := st.GetToken(t.Context(), "tok_1")
		must(t, err)
		equal(t, "token", got, tok)

		noExpiry := token("tok_2", "alice", time.Second)
		noExpiry.ExpiresAt = nil
		noExpiry.Note = ""
		must(t, st.CreateToken(t.Context(), noExpiry))
		got, err = st.GetToken(t.Context(), "tok_2")
		must(t, err)
		equal(t, "token without expiry", got, noExpiry)
	})

	t.Run("create_revoked", func(t *testing.T) {
		st := withUsers(t)
		tok := token("tok_1", "alice", 0)
		tok.RevokedAt = ptr(at(time.Minute))
		tok.RevokedBy = "bob"
		allSet(t, tok)
		must(t, st.CreateToken(t.Context(), tok))
		got, err := st.GetToken(t.Context(), "tok_1")
		must(t, err)
		equal(t, "token", got, tok)
	})

	t.Run("create_twice_conflict", func(t *testing.T) {
		st := withUsers(t)
		must(t, st.CreateToken(t.Context(), token("tok_1", "alice", 0)))
		wantCode(t, st.CreateToken(t.Context(), token("tok_1", "bob", time.Second)), airlock.ECONFLICT)
		// Same secret under another ID.
		dup := token("tok_2", "alice", 0)
		dup.Hash = token("tok_1", "", 0).Hash
		wantCode(t, st.CreateToken(t.Context(), dup), airlock.ECONFLICT)
	})

	t.Run("get_missing_not_found", func(t *testing.T) {
		st := withUsers(t)
		_, err := st.GetToken(t.Context(), "tok_missing")
		wantCode(t, err, airlock.ENOTFOUND)
	})

	t.Run("by_hash", func(t *testing.T) {
		st := withUsers(t)
		a, b := token("tok_a", "alice", 0), token("tok_b", "bob", 0)
		must(t, st.CreateToken(t.Context(), a))
		must(t, st.CreateToken(t.Context(), b))
		got, err := st.TokenByHash(t.Context(), b.Hash)
		must(t, err)
		equal(t, "token", got, b)
		_, err = st.TokenByHash(t.Context(), token("tok_c", "", 0).Hash)
		wantCode(t, err, airlock.ENOTFOUND)
	})

	t.Run("by_hash_finds_revoked", func(t *testing.T) {
		st := withUsers(t)
		a := token("tok_a", "alice", 0)
		must(t, st.CreateToken(t.Context(), a))
		must(t, st.RevokeToken(t.Context(), "tok_a", at(time.Minute), "bob"))
		got, err := st.TokenByHash(t.Context(), a.Hash)
		must(t, err)
		if got.RevokedAt == nil {
			t.Fatal("revoked token found by hash without RevokedAt")
		}
	})

	t.Run("revoke_keeps_first_time", func(t *testing.T) {
		st := withUsers(t)
		tok := token("tok_1", "alice", 0)
		must(t, st.CreateToken(t.Context(), tok))
		must(t, st.RevokeToken(t.Context(), "tok_1", at(time.Minute), "bob"))
		must(t, st.RevokeToken(t.Context(), "tok_1", at(2*time.Minute), "carol"))
		got, err := st.GetToken(t.Context(), "tok_1")
		must(t, err)
		tok.RevokedAt = ptr(at(time.Minute))
		tok.RevokedBy = "bob"
		equal(t, "revoked token", got, tok)
	})

	t.Run("revoke_missing_not_found", func(t *testing.T) {
		st := withUsers(t)
		wantCode(t, st.RevokeToken(t.Context(), "tok_missing", at(0), "bob"), airlock.ENOTFOUND)
	})

	t.Run("list", func(t *testing.T) {
		st := withUsers(t)
		got, err := st.ListTokens(t.Context(), airlock.TokenFilter{})
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("empty store lists %d tokens", len(got))
		}

		// Created out of order; each expires an hour after creation.
		for _, tok := range []*airlock.Token{
			token("tok_a2", "alice", 2*time.Minute),
			token("tok_a0", "alice", 0),
			token("tok_b1", "bob", time.Minute),
			token("tok_b3", "bob", 3*time.Minute),
		} {
			must(t, st.CreateToken(t.Context(), tok))
		}
		forever := token("tok_forever", "alice", -time.Minute)
		forever.ExpiresAt = nil
		must(t, st.CreateToken(t.Context(), forever))
		revoked := token("tok_revoked", "alice", time.Minute/2)
		must(t, st.CreateToken(t.Context(), revoked))
		must(t, st.RevokeToken(t.Context(), "tok_revoked", at(time.Minute), "admin"))

		cases := []struct {
			name string
			f    airlock.TokenFilter
			want []string
		}{
			{"all_newest_first", airlock.TokenFilter{},
				[]string{"tok_b3", "tok_a2", "tok_b1", "tok_revoked", "tok_a0", "tok_forever"}},
			{"user", airlock.TokenFilter{User: "alice"},
				[]string{"tok_a2", "tok_revoked", "tok_a0", "tok_forever"}},
			{"user_unknown", airlock.TokenFilter{User: "nobody"}, []string{}},
			{"live_now", airlock.TokenFilter{LiveAt: at(5 * time.Minute)},
				[]string{"tok_b3", "tok_a2", "tok_b1", "tok_a0", "tok_forever"}},
			// tok_a0 expires at exactly at(1h): not live then.
			{"live_at_expiry", airlock.TokenFilter{LiveAt: at(time.Hour)},
				[]string{"tok_b3", "tok_a2", "tok_b1", "tok_forever"}},
			{"live_later", airlock.TokenFilter{LiveAt: at(time.Hour + 2*time.Minute + time.Nanosecond)},
				[]string{"tok_b3", "tok_forever"}},
			{"live_much_later", airlock.TokenFilter{LiveAt: at(1000 * time.Hour)},
				[]string{"tok_forever"}},
			{"live_user", airlock.TokenFilter{User: "bob", LiveAt: at(time.Hour + 90*time.Second)},
				[]string{"tok_b3"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := st.ListTokens(t.Context(), c.f)
				must(t, err)
				equal(t, "ids", tokenIDs(got), c.want)
				for _, tok := range got {
					if !c.f.LiveAt.IsZero() && !tok.Live(c.f.LiveAt) {
						t.Errorf("%s listed but not Live at %v", tok.ID, c.f.LiveAt)
					}
				}
			})
		}
		// Listed tokens carry every field.
		got, err = st.ListTokens(t.Context(), airlock.TokenFilter{User: "bob"})
		must(t, err)
		equal(t, "listed token", got[1], token("tok_b1", "bob", time.Minute))
	})
}

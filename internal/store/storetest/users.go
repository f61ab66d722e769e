package storetest

import (
	"testing"

	"airlock"
)

func (s *suite) users(t *testing.T) {
	alice := func() *airlock.User {
		return &airlock.User{
			Name:       "alice",
			Groups:     []string{"eng", "oncall"},
			Roles:      []string{airlock.RoleApprover},
			Kind:       airlock.KindAgent,
			FromConfig: true,
			ScramSalt:  []byte{0, 1, 2, 0xfe, 0xff},
			CreatedAt:  at(0),
		}
	}

	t.Run("create_get", func(t *testing.T) {
		allSet(t, alice())
		st := s.store(t)
		must(t, st.CreateUser(t.Context(), alice()))
		got, err := st.GetUser(t.Context(), "alice")
		must(t, err)
		equal(t, "user", got, alice())
	})

	t.Run("create_twice_conflict", func(t *testing.T) {
		st := s.store(t)
		must(t, st.CreateUser(t.Context(), alice()))
		u := alice()
		u.Groups = []string{"other"}
		wantCode(t, st.CreateUser(t.Context(), u), airlock.ECONFLICT)
		got, err := st.GetUser(t.Context(), "alice")
		must(t, err)
		equal(t, "user after conflict", got, alice())
	})

	t.Run("get_missing_not_found", func(t *testing.T) {
		st := s.store(t)
		_, err := st.GetUser(t.Context(), "nobody")
		wantCode(t, err, airlock.ENOTFOUND)
	})

	t.Run("update", func(t *testing.T) {
		st := s.store(t)
		must(t, st.CreateUser(t.Context(), alice()))
		u := alice()
		u.Groups = []string{"sre"}
		u.Roles = []string{airlock.RoleAdmin, airlock.RoleApprover}
		u.FromConfig = false
		u.ScramSalt = []byte("new salt")
		must(t, st.UpdateUser(t.Context(), u))
		got, err := st.GetUser(t.Context(), "alice")
		must(t, err)
		equal(t, "updated user", got, u)
	})

	t.Run("update_missing_not_found", func(t *testing.T) {
		st := s.store(t)
		u := alice()
		u.Name = "nobody"
		wantCode(t, st.UpdateUser(t.Context(), u), airlock.ENOTFOUND)
	})

	t.Run("list_ordered_by_name", func(t *testing.T) {
		st := s.store(t)
		got, err := st.ListUsers(t.Context())
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("empty store lists %d users", len(got))
		}
		for i, name := range []string{"carol", "alice", "bob"} {
			u := alice()
			u.Name = name
			u.CreatedAt = at(0).AddDate(0, 0, -i) // creation order differs from name order
			must(t, st.CreateUser(t.Context(), u))
		}
		got, err = st.ListUsers(t.Context())
		must(t, err)
		var names []string
		for _, u := range got {
			names = append(names, u.Name)
		}
		equal(t, "names", names, []string{"alice", "bob", "carol"})
		equal(t, "first user groups", got[0].Groups, alice().Groups)
	})

	t.Run("delete", func(t *testing.T) {
		st := s.store(t)
		must(t, st.CreateUser(t.Context(), alice()))
		must(t, st.DeleteUser(t.Context(), "alice"))
		_, err := st.GetUser(t.Context(), "alice")
		wantCode(t, err, airlock.ENOTFOUND)
		wantCode(t, st.DeleteUser(t.Context(), "alice"), airlock.ENOTFOUND)
		// The name is free again.
		must(t, st.CreateUser(t.Context(), alice()))
	})

	t.Run("delete_missing_not_found", func(t *testing.T) {
		st := s.store(t)
		wantCode(t, st.DeleteUser(t.Context(), "nobody"), airlock.ENOTFOUND)
	})
}

package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// TestScramAgainstClient runs the exchange against an independent SCRAM
// client implementation, with the right token among several verifiers.
func TestScramAgainstClient(t *testing.T) {
	salt := NewSalt()
	secrets := []string{NewSecret(), NewSecret(), NewSecret()}
	var vs []ScramVerifier
	for _, s := range secrets {
		st, sv := Verifier(s, salt, Iterations)
		vs = append(vs, ScramVerifier{st, sv})
	}
	for want, secret := range secrets {
		client, err := scram.SHA256.NewClient("", secret, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, err := conv.Step("")
		if err != nil {
			t.Fatal(err)
		}
		srv := NewScramServer(salt, Iterations)
		sf, err := srv.First(first)
		if err != nil {
			t.Fatal(err)
		}
		final, err := conv.Step(sf)
		if err != nil {
			t.Fatal(err)
		}
		got, sfinal, err := srv.Final(final, vs)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("matched verifier %d, want %d", got, want)
		}
		if _, err := conv.Step(sfinal); err != nil {
			t.Fatalf("client rejects server signature: %v", err)
		}
	}
}

func TestScramWrongSecret(t *testing.T) {
	salt := NewSalt()
	st, sv := Verifier(NewSecret(), salt, Iterations)
	client, _ := scram.SHA256.NewClient("", NewSecret(), "")
	conv := client.NewConversation()
	first, _ := conv.Step("")
	srv := NewScramServer(salt, Iterations)
	sf, err := srv.First(first)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := conv.Step(sf)
	if _, _, err := srv.Final(final, []ScramVerifier{{st, sv}}); !errors.Is(err, ErrScramProof) {
		t.Fatalf("err = %v, want ErrScramProof", err)
	}
	// Replaying the final message with a tampered nonce fails too.
	if _, _, err := srv.Final(strings.Replace(final, "r=", "r=x", 1), []ScramVerifier{{st, sv}}); err == nil {
		t.Fatal("tampered nonce accepted")
	}
}

func TestScramMalformed(t *testing.T) {
	for _, in := range []string{"", "p=tls-server-end-point,,n=,r=abc", "n,,n=", "n,a=x,n=,r=abc", "n,,n=,r=a,m=ext"} {
		if _, err := NewScramServer(NewSalt(), Iterations).First(in); err == nil {
			t.Errorf("First(%q) accepted", in)
		}
	}
	srv := NewScramServer(NewSalt(), Iterations)
	if _, err := srv.First("n,,n=,r=abc"); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "c=biws,r=abc", "c=biws,r=zzz,p=AAAA", "c=xx,r=" + srv.nonce + ",p=AAAA"} {
		if _, _, err := srv.Final(in, nil); err == nil {
			t.Errorf("Final(%q) accepted", in)
		}
	}
}

func TestSecretShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSecret()
		if !LooksLikeSecret(s) || len(s) != 47 {
			t.Fatalf("bad secret %q", s)
		}
		if seen[s] {
			t.Fatal("repeated secret")
		}
		seen[s] = true
	}
	for _, s := range []string{"", "alk_", "alk_short", "xyz_" + strings.Repeat("a", 43), "alk_" + strings.Repeat("a", 42) + "!"} {
		if LooksLikeSecret(s) {
			t.Errorf("%q looks like a secret", s)
		}
	}
}

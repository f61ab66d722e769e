// Package auth holds the credential primitives of airlock: token secrets,
// their hashes, SCRAM-SHA-256 verifiers, and the server side of a SCRAM
// exchange that checks one client proof against several verifiers (one per
// live token of the user). It does no I/O.
package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"

	"airlock"
)

// Iterations is the PBKDF2 iteration count of token verifiers.
const Iterations = 4096

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret returns a new token secret: "alk_" followed by 32 random bytes
// written in base62 (43 characters).
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	n := new(big.Int).SetBytes(b[:])
	var out [43]byte
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := len(out) - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return airlock.TokenPrefix + string(out[:])
}

// LooksLikeSecret reports whether s has the shape of a token secret; it
// lets callers reject garbage before touching the store.
func LooksLikeSecret(s string) bool {
	rest, ok := strings.CutPrefix(s, airlock.TokenPrefix)
	if !ok || len(rest) < 43 || len(rest) > 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// Hash returns the lookup hash of a secret (SHA-256). Secrets carry 190
// bits of randomness, so a plain hash is enough to make the stored value
// useless to a thief.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewSalt returns a random 16-byte SCRAM salt.
func NewSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// Verifier computes the SCRAM-SHA-256 StoredKey and ServerKey of secret.
func Verifier(secret string, salt []byte, iterations int) (storedKey, serverKey []byte) {
	salted, err := pbkdf2.Key(sha256.New, secret, salt, iterations, sha256.Size)
	if err != nil {
		panic(err) // only for invalid parameters, which are constants here
	}
	clientKey := hmacSum(salted, "Client Key")
	sk := sha256.Sum256(clientKey)
	return sk[:], hmacSum(salted, "Server Key")
}

func hmacSum(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

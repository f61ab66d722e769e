package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"testing"
)

// The client side, as the MySQL protocol documentation defines it.
func nativeScramble(pw string, salt []byte) []byte {
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(salt)
	h.Write(h2[:])
	out := make([]byte, sha1.Size)
	subtle.XORBytes(out, h1[:], h.Sum(nil))
	return out
}

func sha2Scramble(pw string, nonce []byte) []byte {
	h1 := sha256.Sum256([]byte(pw))
	h2 := sha256.Sum256(h1[:])
	h := sha256.New()
	h.Write(h2[:])
	h.Write(nonce)
	out := make([]byte, sha256.Size)
	subtle.XORBytes(out, h1[:], h.Sum(nil))
	return out
}

func TestMySQLScrambles(t *testing.T) {
	secret, other := NewSecret(), NewSecret()
	salt := []byte("12345678901234567890")
	if !CheckNativeScramble(MySQLNativeHash(secret), salt, nativeScramble(secret, salt)) {
		t.Error("native: right secret refused")
	}
	if CheckNativeScramble(MySQLNativeHash(secret), salt, nativeScramble(other, salt)) {
		t.Error("native: wrong secret accepted")
	}
	if !CheckSHA2Scramble(MySQLSHA2Hash(secret), salt, sha2Scramble(secret, salt)) {
		t.Error("sha2: right secret refused")
	}
	if CheckSHA2Scramble(MySQLSHA2Hash(secret), salt, sha2Scramble(other, salt)) {
		t.Error("sha2: wrong secret accepted")
	}
	if CheckNativeScramble(MySQLNativeHash(secret), salt, nil) || CheckSHA2Scramble(MySQLSHA2Hash(secret), salt, []byte("short")) {
		t.Error("malformed scramble accepted")
	}
}

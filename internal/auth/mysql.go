package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
)

// MySQLNativeHash is SHA1(SHA1(secret)), the verifier of
// mysql_native_password.
func MySQLNativeHash(secret string) []byte {
	h1 := sha1.Sum([]byte(secret))
	h2 := sha1.Sum(h1[:])
	return h2[:]
}

// MySQLSHA2Hash is SHA256(SHA256(secret)), the verifier of
// caching_sha2_password's fast authentication.
func MySQLSHA2Hash(secret string) []byte {
	h1 := sha256.Sum256([]byte(secret))
	h2 := sha256.Sum256(h1[:])
	return h2[:]
}

// CheckNativeScramble checks a mysql_native_password answer: the client
// sends SHA1(pw) XOR SHA1(salt || SHA1(SHA1(pw))).
func CheckNativeScramble(stored, salt, scramble []byte) bool {
	if len(stored) != sha1.Size || len(scramble) != sha1.Size {
		return false
	}
	h := sha1.New()
	h.Write(salt)
	h.Write(stored)
	mask := h.Sum(nil)
	h1 := make([]byte, sha1.Size)
	subtle.XORBytes(h1, scramble, mask)
	h2 := sha1.Sum(h1)
	return subtle.ConstantTimeCompare(h2[:], stored) == 1
}

// CheckSHA2Scramble checks a caching_sha2_password fast-path answer: the
// client sends SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || nonce), and
// stored is SHA256(SHA256(pw)).
func CheckSHA2Scramble(stored, nonce, scramble []byte) bool {
	if len(stored) != sha256.Size || len(scramble) != sha256.Size {
		return false
	}
	h := sha256.New()
	h.Write(stored)
	h.Write(nonce)
	mask := h.Sum(nil)
	h1 := make([]byte, sha256.Size)
	subtle.XORBytes(h1, scramble, mask)
	h2 := sha256.Sum256(h1)
	return subtle.ConstantTimeCompare(h2[:], stored) == 1
}

package airlock

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random opaque identifier with the given prefix
// ("s_", "tok_", "req_"...): 10 random characters, 50 bits.
func NewID(prefix string) string {
	var b [7]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:]))[:10]
}

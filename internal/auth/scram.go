package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ScramMechanism is the SASL mechanism name airlock offers.
const ScramMechanism = "SCRAM-SHA-256"

// ErrScramProof means the client's proof matched none of the verifiers.
var ErrScramProof = errors.New("scram: proof does not match")

// ScramVerifier is one acceptable credential: the StoredKey and ServerKey
// of a token, all computed with the same salt and iteration count.
type ScramVerifier struct {
	StoredKey, ServerKey []byte
}

// ScramServer runs the server side of one SCRAM-SHA-256 exchange (RFC 5802,
// RFC 7677) without channel binding.
type ScramServer struct {
	salt            []byte
	iterations      int
	clientFirstBare string
	serverFirst     string
	nonce           string
}

// NewScramServer starts an exchange for a user whose verifiers use salt and
// iterations.
func NewScramServer(salt []byte, iterations int) *ScramServer {
	return &ScramServer{salt: salt, iterations: iterations}
}

// First takes the client-first-message and returns the server-first-message.
func (s *ScramServer) First(clientFirst string) (string, error) {
	// gs2-header: "n,," or "y,," (client supports channel binding but we
	// did not offer it). "p=" asks for binding we never advertised.
	var rest string
	switch {
	case strings.HasPrefix(clientFirst, "n,"), strings.HasPrefix(clientFirst, "y,"):
		rest = clientFirst[2:]
	default:
		return "", errors.New("scram: unsupported channel binding")
	}
	authzid, bare, ok := strings.Cut(rest, ",")
	if !ok || authzid != "" {
		return "", errors.New("scram: malformed client-first-message")
	}
	var cnonce string
	for _, attr := range strings.Split(bare, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			cnonce = v
		}
		if strings.HasPrefix(attr, "m=") {
			return "", errors.New("scram: mandatory extension not supported")
		}
	}
	if cnonce == "" || strings.ContainsAny(cnonce, ",") {
		return "", errors.New("scram: missing client nonce")
	}
	var nb [18]byte
	rand.Read(nb[:])
	s.nonce = cnonce + base64.RawStdEncoding.EncodeToString(nb[:])
	s.clientFirstBare = bare
	s.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", s.nonce, base64.StdEncoding.EncodeToString(s.salt), s.iterations)
	return s.serverFirst, nil
}

// Final takes the client-final-message, checks its proof against every
// verifier and returns the index of the one that matched and the
// server-final-message to send. ErrScramProof means none matched.
func (s *ScramServer) Final(clientFinal string, verifiers []ScramVerifier) (int, string, error) {
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return -1, "", errors.New("scram: missing proof")
	}
	withoutProof, proofB64 := clientFinal[:i], clientFinal[i+3:]
	var binding, nonce string
	for _, attr := range strings.Split(withoutProof, ",") {
		switch {
		case strings.HasPrefix(attr, "c="):
			binding = attr[2:]
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		}
	}
	if nonce != s.nonce {
		return -1, "", errors.New("scram: nonce mismatch")
	}
	if binding != "biws" && binding != "eSws" { // base64("n,,") and base64("y,,")
		return -1, "", errors.New("scram: channel binding mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return -1, "", errors.New("scram: malformed proof")
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	match := -1
	for idx, v := range verifiers {
		sig := hmacSum(v.StoredKey, authMessage)
		clientKey := make([]byte, len(proof))
		subtle.XORBytes(clientKey, proof, sig)
		sum := sha256.Sum256(clientKey)
		if hmac.Equal(sum[:], v.StoredKey) && match < 0 {
			match = idx
		}
	}
	if match < 0 {
		return -1, "", ErrScramProof
	}
	serverSig := hmacSum(verifiers[match].ServerKey, authMessage)
	return match, "v=" + base64.StdEncoding.EncodeToString(serverSig), nil
}

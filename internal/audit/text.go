package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"airlock"
)

// truncateText bounds an event's statement text to max bytes (audit
// max_text_bytes): longer text is cut at a character boundary, and the
// event's detail keeps the whole text's size (text_bytes) and SHA-256
// (text_sha256), so that a huge statement cannot fill the audit while
// what ran can still be matched against a copy. max <= 0 keeps any text.
func truncateText(ev *airlock.Event, max int) {
	if max <= 0 || len(ev.Text) <= max {
		return
	}
	sum := sha256.Sum256([]byte(ev.Text))
	cut := max
	for cut > 0 && !utf8.RuneStart(ev.Text[cut]) {
		cut--
	}
	detail := make(map[string]string, len(ev.Detail)+2)
	for k, v := range ev.Detail {
		detail[k] = v
	}
	detail["text_bytes"] = strconv.Itoa(len(ev.Text))
	detail["text_sha256"] = hex.EncodeToString(sum[:])
	ev.Detail = detail
	ev.Text = ev.Text[:cut]
}

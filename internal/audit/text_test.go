package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"airlock"
)

func TestTruncateText(t *testing.T) {
	long := strings.Repeat("é", 300) // 600 bytes, two per character
	for _, tc := range []struct {
		name     string
		text     string
		max      int
		wantLen  int
		wantCut  bool
		existing map[string]string
	}{
		{name: "short kept", text: "SELECT 1", max: 256, wantLen: 8},
		{name: "no limit", text: long, max: 0, wantLen: 600},
		{name: "cut at a character boundary", text: long, max: 257, wantLen: 256, wantCut: true},
		{name: "detail kept", text: long, max: 300, wantLen: 300, wantCut: true, existing: map[string]string{"undo": "u1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &airlock.Event{Type: airlock.EventStatement, Text: tc.text, Detail: tc.existing}
			truncateText(ev, tc.max)
			if len(ev.Text) != tc.wantLen || !strings.HasPrefix(tc.text, ev.Text) {
				t.Fatalf("text of %d bytes, want a prefix of %d", len(ev.Text), tc.wantLen)
			}
			if !tc.wantCut {
				if ev.Detail["text_bytes"] != "" {
					t.Fatalf("detail of an untruncated text: %v", ev.Detail)
				}
				return
			}
			sum := sha256.Sum256([]byte(tc.text))
			if ev.Detail["text_bytes"] != "600" || ev.Detail["text_sha256"] != hex.EncodeToString(sum[:]) {
				t.Fatalf("detail = %v", ev.Detail)
			}
			for k, v := range tc.existing {
				if ev.Detail[k] != v {
					t.Fatalf("detail %s lost: %v", k, ev.Detail)
				}
			}
		})
	}
}

// TestAppendTruncatesText: the log stores text above MaxTextBytes
// truncated, and the chain verifies over the stored form.
func TestAppendTruncatesText(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	l, err := Open(ctx, st, Options{MaxTextBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ev := stmtEvent(1)
	ev.Text = "SELECT '" + strings.Repeat("x", 1<<20) + "'"
	tk, err := l.Append(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(ctx, tk); err != nil {
		t.Fatal(err)
	}
	evs, _ := st.ListEvents(ctx, airlock.EventFilter{})
	if len(evs) != 1 || len(evs[0].Text) != 1024 || evs[0].Detail["text_bytes"] != "1048585" {
		t.Fatalf("stored: %d events, text %d bytes, detail %v", len(evs), len(evs[0].Text), evs[0].Detail)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, st); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

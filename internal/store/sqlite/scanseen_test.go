package sqlite

import (
	"testing"
	"time"
)

func TestScanSeen(t *testing.T) {
	db := open(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i, k := range []string{"b", "a"} {
		if _, err := db.MarkSeen(t.Context(), k, at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := db.ScanSeen(t.Context(), func(key string, when time.Time) error {
		got = append(got, key+"@"+when.Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a@2026-01-02T03:04:06.000000006Z", "b@2026-01-02T03:04:05.000000006Z"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("scanned %v, want %v", got, want)
	}
}

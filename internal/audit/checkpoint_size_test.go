package audit

import (
	"strings"
	"testing"
)

// TestLastCheckpointLongLines: event lines of any size (here 70 MB, above
// any scanner buffer) are skipped, and the last checkpoint is found.
func TestLastCheckpointLongLines(t *testing.T) {
	big := `{"id":2,"text":"` + strings.Repeat("x", 70<<20) + `"}` + "\n"
	file := `{"id":1}` + "\n" +
		`{"checkpoint":{"id":1,"hash":"a","time":"2026-01-01T00:00:00Z"}}` + "\n" +
		big +
		`{"checkpoint":{"id":2,"hash":"b","time":"2026-01-01T00:00:00Z"}}` + "\n" +
		big
	cp, err := LastCheckpoint(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || cp.ID != 2 || cp.Hash != "b" {
		t.Fatalf("last checkpoint = %+v, want id 2", cp)
	}
}

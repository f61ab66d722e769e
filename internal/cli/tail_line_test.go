package cli

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// TestReadLineAnyLength: SSE lines longer than any buffer (a 20 MB event)
// are read whole; CRLF and a last line without an ending work.
func TestReadLineAnyLength(t *testing.T) {
	big := "data: " + strings.Repeat("x", 20<<20)
	br := bufio.NewReaderSize(strings.NewReader("id: 1\r\n"+big+"\n\nlast"), 64<<10)
	for _, want := range []string{"id: 1", big, "", "last"} {
		got, err := readLine(br)
		if err != nil || string(got) != want {
			t.Fatalf("readLine = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
	if _, err := readLine(br); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

package mysqlwire_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock/internal/testenv/mydb"
)

// heapWatch samples the process's heap while a test runs.
type heapWatch struct {
	base, baseSys uint64
	peak, peakSys uint64
	stop          chan struct{}
	done          sync.WaitGroup
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &heapWatch{base: ms.HeapInuse, baseSys: ms.Sys, peak: ms.HeapInuse, peakSys: ms.Sys, stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			w.peak = max(w.peak, ms.HeapInuse)
			w.peakSys = max(w.peakSys, ms.Sys)
		}
	}()
	return w
}

// growth stops the watch and returns the peak growth of HeapInuse and of
// the memory obtained from the OS (Sys).
func (w *heapWatch) growth() (heap, sys int64) {
	close(w.stop)
	w.done.Wait()
	return int64(w.peak) - int64(w.base), int64(w.peakSys) - int64(w.baseSys)
}

// TestStreamsLargeResults: a SELECT of 2 million rows streams through
// airlock: the gateway process's heap (measured in process, sampled every
// 20 ms with runtime.ReadMemStats; the client is the mariadb command, in
// its own process, reading with --quick) grows by far less than 50 MB.
func TestStreamsLargeResults(t *testing.T) {
	db := mydb.New(t)
	e := startEnv(t, db, envOptions{})
	tok := e.token("alice")
	host, port, _ := strings.Cut(e.addr, ":")
	w := watchHeap()
	cmd := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "alice", "--password="+tok, "--quick", "--batch",
		"-e", "SELECT seq, REPEAT('x', 40) AS pad, seq * 2 AS twice FROM seq_1_to_2000000", "app")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := 0
	var last string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines++
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mariadb: %v\n%s", err, stderr.String())
	}
	heap, sys := w.growth()
	t.Logf("2,000,000 rows in %s; peak growth: heap in use %.1f MB, memory from the OS %.1f MB", time.Since(start).Round(time.Millisecond), float64(heap)/1e6, float64(sys)/1e6)
	if lines != 2000001 || last != "2000000\t"+strings.Repeat("x", 40)+"\t4000000" {
		t.Fatalf("%d lines, last %q", lines, last)
	}
	if heap > 50<<20 || sys > 50<<20 {
		t.Fatalf("memory grew by %d bytes of heap, %d from the OS", heap, sys)
	}
	for _, ev := range e.events("alice") {
		if strings.HasPrefix(ev.Text, "SELECT seq") && ev.Rows != 2000000 {
			t.Errorf("audited %d rows", ev.Rows)
		}
	}
}

// TestLargePackets: packets of 16 MiB and more (split into several) go
// both ways: a blob written as a text query and as a prepared statement's
// parameter, and read back in the text and binary protocols, including a
// row of exactly 2^24-1 bytes (followed by an empty packet).
func TestLargePackets(t *testing.T) {
	db := mydb.New(t)
	root := mydb.Root(t, "")
	var old int64
	if err := root.QueryRow("SELECT @@GLOBAL.max_allowed_packet").Scan(&old); err != nil {
		t.Fatal(err)
	}
	if old < 64<<20 {
		if _, err := root.Exec("SET GLOBAL max_allowed_packet = 67108864"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mydb.Root(t, "").Exec("SET GLOBAL max_allowed_packet = ?", old) })
	}
	db.Exec("CREATE TABLE big (id int PRIMARY KEY, b longblob) ENGINE=InnoDB")
	// Statements up to 64 MiB (the default limit is 16 MiB).
	e := startEnv(t, db, envOptions{extra: "limits: {max_statement_bytes: 67108864}\n"})
	tok := e.token("wanda")
	sizes := map[int]int{1: 20 << 20, 2: 1<<24 - 5, 3: 1<<24 - 1, 4: 33 << 20}
	blobs := map[int][]byte{}
	for id, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + id)
		}
		blobs[id] = b
	}
	ctx := context.Background()
	text := mydb.Open(t, e.dsn("wanda", tok, "interpolateParams=true&maxAllowedPacket=0"))
	prep := mydb.Open(t, e.dsn("wanda", tok, "interpolateParams=false&maxAllowedPacket=0"))
	for id, b := range blobs {
		c := prep
		if id%2 == 0 {
			c = text // the query text itself is larger than a packet
		}
		if _, err := c.ExecContext(ctx, "INSERT INTO big VALUES (?, ?)", id, b); err != nil {
			t.Fatalf("insert %d bytes: %v", len(b), err)
		}
	}
	for id, b := range blobs {
		want := sha1.Sum(b)
		if got := db.QueryInt("SELECT LENGTH(b) FROM big WHERE id = ?", id); got != int64(len(b)) {
			t.Fatalf("stored %d bytes, want %d", got, len(b))
		}
		var got []byte
		if err := text.QueryRowContext(ctx, "SELECT b FROM big WHERE id = "+strconv.Itoa(id)).Scan(&got); err != nil || sha1.Sum(got) != want {
			t.Fatalf("text protocol, %d bytes: got %d, %v", len(b), len(got), err)
		}
		if err := prep.QueryRowContext(ctx, "SELECT b FROM big WHERE id = ?", id).Scan(&got); err != nil || sha1.Sum(got) != want {
			t.Fatalf("binary protocol, %d bytes: got %d, %v", len(b), len(got), err)
		}
	}
}

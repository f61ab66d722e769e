package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"
)

// TestMySQLStreamsTwoMillionRows: a SELECT of 2,000,000 rows streams
// through airlock. airlock runs in this test process; its memory is
// sampled every 20 ms with runtime.ReadMemStats while the mariadb client
// (its own process, --quick: no client-side buffering) reads the rows:
// the peak growth of HeapInuse and of Sys (memory obtained from the OS)
// over the value before the query must stay under 50 MB.
func TestMySQLStreamsTwoMillionRows(t *testing.T) {
	db := testenv.NewMyDB(t)
	a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info"})
	tok := a.Token("alice", 0)
	host, port := a.MyHostPort()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseSys := ms.HeapInuse, ms.Sys
	peakHeap, peakSys := baseHeap, baseSys
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&m)
			peakHeap, peakSys = max(peakHeap, m.HeapInuse), max(peakSys, m.Sys)
		}
	}()

	const query = "SELECT seq, REPEAT('x', 40) AS pad, seq * 2 AS twice FROM seq_1_to_2000000"
	cmd := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "alice", "--password="+tok, "--quick", "--batch", "-e", query, "app")
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
	lines, last := 0, ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines++
		last = sc.Text()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mariadb: %v\n%s", err, stderr.String())
	}
	close(stop)
	wg.Wait()
	heap, sys := int64(peakHeap)-int64(baseHeap), int64(peakSys)-int64(baseSys)
	t.Logf("2,000,000 rows in %s; peak growth: HeapInuse %.1f MB, Sys %.1f MB", time.Since(start).Round(time.Millisecond), float64(heap)/1e6, float64(sys)/1e6)
	if lines != 2000001 || last != "2000000\t"+strings.Repeat("x", 40)+"\t4000000" {
		t.Fatalf("%d lines, last %q", lines, last)
	}
	if heap > 50<<20 || sys > 50<<20 {
		t.Fatalf("memory grew by %d bytes (HeapInuse), %d bytes (Sys)", heap, sys)
	}
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.Text == query && ev.Rows == 2000000 {
			found = true
		}
	}
	if !found {
		t.Error("the audit lacks the query with its 2,000,000 rows")
	}
}

// TestMySQLLargePackets: values of more than 16 MiB (packets split in
// several) are written through airlock as a text query and as a prepared
// statement's parameter and read back in both protocols.
func TestMySQLLargePackets(t *testing.T) {
	db := testenv.NewMyDB(t)
	var old int64
	root := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, "", ""))
	if err := root.QueryRow("SELECT @@GLOBAL.max_allowed_packet").Scan(&old); err != nil {
		t.Fatal(err)
	}
	if old < 64<<20 {
		if _, err := root.Exec("SET GLOBAL max_allowed_packet = 67108864"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Exec("SET GLOBAL max_allowed_packet = ?", old) })
	}
	db.Exec("CREATE TABLE big (id int PRIMARY KEY, b longblob) ENGINE=InnoDB")
	// Statements up to 64 MiB (the default limit is 16 MiB).
	a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info", Extra: "limits: {max_statement_bytes: 67108864}\n"})
	tok := a.Token("wanda", 0)
	text := testenv.OpenMy(t, a.MyDSN("wanda", tok, "app", "interpolateParams=true&maxAllowedPacket=0"))
	prep := testenv.OpenMy(t, a.MyDSN("wanda", tok, "app", "interpolateParams=false&maxAllowedPacket=0"))
	blobs := map[int][]byte{}
	for id, n := range map[int]int{1: 17 << 20, 2: 20 << 20} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x21 + (i*31+id)%94) // text: the classifier reads only UTF-8
		}
		blobs[id] = b
	}
	if _, err := prep.Exec("INSERT INTO big VALUES (?, ?)", 1, blobs[1]); err != nil {
		t.Fatalf("prepared insert of 17 MiB: %v", err)
	}
	if _, err := text.Exec("INSERT INTO big VALUES (?, ?)", 2, blobs[2]); err != nil {
		t.Fatalf("text insert of 20 MiB: %v", err)
	}
	for id, b := range blobs {
		want := sha1.Sum(b)
		var got []byte
		if err := text.QueryRow("SELECT b FROM big WHERE id = ?", id).Scan(&got); err != nil || sha1.Sum(got) != want {
			t.Fatalf("text protocol, %d bytes: got %d, %v", len(b), len(got), err)
		}
		if err := prep.QueryRow("SELECT b FROM big WHERE id = ?", id).Scan(&got); err != nil || sha1.Sum(got) != want {
			t.Fatalf("binary protocol, %d bytes: got %d, %v", len(b), len(got), err)
		}
	}
}

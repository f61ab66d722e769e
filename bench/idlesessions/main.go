// Command idlesessions measures what idle sessions cost a running airlock:
// it reads the process's resident memory (/proc/PID/status) and Go memory
// statistics (/debug/pprof/heap?debug=1, after a GC) before and after it
// opens N connections with pgx (each runs SELECT 1, then stays idle), and
// prints the difference per session. It is run by bench/idle.sh.
//
//	go run ./bench/idlesessions -pid PID -pprof 127.0.0.1:26060 \
//	    -dsn 'postgres://reader:TOKEN@127.0.0.1:25432/bench?sslmode=disable' -n 1000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	pid := flag.Int("pid", 0, "airlock's process id")
	pprof := flag.String("pprof", "", "airlock's AIRLOCK_PPROF address")
	dsn := flag.String("dsn", "", "connection string through airlock")
	n := flag.Int("n", 1000, "sessions to open")
	par := flag.Int("parallel", 8, "connections opened at once")
	flag.Parse()
	if *pid == 0 || *pprof == "" || *dsn == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()

	// One session first, so that what every session shares (the
	// classifier's cache entry, pools, the first upstream connection's
	// buffers) is in the baseline.
	warm, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	mustSelect(ctx, warm)
	warm.Close(ctx)
	time.Sleep(500 * time.Millisecond)
	before := measure(*pid, *pprof)

	conns := make([]*pgx.Conn, *n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, *par)
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := pgx.Connect(ctx, *dsn)
			if err != nil {
				log.Fatalf("connection %d: %v", i, err)
			}
			mustSelect(ctx, c)
			conns[i] = c
		}()
	}
	wg.Wait()
	opened := time.Since(start)
	time.Sleep(time.Second)
	after := measure(*pid, *pprof)
	for _, c := range conns {
		c.Close(ctx)
	}

	fmt.Printf("%d idle sessions (opened in %.1fs, each ran SELECT 1)\n", *n, opened.Seconds())
	fmt.Printf("%-12s %12s %12s %12s\n", "", "before", "after", "per session")
	for _, k := range []string{"VmRSS", "HeapInuse", "HeapAlloc", "Stack", "Sys", "Goroutines"} {
		b, a := before[k], after[k]
		if k == "Goroutines" {
			fmt.Printf("%-12s %12.0f %12.0f %12.2f\n", k, b, a, (a-b)/float64(*n))
			continue
		}
		fmt.Printf("%-12s %8.0f KiB %8.0f KiB %8.2f KiB\n", k, b/1024, a/1024, (a-b)/1024/float64(*n))
	}
}

func mustSelect(ctx context.Context, c *pgx.Conn) {
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		log.Fatal(err)
	}
}

// measure returns the process's VmRSS and Go memory statistics, in bytes
// (Goroutines: a count).
func measure(pid int, pprof string) map[string]float64 {
	m := map[string]float64{}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			m["VmRSS"] = kb * 1024
		}
	}
	// gc=1 collects first, so that the heap figures are live memory.
	resp, err := http.Get("http://" + pprof + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// The MemStats lines at the end: "# HeapInuse = 123", "# Stack =
		// 123 / 456" (in use / obtained from the system).
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = "); ok {
			v, _, _ = strings.Cut(v, " ")
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				m[k] = f
			}
		}
	}
	io.Copy(io.Discard, resp.Body)
	g, err := http.Get("http://" + pprof + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		log.Fatal(err)
	}
	defer g.Body.Close()
	first, _ := bufio.NewReader(g.Body).ReadString('\n') // "goroutine profile: total N"
	if i := strings.LastIndexByte(strings.TrimSpace(first), ' '); i >= 0 {
		m["Goroutines"], _ = strconv.ParseFloat(strings.TrimSpace(first[i+1:]), 64)
	}
	return m
}

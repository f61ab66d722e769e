package mysqlwire_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"airlock/internal/mysqlwire"
	"airlock/internal/testenv/mydb"
)

// FuzzCommands sends an authenticated session arbitrary command packets
// (through the real MariaDB): airlock answers, denies, or closes the
// connection, and never panics. It needs MariaDB, like every test here;
// run it with
//
//	go test ./internal/mysqlwire -run '^$' -fuzz FuzzCommands -fuzztime 1m
func FuzzCommands(f *testing.F) {
	id := binary.LittleEndian.AppendUint32
	f.Add([]byte("\x03SELECT 1"))
	f.Add([]byte("\x03SELECT 1; DELETE FROM t"))
	f.Add([]byte("\x16SELECT ?"))
	f.Add(append(id([]byte{0x17}, 1), 0, 1, 0, 0, 0, 0, 1, 0xfe, 0, 1, 'x'))
	f.Add(append(id([]byte{0x17}, 1), 0xff, 0xff, 0xff, 0xff))
	f.Add(append(id([]byte{0x18}, 1), 0, 0, 'd', 'a', 't', 'a'))
	f.Add(id([]byte{0x19}, 1))
	f.Add(id([]byte{0x1a}, 1))
	f.Add(append(id([]byte{0x1c}, 1), 1, 0, 0, 0))
	f.Add([]byte("\x02app"))
	f.Add([]byte("\x04t\x00"))
	f.Add([]byte{0x1b, 0, 0})
	f.Add([]byte{0x1b, 0})
	f.Add([]byte{0x1f})
	f.Add([]byte{0x0e})
	f.Add([]byte{0x11, 'b', 'o', 'b', 0})
	f.Add([]byte("\x11wanda\x00\x00app\x00\x2d\x00mysql_native_password\x00"))
	f.Add([]byte("\x03LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t"))
	f.Add([]byte{0x0c, 1, 0, 0, 0})
	f.Add([]byte{0xfa, 1, 0, 0, 0})
	f.Add([]byte{})
	db := mydb.New(f)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
	e := startEnv(f, db, envOptions{})
	tok := e.token("alice")
	f.Fuzz(func(t *testing.T, cmd []byte) {
		r, err := mysqlwire.RawDial(e.addr, "alice", tok, "app", mysqlwire.CapDeprecateEOF|mysqlwire.CapMultiResults)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		// The command, then a marker whose answer shows that everything
		// before it was answered.
		if r.Send(cmd) != nil || r.Send([]byte("\x03SELECT 'fuzz-end-marker'")) != nil {
			return
		}
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			p, err := r.ReadWithin(time.Until(deadline))
			if err != nil || bytes.Contains(p, []byte("fuzz-end-marker")) {
				break
			}
		}
		if strings.Contains(e.logs.String(), "panic in connection") {
			t.Fatalf("panic:\n%s", e.logs.String())
		}
	})
}

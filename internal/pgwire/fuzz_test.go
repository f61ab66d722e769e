package pgwire

import (
	"testing"
)

// FuzzDecoders feeds arbitrary bodies to every message decoder.
func FuzzDecoders(f *testing.F) {
	f.Add(byte('P'), []byte("stmt\x00SELECT 1\x00\x00\x00"))
	f.Add(byte('B'), []byte("\x00stmt\x00\x00\x01\x00\x01\x00\x02\x00\x00\x00\x02hi\xff\xff\xff\xff\x00\x00"))
	f.Add(byte('B'), []byte("p\x00s\x00\x00\x00\x00\x01\x7f\xff\xff\xff"))
	f.Add(byte('D'), []byte("Sname\x00"))
	f.Add(byte('E'), []byte("portal\x00\x00\x00\x00\x00"))
	f.Add(byte('Q'), []byte("SELECT 1\x00"))
	f.Add(byte('s'), []byte("user\x00alice\x00database\x00app\x00\x00"))
	f.Add(byte('C'), []byte("INSERT 0 5\x00"))
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		switch typ % 7 {
		case 0:
			decodeParse(body)
		case 1:
			m, err := decodeBind(body, true)
			if err == nil && len(m.params) > 0xffff {
				t.Fatal("more parameters than the protocol allows")
			}
		case 2:
			decodeTarget(body)
		case 3:
			decodeExecute(body)
		case 4:
			decodeQuery(body)
		case 5:
			parseStartupParams(body)
		case 6:
			if n := commandRows(body); n < 0 {
				t.Fatalf("negative rows %d", n)
			}
		}
	})
}

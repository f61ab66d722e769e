package codec

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"airlock"
)

// FuzzEventJSON checks AppendEventJSON against encoding/json: both must
// decode to the same event.
func FuzzEventJSON(f *testing.F) {
	f.Add("select 1", "p", "k", "v", 0.25, int64(3), int64(1700000000123456789))
	f.Add("\x00\"\\\n\r\t\x1f\x7f", "\xff\xfe", "\u2028", "<&>", math.NaN(), int64(-1), int64(0))
	f.Add("ünï 🦆 \xc3(", "", "", "", math.Inf(1), int64(math.MinInt64), int64(math.MaxInt64))
	f.Add("x", "y", "z", "w", 1e-7, int64(0), int64(-62135596800000000))
	f.Add("", "", "", "", 1e21, int64(1), int64(253402300799999999))
	f.Fuzz(func(t *testing.T, text, param, key, val string, dur float64, rows, nanos int64) {
		e := &airlock.Event{
			ID: rows, Time: time.Unix(0, nanos).In(time.FixedZone("X", 5400)), Type: text, Action: param,
			User: key, Text: text, Tables: []string{param}, Warnings: []string{}, Rows: rows,
			DurationMS: dur, Params: []string{text, param}, Detail: map[string]string{key: val, val: key},
			PrevHash: val, Hash: key,
		}
		var got airlock.Event
		data := AppendEventJSON(nil, e)
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		norm := *e
		norm.Time = e.Time.UTC()
		if math.IsNaN(dur) || math.IsInf(dur, 0) {
			norm.DurationMS = 0
		}
		ref, err := json.Marshal(&norm)
		if err != nil {
			t.Fatal(err)
		}
		var want airlock.Event
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("AppendEventJSON decodes to\n%+v\nencoding/json to\n%+v", got, want)
		}
	})
}

package seglog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/store/codec"
)

// memStore is an in-memory inner store that can be told to refuse.
type memStore struct {
	mu    sync.Mutex
	evs   []*airlock.Event
	fail  error
	calls int
	delay time.Duration
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

func (m *memStore) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return m.fail
	}
	for _, e := range evs {
		if n := len(m.evs); n > 0 && m.evs[n-1].ID >= e.ID {
			return airlock.Errorf(airlock.ECONFLICT, "event %d already exists", e.ID)
		}
		c := *e
		m.evs = append(m.evs, &c)
	}
	return nil
}

func (m *memStore) LastEvent(ctx context.Context) (*airlock.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.evs) == 0 {
		return nil, nil
	}
	c := *m.evs[len(m.evs)-1]
	return &c, nil
}

func (m *memStore) ListEvents(ctx context.Context, f airlock.EventFilter) ([]*airlock.Event, error) {
	var out []*airlock.Event
	err := m.ScanEvents(ctx, f, func(e *airlock.Event) error { out = append(out, e); return nil })
	return out, err
}

func (m *memStore) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	m.mu.Lock()
	evs := slices.Clone(m.evs)
	m.mu.Unlock()
	for _, e := range evs {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) ids() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []int64
	for _, e := range m.evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// chain gives evs IDs after head and chains them as the audit writer does.
func chain(head *airlock.Event, evs ...*airlock.Event) *airlock.Event {
	var id int64
	var prev string
	if head != nil {
		id, prev = head.ID, head.Hash
	}
	for _, e := range evs {
		id++
		e.ID, e.PrevHash = id, prev
		e.Hash = audit.ChainHash(prev, e)
		prev = e.Hash
	}
	return evs[len(evs)-1]
}

func event(i int) *airlock.Event {
	return &airlock.Event{Time: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC), Type: airlock.EventStatement, Action: airlock.ActionExecuted,
		User: "alice", SessionID: "s_1", Text: fmt.Sprintf("SELECT %d", i)}
}

// appendN appends n events in batches of per, returning the new head.
func appendN(t *testing.T, l *Log, head *airlock.Event, n, per int) *airlock.Event {
	t.Helper()
	for i := 0; i < n; i += per {
		var batch []*airlock.Event
		for j := i; j < min(n, i+per); j++ {
			batch = append(batch, event(j))
		}
		head = chain(head, batch...)
		if err := l.AppendEvents(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	return head
}

func open(t *testing.T, dir string, inner airlock.EventStore, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, inner, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func wantIDs(t *testing.T, got []int64, first, last int64) {
	t.Helper()
	var want []int64
	for id := first; id <= last; id++ {
		want = append(want, id)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %d..%d", got, first, last)
	}
}

// fullEvent sets every field of airlock.Event (found by reflection, so a
// field added later is covered) to a value different from its zero.
func fullEvent(t *testing.T) *airlock.Event {
	ev := &airlock.Event{}
	v := reflect.ValueOf(ev).Elem()
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if f.Type == reflect.TypeOf(time.Time{}) {
			fv.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
			continue
		}
		switch f.Type.Kind() {
		case reflect.String:
			fv.SetString("x-" + f.Name + " \"é\" <&>\n")
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fv.SetInt(7)
		case reflect.Float32, reflect.Float64:
			fv.SetFloat(1.25)
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]string{"a", "b"}).Convert(f.Type))
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"k": "v", "k2": ""}).Convert(f.Type))
		default:
			t.Fatalf("Event.%s: no test value for %s", f.Name, f.Type)
		}
		if fv.IsZero() {
			t.Fatalf("Event.%s still zero", f.Name)
		}
	}
	return ev
}

// TestEveryFieldRoundTrips: an event with every field set reaches the inner
// store equal to what was appended, both handed over from memory and read
// back from a segment at recovery.
func TestEveryFieldRoundTrips(t *testing.T) {
	ev := fullEvent(t)
	chain(nil, ev)
	want := *ev

	dir := t.TempDir()
	inner := &memStore{}
	l := open(t, dir, inner, Options{})
	if err := l.AppendEvents(context.Background(), []*airlock.Event{ev}); err != nil {
		t.Fatal(err)
	}
	got, err := l.ListEvents(context.Background(), airlock.EventFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("list: %v %v", got, err)
	}
	if !reflect.DeepEqual(*got[0], want) {
		t.Errorf("from memory:\n got %+v\nwant %+v", *got[0], want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Through a segment: the inner store refuses until the log is closed.
	dir = t.TempDir()
	inner = &memStore{fail: errors.New("down")}
	l = open(t, dir, inner, Options{FlushTimeout: time.Millisecond})
	ev2 := want
	if err := l.AppendEvents(context.Background(), []*airlock.Event{&ev2}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err == nil {
		t.Fatal("Close reported every event indexed while the store refused them")
	}
	inner.setFail(nil)
	l = open(t, dir, inner, Options{})
	defer l.Close()
	got, _ = inner.ListEvents(context.Background(), airlock.EventFilter{})
	if len(got) != 1 || !reflect.DeepEqual(*got[0], want) {
		t.Errorf("from a segment:\n got %+v\nwant %+v", got, want)
	}
	if last, _ := l.LastEvent(context.Background()); last == nil || !reflect.DeepEqual(*last, want) {
		t.Errorf("LastEvent after recovery: %+v", last)
	}
}

// closedWithSegment appends n events in batches of per while the inner store
// refuses them, and closes: the segments keep every event.
func closedWithSegment(t *testing.T, dir string, n, per int, opts Options) *airlock.Event {
	t.Helper()
	opts.FlushTimeout = time.Millisecond
	l := open(t, dir, &memStore{fail: errors.New("down")}, opts)
	head := appendN(t, l, nil, n, per)
	l.Close()
	return head
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	for _, p := range segments(t, from) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTornTailIsCut: a segment cut at any byte of its last record recovers
// every earlier event, and appends go on after them.
func TestTornTailIsCut(t *testing.T) {
	src := t.TempDir()
	closedWithSegment(t, src, 5, 1, Options{})
	segs := segments(t, src)
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	full, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Where the last record starts.
	var lastStart int64
	if err := readRecords(segs[0], 0, int64(len(full)), func(ev *airlock.Event, end int64) bool {
		if ev.ID == 4 {
			lastStart = end
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if lastStart == 0 {
		t.Fatal("no event 4")
	}
	for cut := lastStart; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(segs[0])), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		inner := &memStore{}
		l, err := Open(context.Background(), dir, inner, Options{})
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		wantIDs(t, inner.ids(), 1, 4)
		head, _ := l.LastEvent(context.Background())
		if head == nil || head.ID != 4 {
			t.Fatalf("cut at %d: head %+v", cut, head)
		}
		appendN(t, l, head, 1, 1)
		if _, err := l.ListEvents(context.Background(), airlock.EventFilter{}); err != nil {
			t.Fatal(err)
		}
		wantIDs(t, inner.ids(), 1, 5)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A tail of zeros (a file extended but never written) is a torn tail too.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(segs[0])), append(slices.Clone(full), make([]byte, 100)...), 0o600); err != nil {
		t.Fatal(err)
	}
	inner := &memStore{}
	l := open(t, dir, inner, Options{})
	wantIDs(t, inner.ids(), 1, 5)
	l.Close()
}

// TestCorruptMiddleRefusesToStart: a damaged record followed by good ones,
// or at the end of a segment that newer ones follow, stops Open with the
// file and offset named.
func TestCorruptMiddleRefusesToStart(t *testing.T) {
	src := t.TempDir()
	closedWithSegment(t, src, 3, 1, Options{})
	seg := segments(t, src)[0]
	full, _ := os.ReadFile(seg)
	var second int64 // offset of the second record
	readRecords(seg, 0, int64(len(full)), func(ev *airlock.Event, end int64) bool {
		if ev.ID == 1 {
			second = end
		}
		return true
	})
	for _, at := range []int64{second + 2, second + headerBytes + 10} { // its length, its payload
		dir := t.TempDir()
		b := slices.Clone(full)
		b[at] ^= 0x55
		os.WriteFile(filepath.Join(dir, filepath.Base(seg)), b, 0o600)
		_, err := Open(context.Background(), dir, &memStore{}, Options{})
		if err == nil || !strings.Contains(err.Error(), filepath.Base(seg)) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", second)) || !strings.Contains(err.Error(), "refusing to start") {
			t.Errorf("byte %d damaged: %v", at, err)
		}
	}

	// The last record of an older segment.
	src = t.TempDir()
	closedWithSegment(t, src, 6, 1, Options{SegmentBytes: int64(second) * 2})
	segs := segments(t, src)
	if len(segs) < 2 {
		t.Fatalf("no rotation: %v", segs)
	}
	old, _ := os.ReadFile(segs[0])
	old = old[:len(old)-3]
	dir := t.TempDir()
	copyDir(t, src, dir)
	os.WriteFile(filepath.Join(dir, filepath.Base(segs[0])), old, 0o600)
	if _, err := Open(context.Background(), dir, &memStore{}, Options{}); err == nil || !strings.Contains(err.Error(), filepath.Base(segs[0])) {
		t.Errorf("torn older segment: %v", err)
	}
}

// TestRecoveryChecksTheChain: events that do not follow the store's head
// refuse to start.
func TestRecoveryChecksTheChain(t *testing.T) {
	dir := t.TempDir()
	closedWithSegment(t, dir, 3, 1, Options{})
	other := &airlock.Event{Type: "system", Action: "x"}
	chain(nil, other)
	other.Hash = "not-the-hash-event-2-links-to"
	inner := &memStore{evs: []*airlock.Event{other}}
	if _, err := Open(context.Background(), dir, inner, Options{}); err == nil || !strings.Contains(err.Error(), "chain would break") {
		t.Fatalf("Open: %v", err)
	}
	// With the right head, events 2 and 3 are replayed.
	l := open(t, t.TempDir(), &memStore{}, Options{})
	l.Close()
	first := event(0)
	chain(nil, first)
	inner = &memStore{evs: []*airlock.Event{first}}
	l = open(t, dir, inner, Options{})
	defer l.Close()
	wantIDs(t, inner.ids(), 1, 3)
}

// TestRotationAndDeletion: segments start at the size bound, are named by
// their first event, and go once the store has every event of theirs.
func TestRotationAndDeletion(t *testing.T) {
	dir := t.TempDir()
	inner := &memStore{fail: errors.New("down")}
	l := open(t, dir, inner, Options{SegmentBytes: 2000})
	head := appendN(t, l, nil, 60, 3)
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("segments: %v", segs)
	}
	if filepath.Base(segs[0]) != fmt.Sprintf("%020d.seg", 1) {
		t.Errorf("first segment %s", segs[0])
	}
	for _, p := range segs {
		b, _ := os.ReadFile(p)
		if len(b) > 2000 {
			t.Errorf("%s: %d bytes", p, len(b))
		}
		var first int64
		readRecords(p, 0, int64(len(b)), func(ev *airlock.Event, _ int64) bool { first = ev.ID; return false })
		if filepath.Base(p) != fmt.Sprintf("%020d.seg", first) {
			t.Errorf("%s starts with event %d", p, first)
		}
	}
	inner.setFail(nil)
	if _, err := l.ListEvents(context.Background(), airlock.EventFilter{}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, 60)
	if segs := segments(t, dir); len(segs) != 1 {
		t.Errorf("after indexing: %v", segs)
	}
	appendN(t, l, head, 30, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, 90)
	if segs := segments(t, dir); len(segs) != 0 {
		t.Errorf("after Close: %v", segs)
	}
}

// TestInnerFailureBoundsTheBacklog: while the store refuses, appends go on
// until the bound, then fail; when the store is back, it gets every event
// in order and appends work again.
func TestInnerFailureBoundsTheBacklog(t *testing.T) {
	dir := t.TempDir()
	inner := &memStore{fail: errors.New("store down")}
	l := open(t, dir, inner, Options{MaxBacklog: 8 << 10, MemoryBytes: 2 << 10, SegmentBytes: 3 << 10})
	defer l.Close()
	var head *airlock.Event
	var err error
	n := 0
	for ; n < 10000; n++ {
		ev := event(n)
		prev := head
		chain(head, ev)
		if err = l.AppendEvents(context.Background(), []*airlock.Event{ev}); err != nil {
			head = prev
			break
		}
		head = ev
	}
	if err == nil || airlock.ErrorCode(err) != airlock.EUNAVAILABLE || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("after %d events: %v", n, err)
	}
	if l.Err() == nil {
		t.Error("Err is nil over the bound")
	}
	if b := l.Backlog(); b <= 8<<10 || b > 9<<10 {
		t.Errorf("backlog %d", b)
	}
	if segs := segments(t, dir); len(segs) < 3 {
		t.Fatalf("segments: %v", segs)
	}
	inner.setFail(nil)
	if _, err := l.ListEvents(context.Background(), airlock.EventFilter{}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, int64(n))
	if segs := segments(t, dir); len(segs) != 1 {
		t.Errorf("after indexing from the segments: %v", segs)
	}
	head = appendN(t, l, head, 10, 2)
	if _, err := l.ListEvents(context.Background(), airlock.EventFilter{}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, head.ID)
	if l.Err() != nil {
		t.Error(l.Err())
	}
}

// TestReadersSeeWhatIsDurable: a listing right after an append holds the
// event, although the store takes it later.
func TestReadersSeeWhatIsDurable(t *testing.T) {
	inner := &memStore{delay: 20 * time.Millisecond}
	l := open(t, t.TempDir(), inner, Options{})
	defer l.Close()
	var head *airlock.Event
	for i := range 5 {
		head = appendN(t, l, head, 1, 1)
		var seen []int64
		err := l.ScanEvents(context.Background(), airlock.EventFilter{}, func(e *airlock.Event) error { seen = append(seen, e.ID); return nil })
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, seen, 1, int64(i+1))
		last, _ := l.LastEvent(context.Background())
		if last.ID != head.ID || last.Hash != head.Hash {
			t.Fatalf("LastEvent %d, head %d", last.ID, head.ID)
		}
	}
}

// TestFailedSyncCutsBack: a failed fdatasync leaves nothing of the batch in
// the segment; the next batch and a recovery see only acknowledged events.
func TestFailedSyncCutsBack(t *testing.T) {
	dir := t.TempDir()
	inner := &memStore{fail: errors.New("down")}
	l := open(t, dir, inner, Options{FlushTimeout: time.Millisecond})
	head := appendN(t, l, nil, 3, 1)
	segs := segments(t, dir)
	before, _ := os.Stat(segs[0])
	failing := true
	l.sync = func(f *os.File) error {
		if failing {
			failing = false
			return errors.New("EIO")
		}
		return datasync(f)
	}
	bad := []*airlock.Event{event(10), event(11)}
	chain(head, bad...)
	if err := l.AppendEvents(context.Background(), bad); err == nil {
		t.Fatal("a failed sync was acknowledged")
	}
	after, _ := os.Stat(segs[0])
	if after.Size() != before.Size() {
		t.Errorf("segment %d bytes after the failed batch, %d before", after.Size(), before.Size())
	}
	if last, _ := l.LastEvent(context.Background()); last.ID != 3 {
		t.Errorf("head %d after a failed batch", last.ID)
	}
	// The writer retries the same events.
	if err := l.AppendEvents(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	l.Close()
	inner.setFail(nil)
	l = open(t, dir, inner, Options{})
	defer l.Close()
	wantIDs(t, inner.ids(), 1, 5)
}

// TestOneLogPerDirectory: a second Open of a directory in use fails.
func TestOneLogPerDirectory(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, &memStore{}, Options{})
	if _, err := Open(context.Background(), dir, &memStore{}, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	l.Close()
	l = open(t, dir, &memStore{}, Options{})
	l.Close()
}

// TestAppendRefusesOldIDs: events at or below the head are refused, as a
// store refuses an event that exists.
func TestAppendRefusesOldIDs(t *testing.T) {
	l := open(t, t.TempDir(), &memStore{}, Options{})
	defer l.Close()
	head := appendN(t, l, nil, 2, 2)
	again := *head
	if err := l.AppendEvents(context.Background(), []*airlock.Event{&again}); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("append of event %d again: %v", head.ID, err)
	}
}

// TestRecordJSONIsEncodingJSON: a record's payload decodes to what
// encoding/json's form of the event decodes to, for odd text too.
func TestRecordJSONIsEncodingJSON(t *testing.T) {
	full := fullEvent(t)
	odd := &airlock.Event{ID: 3, Text: "a\x00b\x1f\"\\\u2028\xff\xfe<>&é", Detail: map[string]string{"\xff": "\t"}, DurationMS: 1e-7, Rows: -5,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}
	for _, ev := range []*airlock.Event{full, odd, {}} {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var a, b airlock.Event
		if err := json.Unmarshal(want, &a); err != nil {
			t.Fatal(err)
		}
		got := codec.AppendEventJSON(nil, ev)
		if err := json.Unmarshal(got, &b); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		a.Time, b.Time = a.Time.UTC(), b.Time.UTC()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}

// TestSlowStoreSlowsAppends: over the backlog bound, appends wait for a
// store that takes events (backpressure) instead of failing.
func TestSlowStoreSlowsAppends(t *testing.T) {
	inner := &memStore{delay: 2 * time.Millisecond}
	l := open(t, t.TempDir(), inner, Options{MaxBacklog: 2 << 10, IndexBatch: 2, IndexDelay: time.Millisecond})
	defer l.Close()
	head := appendN(t, l, nil, 200, 1)
	if b := l.Backlog(); b > 3<<10 {
		t.Errorf("backlog %d over the bound", b)
	}
	if _, err := l.ListEvents(context.Background(), airlock.EventFilter{}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, head.ID)
}

// TestFailedFirstWriteOfASegment: a batch that fails as the first of its
// segment leaves the segment empty; the retry writes into it.
func TestFailedFirstWriteOfASegment(t *testing.T) {
	dir := t.TempDir()
	inner := &memStore{}
	l := open(t, dir, inner, Options{})
	fails := 1
	l.sync = func(f *os.File) error {
		if fails > 0 {
			fails--
			return errors.New("EIO")
		}
		return datasync(f)
	}
	evs := []*airlock.Event{event(1), event(2)}
	head := chain(nil, evs...)
	if err := l.AppendEvents(context.Background(), evs); err == nil {
		t.Fatal("a failed sync was acknowledged")
	}
	if last, _ := l.LastEvent(context.Background()); last != nil {
		t.Fatalf("head %+v after a failed first batch", last)
	}
	segs := segments(t, dir)
	if fi, err := os.Stat(segs[0]); len(segs) != 1 || err != nil || fi.Size() != 0 {
		t.Fatalf("segments %v: %v %v", segs, fi, err)
	}
	if err := l.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := segments(t, dir); !slices.Equal(got, segs) {
		t.Errorf("segments %v, want %v", got, segs)
	}
	appendN(t, l, head, 3, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, inner.ids(), 1, 5)
}

// TestSegmentThatCannotBeCutBack: when a failed write cannot be undone
// either, the log refuses every later append instead of writing after it.
func TestSegmentThatCannotBeCutBack(t *testing.T) {
	l := open(t, t.TempDir(), &memStore{}, Options{})
	defer l.Close()
	head := appendN(t, l, nil, 2, 1)
	l.sync = func(*os.File) error { return errors.New("EIO") }
	evs := []*airlock.Event{event(3)}
	chain(head, evs...)
	if err := l.AppendEvents(context.Background(), evs); err == nil {
		t.Fatal("a failed sync was acknowledged")
	}
	l.sync = datasync
	if err := l.AppendEvents(context.Background(), evs); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("append after a failed cut: %v", err)
	}
	if err := l.Err(); err == nil {
		t.Error("Err is nil for a log that refuses appends")
	}
}

// Package seglog is an append-only, checksummed log of audit events in
// segment files, in front of an event store (the embedded SQLite store).
// The same log carries changes to undo records (AppendUndo), in order with
// the events, so that capturing a write's undo data costs a write to the
// segment instead of a database commit: they become durable with the next
// sync (the statement's own events, at the latest the COMMIT's) and reach
// the inner store in the same transactions as the events around them.
//
// AppendEvents makes a batch durable with one write and one fdatasync of the
// current segment, which costs far less than a database commit; a background
// indexer hands the durable events, in order and in large batches, to the
// inner store, and deletes segments whose every event the inner store holds.
// Readers wait until the indexer has caught up with the head they asked
// about, so they see everything durable. When the inner store refuses
// events, the indexer retries; while the events it has not taken exceed a
// bound, AppendEvents fails (the audit log then denies statements), so audit
// space cannot be exhausted.
//
// A segment is named by its first event's ID (%020d.seg) and holds records
//
//	[length u32 LE][crc32c of the payload u32 LE][payload: the event's JSON]
//
// or, for a change to undo records, a payload of 'U' followed by the
// change's JSON (an event's JSON starts with '{').
//
// Open recovers: a torn or corrupt record at the tail of the newest segment
// is cut away (it was never acknowledged), a corrupt record followed by good
// ones refuses to start, and events the inner store lacks are replayed into
// it before Open returns.
package seglog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/store/codec"
)

// Options tune the log. Zero values take the defaults.
type Options struct {
	// SegmentBytes is the size after which a new segment is started;
	// default 64 MiB. A batch larger than it makes one larger segment.
	SegmentBytes int64
	// MaxBacklog bounds the bytes of durable events the inner store has not
	// taken yet; above it AppendEvents waits for the indexer (at most
	// ReadWait) while the inner store takes events, and fails while it
	// refuses them. Default 256 MiB.
	MaxBacklog int64
	// MemoryBytes bounds the events kept in memory for the indexer; beyond
	// it the indexer reads them back from the segments. Default 16 MiB.
	MemoryBytes int64
	// IndexBatch is the most events handed to the inner store at once;
	// default 4096.
	IndexBatch int
	// IndexDelay is how long the indexer waits for more events before it
	// hands what it has to the inner store, unless a reader waits or a
	// full batch is there; default 100 ms. Each hand-over is a commit of
	// the inner store: fewer, larger ones cost less per event.
	IndexDelay time.Duration
	// ReadWait bounds how long ListEvents and ScanEvents, and appends
	// over MaxBacklog, wait for the indexer before they fail; default 10 s.
	ReadWait time.Duration
	// FlushTimeout bounds how long Close waits for the indexer; default
	// 10 s. Events not indexed by then are replayed at the next Open.
	FlushTimeout time.Duration
	Logger       *slog.Logger
}

const (
	headerBytes = 8
	suffix      = ".seg"
	lockName    = "LOCK"
	// maxRecord bounds one record's payload: a length above it is
	// corruption, not an event.
	maxRecord = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrLocked is returned (wrapped) by Open while another Log, in this
// process or another, holds the directory.
var ErrLocked = errors.New("the audit segment log is in use")

// segment is one file of the log.
type segment struct {
	first int64 // ID of its first event; its name
	path  string
	size  int64 // bytes durable
	// events: the segment holds an event (a segment that holds only undo
	// changes is named after the event that comes next, and takes it).
	events bool
}

// item is one record of the log: an event, or a change to undo records.
type item struct {
	ev *airlock.Event
	ch *airlock.UndoChange
}

// entry is a record kept in memory for the indexer.
type entry struct {
	item
	seg *segment
	end int64 // offset in seg just past the record
	n   int64 // bytes of its record
}

// UndoIndexer is an inner store that keeps undo records: it takes the
// undo changes logged among a batch of events in the same transaction as
// the events (sqlite.DB).
type UndoIndexer interface {
	IndexEvents(ctx context.Context, evs []*airlock.Event, changes []*airlock.UndoChange) error
}

// undoMark starts the payload of an undo change's record.
const undoMark = 'U'

// syncLater is how soon changes to undo records that no append took are
// written and synced by themselves.
const syncLater = 10 * time.Millisecond // Log.syncLater

// undoRec is a queued change to undo records and its encoded record.
type undoRec struct {
	ch  *airlock.UndoChange
	rec []byte
}

// Log is the segment log. It implements airlock.EventStore and is safe for
// concurrent use.
type Log struct {
	dir   string
	inner airlock.EventStore
	opts  Options
	log   *slog.Logger
	lock  *os.File

	// wmu serializes appends; the fields under it belong to the writer.
	wmu sync.Mutex
	f   *os.File // the current segment, open for writing; nil: start one
	buf []byte
	// sync makes a segment's data durable (a test replaces it).
	sync func(*os.File) error
	// umu guards undoQ, the changes to undo records waiting to be
	// written: by the next AppendEvents, ahead of its events, or by
	// writeUndo when syncTimer fires (syncArmed: it is set).
	umu       sync.Mutex
	undoQ     []undoRec
	syncTimer *time.Timer
	syncArmed bool
	syncLater time.Duration
	undo      UndoIndexer // the inner store, when it keeps undo records

	mu       sync.Mutex
	cond     *sync.Cond
	segs     []*segment // oldest first; the indexer's cursor is in segs[0]
	cursor   int64      // offset in segs[0] up to which the inner store has the events
	head     *airlock.Event
	indexed  int64 // ID of the newest event the inner store has
	pending  []entry
	memBytes int64
	spilled  bool  // events after pending are on disk only
	idxErr   error // the inner store's last refusal, nil once it takes events again
	broken   error // a segment that could not be cut back: no more appends
	closed   bool
	stopped  bool // the indexer has stopped (after closed)

	kick chan struct{} // events to index
	// urgent cuts the indexer's wait short: a reader waits, or a full
	// batch is there.
	urgent  chan struct{}
	readers atomic.Int32 // readers waiting for the indexer
	quit    chan struct{}
	done    chan struct{}
	// deadline is when a closing indexer gives up (set before quit closes).
	deadline time.Time
}

// Open opens (creating) the log in dir in front of inner, recovers it and
// replays into inner the events it lacks. Only one Log may use dir at a
// time; a second Open fails while the first holds it.
func Open(ctx context.Context, dir string, inner airlock.EventStore, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.MaxBacklog <= 0 {
		opts.MaxBacklog = 256 << 20
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = 16 << 20
	}
	if opts.IndexBatch <= 0 {
		opts.IndexBatch = 4096
	}
	if opts.IndexDelay <= 0 {
		opts.IndexDelay = 100 * time.Millisecond
	}
	if opts.ReadWait <= 0 {
		opts.ReadWait = 10 * time.Second
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit segment log: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("audit segment log %s: %w", dir, err)
	}
	l := &Log{
		dir: dir, inner: inner, opts: opts, log: opts.Logger, lock: lock,
		sync: datasync, syncLater: syncLater,
		kick: make(chan struct{}, 1), urgent: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	l.cond = sync.NewCond(&l.mu)
	l.undo, _ = inner.(UndoIndexer)
	if err := l.recover(ctx); err != nil {
		lock.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Err returns why AppendEvents would fail now (nil when it would not):
// the inner store refuses events and the backlog is over the bound, or a
// segment could not be repaired.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refuseLocked()
}

// refuseLocked is the error AppendEvents returns at once, or nil.
func (l *Log) refuseLocked() error {
	if l.closed {
		return errors.New("audit segment log is closed")
	}
	if l.broken != nil {
		return l.broken
	}
	if b := l.backlogLocked(); b > l.opts.MaxBacklog && l.idxErr != nil {
		return airlock.Errorf(airlock.EUNAVAILABLE, "audit segment log: %d bytes of events wait for the store, over the bound of %d; the store refuses them: %v", b, l.opts.MaxBacklog, l.idxErr)
	}
	return nil
}

// admitLocked returns nil when a batch may be written: at once under the
// backlog bound; over it, once the indexer brought the backlog under it
// (backpressure, as a store slower than the sessions gives), unless the
// inner store refuses events or ReadWait passes.
func (l *Log) admitLocked(ctx context.Context) error {
	if err := l.refuseLocked(); err != nil {
		return err
	}
	if l.backlogLocked() <= l.opts.MaxBacklog {
		return nil
	}
	ctx, stop := l.waitContext(ctx)
	defer stop()
	signal(l.urgent)
	for l.backlogLocked() > l.opts.MaxBacklog {
		if err := l.refuseLocked(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return airlock.Errorf(airlock.EUNAVAILABLE, "audit segment log: %d bytes of events wait for the store, over the bound of %d: %v", l.backlogLocked(), l.opts.MaxBacklog, err)
		}
		l.cond.Wait()
	}
	return nil
}

// backlogLocked is the bytes of durable events the inner store lacks.
func (l *Log) backlogLocked() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n - l.cursor
}

// Backlog returns the bytes of durable events the inner store lacks.
func (l *Log) Backlog() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.backlogLocked()
}

// AppendEvents makes evs durable: one write and one fdatasync of the
// current segment. Events arrive chained, with IDs above the head's; it
// fails with ECONFLICT, writing nothing, when one is not. On a failed
// write or sync the segment is cut back to its last durable size.
//
// The indexer hands these same events to the inner store later (or, past
// MemoryBytes, what it reads back from the segment): they must not change
// once appended, as the audit log never changes a chained event (its live
// subscribers share them too).
func (l *Log) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(evs, byID) {
		evs = slices.Clone(evs)
		slices.SortStableFunc(evs, byID)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	err := l.admitLocked(ctx)
	var headID int64
	if l.head != nil {
		headID = l.head.ID
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if evs[0].ID <= headID {
		return airlock.Errorf(airlock.ECONFLICT, "event %d already exists", evs[0].ID)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID == evs[i-1].ID {
			return airlock.Errorf(airlock.ECONFLICT, "event %d appears twice", evs[i].ID)
		}
	}

	// Encode every record into one buffer, the queued undo changes first.
	undoQ := l.takeUndo()
	written := false
	defer func() {
		if !written {
			l.requeueUndo(undoQ)
		}
	}()
	buf := l.buf[:0]
	for _, u := range undoQ {
		buf = append(buf, u.rec...)
	}
	nu := len(buf)
	ends := make([]int, len(evs))
	for i, ev := range evs {
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // the header, below
		buf = codec.AppendEventJSON(buf, ev)
		p := buf[start+headerBytes:]
		if len(p) > maxRecord {
			return fmt.Errorf("audit segment log: event %d is %d bytes of JSON, over %d", ev.ID, len(p), maxRecord)
		}
		binary.LittleEndian.PutUint32(buf[start:], uint32(len(p)))
		binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(p, crcTable))
		ends[i] = len(buf)
	}
	if cap(buf) <= 4<<20 {
		l.buf = buf
	} else {
		l.buf = nil
	}

	seg, err := l.segmentFor(evs[0].ID, int64(len(buf)), true)
	if err != nil {
		return err
	}
	off := seg.size // only the writer changes seg.size
	if err := l.write(seg, buf, off); err != nil {
		return err
	}
	written = true

	l.mu.Lock()
	seg.size = off + int64(len(buf))
	seg.events = true
	last := normalize(evs[len(evs)-1])
	l.head = &last
	if !l.spilled && l.memBytes+int64(len(buf)) <= l.opts.MemoryBytes {
		l.keepUndoLocked(undoQ, seg, off)
		prev := nu
		for i, ev := range evs {
			n := int64(ends[i] - prev)
			l.pending = append(l.pending, entry{item: item{ev: ev}, seg: seg, end: off + int64(ends[i]), n: n})
			l.memBytes += n
			prev = ends[i]
		}
	} else {
		l.spilled = true
	}
	full := l.spilled || len(l.pending) >= l.opts.IndexBatch
	l.mu.Unlock()
	signal(l.kick)
	if full {
		signal(l.urgent)
	}
	return nil
}

// AppendUndo queues a change to undo records for the log, in order with
// the events: the next AppendEvents writes it ahead of its events and
// makes it durable with them (a write's undo data is captured before the
// write's outcome event, which the transaction's COMMIT waits for), or,
// when no append comes within syncLater, it is written and synced by
// itself. It never waits for a sync in progress. The indexer applies it
// to the inner store in the transaction of the events around it; Flush
// waits for that.
func (l *Log) AppendUndo(ctx context.Context, ch *airlock.UndoChange) error {
	if l.undo == nil {
		return errors.New("audit segment log: the store behind it keeps no undo records")
	}
	p, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("audit segment log: encode an undo change: %w", err)
	}
	if 1+len(p) > maxRecord {
		return fmt.Errorf("audit segment log: an undo change is %d bytes of JSON, over %d", len(p), maxRecord)
	}
	rec := make([]byte, headerBytes+1+len(p))
	rec[headerBytes] = undoMark
	copy(rec[headerBytes+1:], p)
	binary.LittleEndian.PutUint32(rec, uint32(1+len(p)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[headerBytes:], crcTable))
	l.mu.Lock()
	err = l.refuseLocked()
	l.mu.Unlock()
	if err != nil {
		return err
	}
	l.umu.Lock()
	defer l.umu.Unlock()
	l.undoQ = append(l.undoQ, undoRec{ch: ch, rec: rec})
	if !l.syncArmed {
		l.syncArmed = true
		if l.syncTimer == nil {
			l.syncTimer = time.AfterFunc(l.syncLater, l.syncUndo)
		} else {
			l.syncTimer.Reset(l.syncLater)
		}
	}
	return nil
}

func (l *Log) takeUndo() []undoRec {
	l.umu.Lock()
	defer l.umu.Unlock()
	q := l.undoQ
	l.undoQ = nil
	return q
}

// requeueUndo puts back changes a failed write did not make durable.
func (l *Log) requeueUndo(q []undoRec) {
	if len(q) == 0 {
		return
	}
	l.umu.Lock()
	defer l.umu.Unlock()
	l.undoQ = append(q, l.undoQ...)
}

// keepUndoLocked adds the written changes q, from off in seg, to what the
// indexer takes from memory.
func (l *Log) keepUndoLocked(q []undoRec, seg *segment, off int64) {
	for _, u := range q {
		n := int64(len(u.rec))
		off += n
		l.pending = append(l.pending, entry{item: item{ch: u.ch}, seg: seg, end: off, n: n})
		l.memBytes += n
	}
}

// syncUndo is syncTimer's: it writes what no append took.
func (l *Log) syncUndo() {
	l.umu.Lock()
	l.syncArmed = false
	l.umu.Unlock()
	if err := l.writeUndo(); err != nil {
		l.log.Error("audit segment log: write undo changes", "err", err)
	}
}

// writeUndo writes the queued changes to undo records and syncs them.
func (l *Log) writeUndo() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.writeUndoLocked()
}

// writeUndoLocked is writeUndo with wmu held.
func (l *Log) writeUndoLocked() error {
	q := l.takeUndo()
	if len(q) == 0 {
		return nil
	}
	written := false
	defer func() {
		if !written {
			l.requeueUndo(q)
		}
	}()
	var buf []byte
	for _, u := range q {
		buf = append(buf, u.rec...)
	}
	l.mu.Lock()
	err := l.refuseLocked()
	next := int64(1)
	if l.head != nil {
		next = l.head.ID + 1
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	seg, err := l.segmentFor(next, int64(len(buf)), false)
	if err != nil {
		return err
	}
	off := seg.size
	if err := l.write(seg, buf, off); err != nil {
		return err
	}
	written = true
	l.mu.Lock()
	seg.size = off + int64(len(buf))
	if !l.spilled && l.memBytes+int64(len(buf)) <= l.opts.MemoryBytes {
		l.keepUndoLocked(q, seg, off)
	} else {
		l.spilled = true
	}
	full := l.spilled || len(l.pending) >= l.opts.IndexBatch
	l.mu.Unlock()
	signal(l.kick)
	if full {
		signal(l.urgent)
	}
	return nil
}

// signal leaves a token in c unless one is there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// normalize returns a copy of ev as it reads back from its JSON: the time
// in UTC (without a monotonic reading), a NaN or infinite duration as 0.
func normalize(ev *airlock.Event) airlock.Event {
	c := *ev
	c.Time = c.Time.UTC()
	if math.IsNaN(c.DurationMS) || math.IsInf(c.DurationMS, 0) {
		c.DurationMS = 0
	}
	return c
}

// segmentFor returns the segment the next n bytes go to, starting one (and
// fsyncing the directory) when there is none or, with rotate, the current
// one is full. Undo changes written alone never start a new segment while
// one is open, and a segment without events takes the next event whatever
// its size, since it is named after that event.
func (l *Log) segmentFor(first, n int64, rotate bool) (*segment, error) {
	l.mu.Lock()
	var cur *segment
	if len(l.segs) > 0 {
		cur = l.segs[len(l.segs)-1]
	}
	l.mu.Unlock()
	if l.f != nil && cur != nil && (!rotate || !cur.events || cur.size == 0 || cur.size+n <= l.opts.SegmentBytes) {
		return cur, nil
	}
	if l.f == nil && cur != nil && (cur.size == 0 || !cur.events) {
		// A segment left empty by a failed first write, or holding only
		// undo changes: use it again.
		f, err := os.OpenFile(cur.path, os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit segment log: %w", err)
		}
		l.f = f
		return cur, nil
	}
	path := filepath.Join(l.dir, fmt.Sprintf("%020d%s", first, suffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit segment log: new segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("audit segment log: new segment: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	seg := &segment{first: first, path: path}
	l.mu.Lock()
	l.segs = append(l.segs, seg)
	remove := l.dropIndexedLocked()
	l.mu.Unlock()
	removeAll(remove, l.log)
	return seg, nil
}

// write writes buf at off of seg, the current segment, and makes it
// durable. On failure nothing of buf counts: the segment is cut back so
// that a later write does not follow half a record, and a segment that
// cannot be cut back leaves the log refusing appends.
func (l *Log) write(seg *segment, buf []byte, off int64) error {
	err := l.writeSync(buf, off)
	if err == nil {
		return nil
	}
	if terr := l.cutBack(seg, off); terr != nil {
		broken := fmt.Errorf("audit segment log: %s could not be cut back to %d bytes after a failed write (%v): %v; restart to recover", seg.path, off, err, terr)
		l.mu.Lock()
		l.broken = broken
		l.mu.Unlock()
		l.log.Error("audit segment log is unusable", "err", broken)
		return broken
	}
	return fmt.Errorf("audit segment log: write %s: %w", seg.path, err)
}

// writeSync writes buf at off of the current segment and makes it durable.
func (l *Log) writeSync(buf []byte, off int64) error {
	if _, err := l.f.WriteAt(buf, off); err != nil {
		return err
	}
	return l.sync(l.f)
}

// cutBack truncates seg to size after a failed write and forgets its file
// handle, so that the next batch starts a new segment (or reuses seg when
// it is empty): after a failed sync, the pages of the old handle are not
// trusted again.
func (l *Log) cutBack(seg *segment, size int64) error {
	f := l.f
	l.f = nil
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return l.sync(f)
}

// dropIndexedLocked advances the cursor past segments the inner store has
// whole and that are not the current one, and returns their paths.
func (l *Log) dropIndexedLocked() []string {
	var paths []string
	for len(l.segs) > 1 && l.cursor >= l.segs[0].size {
		paths = append(paths, l.segs[0].path)
		l.segs = l.segs[1:]
		l.cursor = 0
	}
	return paths
}

func removeAll(paths []string, log *slog.Logger) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("audit segment log: remove an indexed segment", "file", p, "err", err)
		}
	}
}

// LastEvent returns the newest durable event: the log's head.
func (l *Log) LastEvent(ctx context.Context) (*airlock.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == nil {
		return nil, nil
	}
	c := *l.head
	return &c, nil
}

// ListEvents waits until the inner store has every event durable when it
// was called, then asks the inner store.
func (l *Log) ListEvents(ctx context.Context, f airlock.EventFilter) ([]*airlock.Event, error) {
	if err := l.caughtUp(ctx); err != nil {
		return nil, err
	}
	return l.inner.ListEvents(ctx, f)
}

// ScanEvents waits as ListEvents does, then scans the inner store.
func (l *Log) ScanEvents(ctx context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	if err := l.caughtUp(ctx); err != nil {
		return err
	}
	return l.inner.ScanEvents(ctx, f, fn)
}

// caughtUp waits, at most ReadWait, until the inner store holds the head
// of now.
func (l *Log) caughtUp(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == nil || l.indexed >= l.head.ID {
		return nil
	}
	target := l.head.ID
	return l.waitLocked(ctx, func() bool { return l.indexed >= target }, fmt.Sprintf("audit events up to %d", target))
}

// Flush waits, at most ReadWait, until the inner store holds every record
// written when it was called, undo changes as well as events: readers of
// undo records call it first.
func (l *Log) Flush(ctx context.Context) error {
	if err := l.writeUndo(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) == 0 {
		return nil
	}
	seg := l.segs[len(l.segs)-1]
	off := seg.size
	return l.waitLocked(ctx, func() bool {
		return !slices.Contains(l.segs, seg) || (l.segs[0] == seg && l.cursor >= off)
	}, "undo changes and audit events")
}

// waitLocked waits, at most ReadWait, until done, with l.mu held; what
// names the records waited for in its error.
func (l *Log) waitLocked(ctx context.Context, done func() bool, what string) error {
	if done() {
		return nil
	}
	ctx, stop := l.waitContext(ctx)
	defer stop()
	l.readers.Add(1)
	defer l.readers.Add(-1)
	signal(l.urgent)
	for !done() {
		if l.stopped {
			return airlock.Errorf(airlock.EUNAVAILABLE, "%s are durable but not yet readable: the segment log is closed (they are replayed at the next start)", what)
		}
		if err := ctx.Err(); err != nil {
			return airlock.Errorf(airlock.EUNAVAILABLE, "%s are durable but not yet readable (store: %v): %v", what, l.idxErr, err)
		}
		l.cond.Wait()
	}
	return nil
}

// waitContext bounds a wait on l.cond by ReadWait: the returned context
// ends then, and its end wakes the waiter. stop releases both.
func (l *Log) waitContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithTimeout(ctx, l.opts.ReadWait)
	stopWake := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	return ctx, func() {
		stopWake()
		cancel()
	}
}

// allIndexedLocked reports whether the inner store holds every record
// written.
func (l *Log) allIndexedLocked() bool {
	return len(l.segs) == 0 || (len(l.segs) == 1 && l.cursor >= l.segs[0].size)
}

// Close stops appends, lets the indexer hand the inner store what it
// lacks (at most FlushTimeout), deletes the segments it has whole and
// releases the directory. It does not close the inner store.
func (l *Log) Close() error {
	l.wmu.Lock()
	l.umu.Lock()
	if l.syncTimer != nil {
		l.syncTimer.Stop()
	}
	l.umu.Unlock()
	// The changes queued go in before the indexer's last round.
	syncErr := l.writeUndoLocked()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.wmu.Unlock()
		return nil
	}
	l.closed = true
	l.deadline = time.Now().Add(l.opts.FlushTimeout)
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.wmu.Unlock()

	l.mu.Lock()
	l.stopped = true
	l.cond.Broadcast()
	var left int64
	if l.head != nil {
		left = l.head.ID - l.indexed
	}
	var remove []string
	all := l.allIndexedLocked()
	if all && syncErr == nil {
		for _, s := range l.segs {
			remove = append(remove, s.path)
		}
		l.segs, l.cursor = nil, 0
	} else {
		remove = l.dropIndexedLocked()
	}
	idxErr := l.idxErr
	l.mu.Unlock()
	removeAll(remove, l.log)
	l.lock.Close()
	if left > 0 || !all {
		return fmt.Errorf("audit segment log: %d events (and maybe undo changes) not yet in the store (they are replayed at the next start): %v", left, idxErr)
	}
	if syncErr != nil {
		return fmt.Errorf("audit segment log: sync undo changes at close: %w", syncErr)
	}
	return nil
}

// run is the indexer: it hands durable events to the inner store in order.
func (l *Log) run() {
	defer close(l.done)
	for {
		select {
		case <-l.kick:
			l.linger()
		case <-l.urgent:
		case <-l.quit:
			l.mu.Lock()
			caught := l.allIndexedLocked()
			l.mu.Unlock()
			if caught || time.Now().After(l.deadline) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		for {
			batch, seg, end, err := l.take()
			if err != nil {
				l.log.Error("audit segment log: read back events", "err", err)
				l.mu.Lock()
				l.idxErr = err
				l.mu.Unlock()
				break
			}
			if len(batch) == 0 {
				break
			}
			if !l.index(batch) {
				return // closing and out of time
			}
			l.mu.Lock()
			l.idxErr = nil
			var remove []string
			for len(l.segs) > 0 && l.segs[0] != seg {
				remove = append(remove, l.segs[0].path) // indexed whole
				l.segs = l.segs[1:]
			}
			l.cursor = end
			if l.spilled && len(l.pending) == 0 && len(l.segs) > 0 && seg == l.segs[len(l.segs)-1] && end == seg.size {
				l.spilled = false
			}
			remove = append(remove, l.dropIndexedLocked()...)
			l.mu.Unlock()
			// Segments go before readers hear of the progress, so that
			// a reader that saw it finds them gone.
			removeAll(remove, l.log)
			l.mu.Lock()
			for i := len(batch) - 1; i >= 0; i-- {
				if batch[i].ev != nil {
					l.indexed = batch[i].ev.ID
					break
				}
			}
			l.cond.Broadcast()
			l.mu.Unlock()
		}
	}
}

// linger waits up to IndexDelay for more events unless a reader waits, a
// full batch is there or the log closes.
func (l *Log) linger() {
	l.mu.Lock()
	full := l.spilled || len(l.pending) >= l.opts.IndexBatch
	l.mu.Unlock()
	if full || l.readers.Load() > 0 {
		return
	}
	t := time.NewTimer(l.opts.IndexDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.urgent:
	case <-l.quit:
	}
}

// take returns the next events to index, from memory or else from the
// segments, with the segment and offset the cursor moves to.
func (l *Log) take() ([]item, *segment, int64, error) {
	l.mu.Lock()
	if len(l.pending) > 0 {
		n := min(len(l.pending), l.opts.IndexBatch)
		batch := make([]item, n)
		var b int64
		for i, e := range l.pending[:n] {
			batch[i] = e.item
			b += e.n
		}
		last := l.pending[n-1]
		clear(l.pending[:n])
		l.pending = l.pending[n:]
		if len(l.pending) == 0 {
			l.pending = nil
		}
		l.memBytes -= b
		l.mu.Unlock()
		return batch, last.seg, last.end, nil
	}
	if !l.spilled || len(l.segs) == 0 {
		l.mu.Unlock()
		return nil, nil, 0, nil
	}
	// Read back from disk: the cursor's segment, or the next one.
	seg, off := l.segs[0], l.cursor
	if off >= seg.size && len(l.segs) > 1 {
		seg, off = l.segs[1], 0
	}
	size := seg.size
	l.mu.Unlock()
	if off >= size {
		return nil, nil, 0, nil
	}
	var batch []item
	end := off
	err := readItems(seg.path, off, size, func(it item, recEnd int64) bool {
		batch = append(batch, it)
		end = recEnd
		return len(batch) < l.opts.IndexBatch
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return batch, seg, end, nil
}

// index hands batch to the inner store, retrying with a backoff until it
// takes it. It returns false when the log is closing and out of time.
func (l *Log) index(batch []item) bool {
	backoff := 10 * time.Millisecond
	for {
		err := l.hand(context.Background(), batch)
		if err == nil {
			return true
		}
		// The inner store may hold some or all of them already (an
		// answer lost, a replay): go on after what it has (the undo
		// changes before its last event came in the same transactions).
		if last, lerr := l.inner.LastEvent(context.Background()); lerr == nil && last != nil {
			i := slices.IndexFunc(batch, func(it item) bool { return it.ev != nil && it.ev.ID == last.ID })
			if i >= 0 && batch[i].ev.Hash == last.Hash {
				if batch = batch[i+1:]; len(batch) == 0 {
					return true
				}
				continue
			}
		}
		l.mu.Lock()
		first := l.idxErr == nil
		l.idxErr = err
		l.cond.Broadcast()
		l.mu.Unlock()
		if first {
			l.log.Error("audit store refuses events; the segment log keeps them and retries", "err", err)
		}
		select {
		case <-time.After(backoff):
		case <-l.quit:
			if time.Now().After(l.deadline) {
				return false
			}
			time.Sleep(backoff)
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// hand gives batch to the inner store in one transaction: its events, and
// the undo changes among them when there are any.
func (l *Log) hand(ctx context.Context, batch []item) error {
	evs := make([]*airlock.Event, 0, len(batch))
	var changes []*airlock.UndoChange
	for _, it := range batch {
		if it.ev != nil {
			evs = append(evs, it.ev)
		} else {
			changes = append(changes, it.ch)
		}
	}
	if len(changes) == 0 {
		return l.inner.AppendEvents(ctx, evs)
	}
	if l.undo == nil {
		return errors.New("audit segment log: undo changes for a store that keeps no undo records")
	}
	return l.undo.IndexEvents(ctx, evs, changes)
}

func byID(a, b *airlock.Event) int {
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// readRecords calls fn for each record of path between from and to (both
// at record boundaries of durable data) until fn returns false.
func readRecords(path string, from, to int64, fn func(ev *airlock.Event, end int64) bool) error {
	return readItems(path, from, to, func(it item, end int64) bool {
		return it.ev == nil || fn(it.ev, end)
	})
}

// readItems is readRecords for every record, undo changes included.
func readItems(path string, from, to int64, fn func(it item, end int64) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 1<<20)
	var rec []byte
	for off := from; off < to; {
		rec = slices.Grow(rec[:0], headerBytes)[:headerBytes]
		if _, err := io.ReadFull(r, rec); err != nil {
			return fmt.Errorf("%s at offset %d: %w", path, off, err)
		}
		n := int(binary.LittleEndian.Uint32(rec))
		if n > maxRecord || off+headerBytes+int64(n) > to {
			return fmt.Errorf("%s at offset %d: record length %d out of range", path, off, n)
		}
		rec = slices.Grow(rec, n)[:headerBytes+n]
		if _, err := io.ReadFull(r, rec[headerBytes:]); err != nil {
			return fmt.Errorf("%s at offset %d: %w", path, off, err)
		}
		it, size, err := parseItem(rec)
		if err != nil {
			return fmt.Errorf("%s at offset %d: %w", path, off, err)
		}
		off += int64(size)
		if !fn(it, off) {
			return nil
		}
	}
	return nil
}

// errTorn is a record cut short by the end of the data.
var errTorn = errors.New("torn record")

// parseItem decodes the record at the start of b and returns its size.
func parseItem(b []byte) (item, int, error) {
	if len(b) < headerBytes {
		return item{}, 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b)
	sum := binary.LittleEndian.Uint32(b[4:])
	if n > maxRecord || n == 0 {
		return item{}, 0, fmt.Errorf("record length %d out of range", n)
	}
	if int64(len(b)) < headerBytes+int64(n) {
		return item{}, 0, errTorn
	}
	p := b[headerBytes : headerBytes+int(n)]
	if crc32.Checksum(p, crcTable) != sum {
		return item{}, 0, errors.New("checksum mismatch")
	}
	if p[0] == undoMark {
		var ch airlock.UndoChange
		if err := json.Unmarshal(p[1:], &ch); err != nil {
			return item{}, 0, fmt.Errorf("decode undo change: %w", err)
		}
		if ch.Save == nil && len(ch.IDs) == 0 {
			return item{}, 0, fmt.Errorf("an empty undo change")
		}
		return item{ch: &ch}, headerBytes + int(n), nil
	}
	var ev airlock.Event
	if err := json.Unmarshal(p, &ev); err != nil {
		return item{}, 0, fmt.Errorf("decode event: %w", err)
	}
	if ev.ID <= 0 {
		return item{}, 0, fmt.Errorf("event without an ID")
	}
	return item{ev: &ev}, headerBytes + int(n), nil
}

// goodRecordAfter reports whether a valid record starts anywhere in b: a
// bad record followed by one is damage in the middle of the log, not a
// torn tail. Only offsets where a record of the encoder could start are
// checked in full.
func goodRecordAfter(b []byte) (int, bool) {
	start, undoStart := []byte(`{"id":`), []byte{undoMark, '{'}
	for i := 1; i+headerBytes+len(undoStart) <= len(b); i++ {
		if !bytes.HasPrefix(b[i+headerBytes:], start) && !bytes.HasPrefix(b[i+headerBytes:], undoStart) {
			continue
		}
		if _, _, err := parseItem(b[i:]); err == nil {
			return i, true
		}
	}
	return 0, false
}

// recover reads the segments, cuts a torn tail, deletes what the inner
// store has and replays into it what it lacks.
func (l *Log) recover(ctx context.Context) error {
	names, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("audit segment log: %w", err)
	}
	var segs []*segment
	for _, d := range names {
		name := d.Name()
		if !strings.HasSuffix(name, suffix) || d.IsDir() {
			continue
		}
		first, err := strconv.ParseInt(strings.TrimSuffix(name, suffix), 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(l.dir, name)})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })

	innerLast, err := l.inner.LastEvent(ctx)
	if err != nil {
		return fmt.Errorf("audit segment log: read the store's last event: %w", err)
	}
	var innerID int64
	if innerLast != nil {
		innerID = innerLast.ID
	}
	l.head, l.indexed = innerLast, innerID

	var (
		replay  []item
		lastID  int64
		checked bool // the first event after the store's head was checked
		keep    []*segment
	)
	// An undo change is replayed unless an event after it is in the store
	// (the indexer hands records over in order, in whole transactions):
	// unless the event before it (prevID; the first segment is named after
	// the event that follows the changes at its start) is older than the
	// store's last. A change applied already is harmless to apply again.
	var prevID int64
	if len(segs) > 0 {
		prevID = segs[0].first - 1
	}
	flush := func() error {
		if len(replay) == 0 {
			return nil
		}
		if err := l.hand(ctx, replay); err != nil {
			return fmt.Errorf("audit segment log: replay %d records into the store: %w", len(replay), err)
		}
		for i := len(replay) - 1; i >= 0; i-- {
			if replay[i].ev != nil {
				l.indexed = replay[i].ev.ID
				break
			}
		}
		replay = nil
		return nil
	}
	for i, s := range segs {
		data, err := os.ReadFile(s.path)
		if err != nil {
			return fmt.Errorf("audit segment log: %w", err)
		}
		off := 0
		for off < len(data) {
			it, n, err := parseItem(data[off:])
			if err != nil {
				if at, ok := goodRecordAfter(data[off:]); ok || i < len(segs)-1 {
					what := "good records follow it"
					if ok {
						what = fmt.Sprintf("a good record follows at offset %d", off+at)
					} else if i < len(segs)-1 {
						what = "newer segments follow it"
					}
					return fmt.Errorf("audit segment log: %s is damaged at offset %d (%v) and %s: events would be lost from the middle of the chain; refusing to start (move the file aside only after saving it for investigation)", s.path, off, err, what)
				}
				l.log.Warn("audit segment log: cutting a torn record at the tail", "file", s.path, "offset", off, "bytes", len(data)-off, "err", err)
				if err := truncateSync(s.path, int64(off)); err != nil {
					return fmt.Errorf("audit segment log: cut the torn tail of %s: %w", s.path, err)
				}
				break
			}
			if it.ch != nil {
				off += n
				if prevID >= innerID {
					replay = append(replay, it)
				}
				continue
			}
			ev := it.ev
			if ev.ID <= lastID {
				return fmt.Errorf("audit segment log: %s at offset %d: event %d follows event %d: refusing to start", s.path, off, ev.ID, lastID)
			}
			lastID, prevID = ev.ID, ev.ID
			off += n
			if ev.ID <= innerID {
				continue
			}
			if !checked {
				checked = true
				if innerLast != nil && (ev.ID != innerID+1 || ev.PrevHash != innerLast.Hash) {
					return fmt.Errorf("audit segment log: %s at offset %d: event %d (previous hash %s) does not follow the store's last event %d (hash %s): the chain would break; refusing to start", s.path, off-n, ev.ID, ev.PrevHash, innerID, innerLast.Hash)
				}
			}
			replay = append(replay, it)
			l.head = ev
			if len(replay) >= l.opts.IndexBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		s.size = int64(off)
		keep = append(keep, s)
	}
	if err := flush(); err != nil {
		return err
	}
	// Everything is in the store now: the segments can go.
	for _, s := range keep {
		if err := os.Remove(s.path); err != nil {
			return fmt.Errorf("audit segment log: %w", err)
		}
	}
	if len(keep) > 0 {
		l.log.Info("audit segment log recovered", "segments", len(keep), "head", lastID)
	}
	return nil
}

// truncateSync cuts path to size and makes that durable.
func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir makes the entries of dir durable (a new segment's name).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

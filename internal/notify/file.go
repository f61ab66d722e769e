package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"airlock"
	"airlock/internal/audit"
)

// FileSink appends every durable audit event to a file as one JSON line,
// in chain order and without gaps (a sink that fell behind reads the
// missing events back from the store), and a checkpoint line
// {"checkpoint": {...}} every 1,000 events and at least every minute.
//
// The file survives crashes and full disks: at start, a line cut by a
// crash is removed and the file resumes after its last complete event
// (the store has every event since); after a write error (a full disk),
// the sink stops writing, and every flush interval cuts the file back to
// the end of its last good flush and writes again from there, so that no
// event is lost or written twice and no line is left half written.
type FileSink struct {
	log   *audit.Log
	store airlock.EventStore
	key   []byte
	lg    *slog.Logger
	f     *os.File
	w     *bufio.Writer
	// lastID and lastHash are the newest event written (or, at start,
	// already in the store).
	lastID   int64
	lastHash string
	since    int
	quit     chan struct{}
	done     chan struct{}
	mu       sync.Mutex

	// good is the file's size after the last flush that succeeded, and
	// goodID, goodHash the newest event it holds; broken is set after a
	// write error until the file is repaired (file_resume.go).
	good     int64
	goodID   int64
	goodHash string
	broken   error
}

// StartFile opens (appending) path and follows the log.
func StartFile(path string, log *audit.Log, store airlock.EventStore, key []byte, lg *slog.Logger) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &FileSink{log: log, store: store, key: key, lg: lg, f: f, w: bufio.NewWriterSize(f, 64<<10), quit: make(chan struct{}), done: make(chan struct{})}
	// Subscribe before reading the head: an event appended in between is
	// then both in the store and in the subscription, never in neither.
	sub := log.Subscribe(16384, nil)
	resumed, err := s.resume()
	if err != nil {
		sub.Close()
		f.Close()
		return nil, fmt.Errorf("audit file: %w", err)
	}
	if !resumed {
		if last, err := store.LastEvent(context.Background()); err == nil && last != nil {
			s.lastID, s.lastHash = last.ID, last.Hash // a new file starts here
		}
	}
	s.goodID, s.goodHash = s.lastID, s.lastHash
	if resumed {
		s.backfill() // what the store got before the crash, after the file's end
		s.flush()
	}
	go s.run(sub)
	return s, nil
}

func (s *FileSink) run(sub *audit.Subscription) {
	defer close(s.done)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				select {
				case <-s.quit:
					s.finish()
					return
				default:
				}
				sub = s.log.Subscribe(16384, nil)
				s.backfill()
				continue
			}
			if ev.ID <= s.lastID || s.broken != nil {
				continue // repaired from the store later
			}
			if ev.ID != s.lastID+1 {
				s.backfill()
				if ev.ID <= s.lastID {
					continue
				}
			}
			s.write(ev)
		case <-tick.C:
			s.checkpoint()
		case <-flush.C:
			if s.broken != nil {
				s.repair()
			} else {
				s.flush()
			}
		case <-s.quit:
			sub.Close()
			s.finish()
			return
		}
	}
}

// backfill writes the events between the last written and the store's head.
func (s *FileSink) backfill() {
	err := s.store.ScanEvents(context.Background(), airlock.EventFilter{AfterID: s.lastID, Ascending: true}, func(ev *airlock.Event) error {
		s.write(ev)
		return nil
	})
	if err != nil {
		s.lg.Error("audit file: read missed events", "err", err)
	}
}

func (s *FileSink) write(ev *airlock.Event) {
	if s.broken != nil {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	s.w.Write(b)
	s.w.WriteByte('\n')
	s.lastID, s.lastHash = ev.ID, ev.Hash
	s.since++
	if s.since >= 1000 {
		s.checkpoint()
	}
}

func (s *FileSink) checkpoint() {
	if s.lastID == 0 || s.since == 0 {
		return
	}
	cp := audit.Checkpoint{ID: s.lastID, Hash: s.lastHash, Time: time.Now().UTC()}
	if len(s.key) > 0 {
		cp.HMAC = audit.CheckpointMAC(s.key, cp.ID, cp.Hash)
	}
	b, _ := json.Marshal(map[string]audit.Checkpoint{"checkpoint": cp})
	s.w.Write(b)
	s.w.WriteByte('\n')
	s.since = 0
	if s.flush() {
		s.f.Sync()
	}
}

func (s *FileSink) finish() {
	if s.broken != nil {
		s.repair()
	}
	s.backfill()
	s.checkpoint()
	s.flush()
	s.f.Sync()
	s.f.Close()
}

// Close writes what is left, a last checkpoint, and closes the file. Call
// it after the audit log is flushed.
func (s *FileSink) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
}

package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"

	"airlock/internal/audit"
)

// resume finds where an existing file ends: it cuts a last line left
// incomplete by a crash and sets lastID and lastHash from the last
// complete line (an event or a checkpoint). It reports whether the file
// held any.
func (s *FileSink) resume() (bool, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	end, last, err := lastLine(s.f, size)
	if err != nil {
		return false, err
	}
	if end < size {
		s.lg.Warn("audit file: removing a line cut short (a crash or a full disk)", "file", s.f.Name(), "bytes", size-end)
		if err := s.f.Truncate(end); err != nil {
			return false, err
		}
	}
	s.good = end
	if last == nil {
		return false, nil
	}
	var line struct {
		ID         int64             `json:"id"`
		Hash       string            `json:"hash"`
		Checkpoint *audit.Checkpoint `json:"checkpoint"`
	}
	if err := json.Unmarshal(last, &line); err != nil {
		return false, errors.New("the last line of the file does not decode; move the file aside to start a new one")
	}
	if line.Checkpoint != nil {
		line.ID, line.Hash = line.Checkpoint.ID, line.Checkpoint.Hash
	}
	if line.ID == 0 {
		return false, nil
	}
	s.lastID, s.lastHash = line.ID, line.Hash
	return true, nil
}

// lastLine returns the end of the last complete line of f (of size
// bytes) and that line, reading backwards in chunks so that any line
// length works. A file without a newline has end 0 and no line.
func lastLine(f *os.File, size int64) (int64, []byte, error) {
	const chunk = 64 << 10
	end := int64(-1) // offset just after the last newline
	var line []byte  // collected backwards from end
	buf := make([]byte, chunk)
	for off := size; off > 0; {
		n := min(int64(chunk), off)
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return 0, nil, err
		}
		b := buf[:n]
		for len(b) > 0 {
			i := bytes.LastIndexByte(b, '\n')
			if end < 0 {
				if i < 0 {
					break
				}
				end = off + int64(i) + 1
				b = b[:i]
				continue
			}
			if i < 0 {
				line = append(append([]byte(nil), b...), line...)
				break
			}
			line = append(append([]byte(nil), b[i+1:]...), line...)
			return end, line, nil
		}
	}
	if end < 0 {
		return 0, nil, nil
	}
	return end, line, nil
}

// flush writes the buffer out; on success the file's good end and newest
// event move forward, on failure the sink is broken until repaired.
func (s *FileSink) flush() bool {
	if s.broken != nil {
		return false
	}
	if err := s.w.Flush(); err != nil {
		s.broken = err
		s.lg.Error("audit file: write failed; the file will be repaired from the store once writing works again", "err", err)
		return false
	}
	if off, err := s.f.Seek(0, io.SeekCurrent); err == nil {
		s.good = off
	}
	s.goodID, s.goodHash = s.lastID, s.lastHash
	return true
}

// repair cuts the file back to its last good flush and writes again the
// events from there, read from the store.
func (s *FileSink) repair() {
	if err := s.f.Truncate(s.good); err != nil {
		return // still failing; try again at the next interval
	}
	if _, err := s.f.Seek(s.good, io.SeekStart); err != nil {
		return
	}
	s.w.Reset(s.f)
	s.lastID, s.lastHash = s.goodID, s.goodHash
	s.broken = nil
	s.since = 0
	s.backfill()
	if s.flush() {
		s.lg.Info("audit file: writing again after a write failure", "last_id", s.lastID)
	}
}

package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"airlock"
)

// Checkpoint is a record of the chain head, written to the file sink so
// that truncating the newest events, or recomputing the chain in the store,
// is detected by comparing the store with a copy kept elsewhere. HMAC is
// HMAC-SHA256(key, "<id>:<hash>") with the key of audit.hmac_key_file, so
// that someone who can write the store cannot forge checkpoints.
type Checkpoint struct {
	ID   int64     `json:"id"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	HMAC string    `json:"hmac,omitempty"`
}

// CheckpointMAC is the HMAC of a checkpoint.
func CheckpointMAC(key []byte, id int64, hash string) string {
	m := hmac.New(sha256.New, key)
	_, _ = fmt.Fprintf(m, "%d:%s", id, hash) // a hash never fails a write
	return hex.EncodeToString(m.Sum(nil))
}

// LastCheckpoint reads the last checkpoint line of an audit file. Lines
// of any length are read; event lines are skipped without being held.
func LastCheckpoint(r io.Reader) (*Checkpoint, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var last *Checkpoint
	const prefix = `{"checkpoint":{`
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) >= len(prefix) && string(frag[:len(prefix)]) == prefix {
			line := append([]byte(nil), frag...)
			for errors.Is(err, bufio.ErrBufferFull) {
				frag, err = br.ReadSlice('\n')
				line = append(line, frag...)
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			var m map[string]Checkpoint
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				return nil, fmt.Errorf("a checkpoint line does not decode: %w", jerr)
			}
			cp := m["checkpoint"]
			last = &cp
		} else {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n') // the rest of a long line
			}
		}
		if err == io.EOF {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// CheckCheckpoint compares a checkpoint with the store: its HMAC (when key
// is set), and that the store still holds that event with that hash. It
// returns a Problem, or nil when they agree.
func CheckCheckpoint(ctx context.Context, store airlock.EventStore, cp *Checkpoint, key []byte) (*Problem, error) {
	if len(key) > 0 {
		if cp.HMAC == "" || !hmac.Equal([]byte(cp.HMAC), []byte(CheckpointMAC(key, cp.ID, cp.Hash))) {
			return &Problem{ID: cp.ID, Reason: "the checkpoint's HMAC does not match: the checkpoint file was altered or the key differs"}, nil
		}
	}
	var found *airlock.Event
	err := store.ScanEvents(ctx, airlock.EventFilter{AfterID: cp.ID - 1, Ascending: true, Limit: 1}, func(ev *airlock.Event) error {
		found = ev
		return errStop
	})
	if err != nil && err != errStop {
		return nil, err
	}
	switch {
	case found == nil || found.ID != cp.ID:
		return &Problem{ID: cp.ID, Reason: "the store has lost the newest events: the checkpointed event is missing"}, nil
	case found.Hash != cp.Hash:
		return &Problem{ID: cp.ID, Reason: "the store's chain differs from the checkpoint: events were altered and the chain recomputed"}, nil
	}
	return nil, nil
}

package pg

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"airlock"
)

// The classification cache.
//
// Parsing costs 20-60 µs a statement; clients send the same statements
// over and over with other literals (pgbench -S: SELECT abalance FROM
// pgbench_accounts WHERE aid = <n>). The cache keys a text by its shape
// (cacheKey in lexer.go: literals replaced by placeholders, each run of
// whitespace and comments by one byte that says whether it holds a
// comment, everything else kept byte for byte) and keeps the facts found
// for the first text of that shape.
//
// # Why a key stands for its facts
//
// The cache must never change a decision: every text of a key must get
// the facts the parser would give it. Two texts with the same key lex to
// the same PostgreSQL tokens but for the values of their literals and the
// text of their comments (the lexer refuses what it cannot lex exactly as
// PostgreSQL; pg_query's parser sees where comments are, not what they
// say). So their trees
// are the same but for the values in literal nodes, and their locations
// keep their order (the facts order names and pick reasons by location,
// never by its value) — unless a literal's value changes the tree itself.
// It does in two ways:
//
//   - the grammar reads a few literal values: an integer too big for int32
//     is another token (FCONST), which cacheKey keys apart; FLOAT(p) checks
//     p, which cacheKey refuses; ALTER TABLE ... ALTER COLUMN n checks n,
//     a statement the cache does not keep (below);
//   - pg_query_go refuses a string that is not valid UTF-8, which cacheKey
//     refuses.
//
// Then the classifier reads literal values in a few places only, and each
// of them marks the facts of every text of the key, whatever the values:
//
//   - SET/RESET and SET TRANSACTION (settingChange): kind "set";
//   - set_config (and the pg_settings row that names its setting):
//     "set_config" in Functions;
//   - the builtins that run a query given as text (pgDynamicQueryFuncs:
//     query_to_xml..., ts_stat, ts_rewrite): their name in Functions;
//   - EXPLAIN (ANALYZE <value>): command EXPLAIN;
//   - CREATE FUNCTION/PROCEDURE ... LANGUAGE '<name>': their command;
//   - COPY to or from a file name: command COPY;
//   - EXECUTE, whose facts the gateway substitutes: command EXECUTE.
//
// BEGIN's and START TRANSACTION's modes, LIMIT NULL and LIMIT ALL come
// from keywords, not literals. cacheable keeps the facts only of the
// statements hot paths send (cachedCommands), without those marks, and
// nothing else: whether a text's facts are kept is itself the same for
// every text of its key, so storing them, or storing a "do not cache"
// marker for the key, speaks for every text of the key. A marker only ever
// sends texts to the parser, so it is always safe; the facts are stored
// only when every statement of the text passes cacheable, and when the
// statement texts cut at the lexer's ';' are the parser's own (they are
// not inside BEGIN ATOMIC ... END, for one).
//
// Errors are never cached: a text that does not parse gets its error from
// the parser each time (the message and position depend on the literals),
// and its key gets a marker.
//
// # Bounds
//
// The cache has cacheShards shards, each a map under a sync.RWMutex (hits
// take only the read lock), each holding at most its share of the entries
// and of the bytes (keys and facts, estimated). When a shard is full it
// evicts with a clock: entries hit since the clock's hand last passed get
// a second chance, so a flood of new shapes (an attacker's, or ad-hoc
// queries) pushes out one-off shapes, not those in use. Texts longer than
// maxKeyedText are never keyed.

// Default bounds of the cache New makes.
const (
	DefaultCacheEntries = 10000
	DefaultCacheBytes   = 8 << 20
)

const cacheShards = 16

// Option configures New.
type Option func(*Postgres)

// WithoutCache makes a classifier that parses every text, for tests and
// benchmarks.
func WithoutCache() Option { return func(p *Postgres) { p.cache = nil } }

// WithCache bounds the cache to about entries entries and bytes bytes of
// keys and facts (split evenly among its shards). Zero or negative bounds
// mean no cache.
func WithCache(entries, bytes int) Option {
	return func(p *Postgres) { p.cache = newClassCache(entries, bytes) }
}

// cachedCommands are the commands whose facts the cache keeps: those that
// OLTP clients, drivers and pools send over and over. Whatever else
// (schema changes, SET, COPY, EXPLAIN, EXECUTE, DO...) is parsed each time.
var cachedCommands = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true,
	"BEGIN": true, "START TRANSACTION": true, "COMMIT": true, "ROLLBACK": true,
	"SAVEPOINT": true, "RELEASE": true, "SHOW": true,
	"PREPARE": true, "DEALLOCATE": true, "DEALLOCATE ALL": true,
	"DECLARE CURSOR": true, "FETCH": true, "MOVE": true, "CLOSE CURSOR": true, "CLOSE CURSOR ALL": true,
	"LISTEN": true, "UNLISTEN": true, "NOTIFY": true, "CALL": true, "LOCK TABLE": true,
	"DISCARD ALL": true,
}

// cacheable reports whether the facts of st are the same for every text
// of its key (see the comment at the top of this file).
func cacheable(st *airlock.Statement) bool {
	if st.Kind == airlock.KindEmpty {
		return st.Command == ""
	}
	if !cachedCommands[st.Command] || st.Kind == airlock.KindSet || st.Kind == airlock.KindUnknown ||
		st.Setting != "" || st.Value != "" || st.Escape != airlock.EscapeNone || st.ArgsLevel != 0 || st.ArgsWhy != "" {
		return false
	}
	for _, f := range st.Functions {
		name := f
		if i := strings.LastIndexByte(f, '.'); i >= 0 {
			name = f[i+1:]
		}
		if _, dynamic := pgDynamicQueryFuncs[name]; dynamic || name == "set_config" {
			return false
		}
	}
	return true
}

// outcome is what the cache did with a text, for tests.
type outcome uint8

const (
	outcomeHit     outcome = iota + 1 // facts from the cache
	outcomeStored                     // parsed, facts stored
	outcomeMarked                     // parsed, key marked "do not cache" now or before
	outcomeUnkeyed                    // parsed, the lexer refused the text
)

type classCache struct {
	seed       maphash.Seed
	maxEntries int // per shard
	maxBytes   int // per shard
	shards     [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.RWMutex
	m     map[string]*cacheEntry
	ring  []*cacheEntry // the clock; nil slots are in free
	free  []int
	hand  int
	bytes int
	_     [64]byte // keep shards' locks on their own cache lines
}

// cacheEntry is the facts of a key (Text empty), or a "do not cache"
// marker (stmts nil). It never changes once stored but for ref and slot.
type cacheEntry struct {
	key   string
	stmts []airlock.Statement
	cost  int
	slot  int         // index in the shard's ring
	ref   atomic.Bool // hit since the clock's hand last passed
}

func newClassCache(entries, bytes int) *classCache {
	if entries <= 0 || bytes <= 0 {
		return nil
	}
	c := &classCache{
		seed:       maphash.MakeSeed(),
		maxEntries: max(1, (entries+cacheShards-1)/cacheShards),
		maxBytes:   max(1, (bytes+cacheShards-1)/cacheShards),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry)
	}
	return c
}

// classify classifies text through the cache.
func (c *classCache) classify(text string) ([]airlock.Statement, outcome, error) {
	var keyBuf [512]byte
	var spanBuf [8]span
	key, spans, ok := cacheKey(text, keyBuf[:0], spanBuf[:0], nil)
	if !ok {
		sts, err := parse(text)
		return sts, outcomeUnkeyed, err
	}
	sh := &c.shards[maphash.Bytes(c.seed, key)%cacheShards]
	sh.mu.RLock()
	e := sh.m[string(key)]
	sh.mu.RUnlock()
	if e != nil {
		if e.stmts == nil {
			sts, err := parse(text)
			return sts, outcomeMarked, err
		}
		if sts, ok := e.facts(text, spans); ok {
			if !e.ref.Load() {
				e.ref.Store(true)
			}
			return sts, outcomeHit, nil
		}
	}
	sts, err := parse(text)
	e = newCacheEntry(text, key, spans, sts, err)
	c.put(sh, key, e)
	if e.stmts == nil {
		return sts, outcomeMarked, err
	}
	return sts, outcomeStored, err
}

// facts returns the cached facts with the statement texts of text, cut at
// spans as the parser cuts them. ok is false if the spans do not match the
// facts (which a key rules out).
func (e *cacheEntry) facts(text string, spans []span) ([]airlock.Statement, bool) {
	out := make([]airlock.Statement, len(e.stmts))
	copy(out, e.stmts)
	if len(spans) == 0 && len(out) == 1 && out[0].Kind == airlock.KindEmpty {
		out[0].Text = strings.TrimSpace(text)
		return out, true
	}
	if len(spans) != len(out) {
		return nil, false
	}
	for i, s := range spans {
		out[i].Text = strings.TrimSpace(text[s.start:s.end])
	}
	return out, true
}

// newCacheEntry makes the entry for key from the parser's answer for text:
// the facts if every statement is cacheable and the statement texts are
// those the spans give, else a "do not cache" marker.
func newCacheEntry(text string, key []byte, spans []span, sts []airlock.Statement, err error) *cacheEntry {
	e := &cacheEntry{cost: len(key) + 96}
	if err != nil || len(sts) == 0 {
		return e
	}
	if len(spans) == 0 {
		if len(sts) != 1 || sts[0].Kind != airlock.KindEmpty || sts[0].Text != strings.TrimSpace(text) {
			return e
		}
	} else if len(spans) != len(sts) {
		return e
	}
	for i := range sts {
		if !cacheable(&sts[i]) {
			return e
		}
		if len(spans) > 0 && sts[i].Text != strings.TrimSpace(text[spans[i].start:spans[i].end]) {
			return e
		}
	}
	// The caller gets sts too: the cache keeps copies of its lists.
	stored := make([]airlock.Statement, len(sts))
	for i, st := range sts {
		st.Text = ""
		st.Tables = slices.Clone(st.Tables)
		st.WriteTables = slices.Clone(st.WriteTables)
		st.Functions = slices.Clone(st.Functions)
		stored[i] = st
		e.cost += 256 + len(st.Why) + len(st.Command) + len(st.Name)
		for _, list := range [][]string{st.Tables, st.WriteTables, st.Functions} {
			for _, s := range list {
				e.cost += 16 + len(s)
			}
		}
	}
	e.stmts = stored
	return e
}

// put stores e under key, evicting as needed. A "do not cache" marker
// replaces facts, never the other way round.
func (c *classCache) put(sh *cacheShard, key []byte, e *cacheEntry) {
	if e.cost > c.maxBytes {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[string(key)]; ok {
		if old.stmts == nil || e.stmts != nil {
			return
		}
		sh.remove(old)
	}
	for len(sh.m) > 0 && (len(sh.m) >= c.maxEntries || sh.bytes+e.cost > c.maxBytes) {
		sh.evict()
	}
	e.key = string(key)
	if n := len(sh.free); n > 0 {
		e.slot, sh.free = sh.free[n-1], sh.free[:n-1]
		sh.ring[e.slot] = e
	} else {
		e.slot = len(sh.ring)
		sh.ring = append(sh.ring, e)
	}
	sh.m[e.key] = e
	sh.bytes += e.cost
}

// evict removes one entry: the first the clock's hand reaches that was not
// hit since the hand last passed it (the others' marks are cleared: a
// second chance). Hits mark entries without the lock, so after two turns
// the hand takes whatever it is on.
func (sh *cacheShard) evict() {
	for step := 0; ; step++ {
		if sh.hand >= len(sh.ring) {
			sh.hand = 0
		}
		e := sh.ring[sh.hand]
		sh.hand++
		if e == nil {
			continue
		}
		if e.ref.Load() && step < 2*len(sh.ring) {
			e.ref.Store(false)
			continue
		}
		sh.remove(e)
		return
	}
}

func (sh *cacheShard) remove(e *cacheEntry) {
	delete(sh.m, e.key)
	sh.ring[e.slot] = nil
	sh.free = append(sh.free, e.slot)
	sh.bytes -= e.cost
}

// len returns the number of entries, for tests.
func (c *classCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// bytes returns the bytes accounted, for tests.
func (c *classCache) bytes() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += sh.bytes
		sh.mu.RUnlock()
	}
	return n
}

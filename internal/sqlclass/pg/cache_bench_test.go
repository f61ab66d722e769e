package pg

import (
	"fmt"
	"testing"
)

// benchShapes are the statements the cache benchmarks classify; text(i, n)
// gives the i-th text with other literals and, when n >= 0, the shape n
// (an alias that makes another key).
var benchShapes = []struct {
	name string
	text func(i, n int) string
}{
	{"pgbench-select", func(i, n int) string {
		return fmt.Sprintf("SELECT abalance%s FROM pgbench_accounts WHERE aid = %d;", alias(" AS a", n), 1+i*7919%100000)
	}},
	{"update", func(i, n int) string {
		return fmt.Sprintf("UPDATE accounts%s SET balance = balance + %d, updated_at = now() WHERE id = %d", alias(" AS a", n), i%500-250, i*31+1)
	}},
	{"insert-5", func(i, n int) string {
		return fmt.Sprintf("INSERT INTO orders%s (customer_id, total, status, note, created_at) VALUES (%d, %d.%02d, 'open', 'it''s order %d', '2024-05-%02d 10:00:00')",
			alias(" AS o", n), i%9000+1, i%1000, i%100, i, i%28+1)
	}},
}

func alias(prefix string, n int) string {
	if n < 0 {
		return ""
	}
	return fmt.Sprintf("%s%d", prefix, n)
}

// BenchmarkClassifyHit measures a classification answered from the cache:
// the shape was classified before, the literals differ.
func BenchmarkClassifyHit(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			p := New()
			texts := make([]string, 1024)
			for i := range texts {
				texts[i] = s.text(i, -1)
			}
			if _, how, err := p.cache.classify(texts[0]); err != nil || how != outcomeStored {
				b.Fatalf("warming: outcome %d, %v", how, err)
			}
			if _, how, _ := p.cache.classify(texts[1]); how != outcomeHit {
				b.Fatalf("outcome %d, want a hit", how)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Classify(texts[i%len(texts)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkClassifyHitParallel is BenchmarkClassifyHit from all CPUs at
// once, on one shape (pgbench -S from several clients).
func BenchmarkClassifyHitParallel(b *testing.B) {
	s := benchShapes[0]
	p := New()
	texts := make([]string, 1024)
	for i := range texts {
		texts[i] = s.text(i, -1)
	}
	if _, err := p.Classify(texts[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := p.Classify(texts[i%len(texts)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkClassifyMiss measures a classification of a shape the cache has
// not seen (every text has its own alias, so its own key): the lexer, the
// parser, and storing the facts (evicting once the cache is full); and, as
// "nocache", the same texts without a cache, to show the cache's part.
func BenchmarkClassifyMiss(b *testing.B) {
	for _, s := range benchShapes {
		for _, cached := range []bool{true, false} {
			name := s.name
			p := New()
			if !cached {
				name += "/nocache"
				p = New(WithoutCache())
			}
			b.Run(name, func(b *testing.B) {
				const n = 1 << 15 // more shapes than the cache holds
				texts := make([]string, n)
				for i := range texts {
					texts[i] = s.text(i, i)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := p.Classify(texts[i%n]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

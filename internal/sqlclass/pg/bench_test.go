package pg

import "testing"

// BenchmarkClassify measures one classification by the parser, without
// the cache, of typical statements.
func BenchmarkClassify(b *testing.B) {
	cases := []struct{ name, sql string }{
		{"oltp-select", "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1"},
		{"oltp-update", "UPDATE accounts SET balance = balance + $1, updated_at = now() WHERE id = $2"},
		{"pgbench-select", "SELECT abalance FROM pgbench_accounts WHERE aid = 4242;"},
		{"psql-describe", `SELECT n.nspname as "Schema", c.relname as "Name", pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast'
  AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2`},
	}
	p := New(WithoutCache())
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Classify(c.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package mysql

import "testing"

// BenchmarkClassifyMySQL measures one classification of typical MySQL
// statements (the MySQL classifier has no cache).
func BenchmarkClassifyMySQL(b *testing.B) {
	cases := []struct{ name, sql string }{
		{"oltp-select", "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = 42"},
		{"oltp-update", "UPDATE accounts SET balance = balance + 10, updated_at = NOW() WHERE id = 42"},
		{"point-select", "SELECT c FROM sbtest1 WHERE id = 4242"},
		{"mysqldump-rows", "SELECT /*!40001 SQL_NO_CACHE */ `id`, `name`, `total` FROM `orders`"},
		{"connectorj-variables", "/* mysql-connector-j-8.0.33 */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@max_allowed_packet AS max_allowed_packet, @@sql_mode AS sql_mode, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout"},
	}
	m := New()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Classify(c.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

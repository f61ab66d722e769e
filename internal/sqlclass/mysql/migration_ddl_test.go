package mysql

import (
	"testing"

	"airlock"
)

// TestMySQLMigrationDDL: the DDL that migration tools (Alembic, Django, knex,
// Rails, Liquibase) generate for columns, indexes, constraints, foreign
// keys, views and tables parses, and needs ddl (data changes: write).
func TestMySQLMigrationDDL(t *testing.T) {
	my := []struct{ name, sql string }{
		{"drop constraint if exists", "ALTER TABLE `shelf_book` DROP CONSTRAINT IF EXISTS `ck_book_year`"},
		{"drop constraint", "ALTER TABLE book DROP CONSTRAINT ck_book_year"},
		{"drop check", "ALTER TABLE book DROP CHECK ck_book_year"},
		{"alter table if exists", "ALTER TABLE IF EXISTS book ADD COLUMN year int NULL"},
		{"add column if not exists", "ALTER TABLE book ADD COLUMN IF NOT EXISTS isbn varchar(20) NULL"},
		{"drop column if exists", "ALTER TABLE book DROP COLUMN IF EXISTS isbn"},
		{"drop index if exists", "ALTER TABLE book DROP INDEX IF EXISTS ix_book_title"},
		{"drop foreign key if exists", "ALTER TABLE book DROP FOREIGN KEY IF EXISTS fk_book_author"},
		{"add index if not exists", "ALTER TABLE book ADD INDEX IF NOT EXISTS ix_year (year)"},
		{"modify if exists", "ALTER TABLE book MODIFY IF EXISTS title varchar(300) NOT NULL"},
		{"several clauses", "ALTER TABLE book DROP FOREIGN KEY IF EXISTS fk_a, DROP INDEX IF EXISTS fk_a, ADD CONSTRAINT fk_a FOREIGN KEY (author_id) REFERENCES author (id) ON DELETE CASCADE"},
		{"django add check", "ALTER TABLE `shelf_book` ADD CONSTRAINT `ck_book_year` CHECK (`year` > 0)"},
		{"django unique", "ALTER TABLE `shelf_book` ADD CONSTRAINT `uq_book_title_author` UNIQUE (`title`, `author_id`)"},
		{"django fk", "ALTER TABLE `shelf_book` ADD CONSTRAINT `shelf_book_author_id_2b6d2dc8_fk_shelf_author_id` FOREIGN KEY (`author_id`) REFERENCES `shelf_author` (`id`)"},
		{"django modify", "ALTER TABLE `shelf_book` MODIFY `title` varchar(300) NOT NULL"},
		{"django rename column", "ALTER TABLE `shelf_book` CHANGE `isbn` `isbn13` varchar(20) NULL"},
		{"rename column", "ALTER TABLE book RENAME COLUMN isbn TO isbn13"},
		{"alembic drop index", "DROP INDEX ix_book_title ON book"},
		{"knex create table", "create table `author` (`id` int unsigned not null auto_increment primary key, `name` varchar(100) not null)"},
		{"knex unique", "alter table `book` add unique `uq_book_isbn`(`isbn`)"},
		{"knex check", "alter table `book` add constraint ck_book_year check(year > 0)"},
		{"knex view", "create view `book_titles` (`id`, `title`, `year`) as select `id`, `title`, `year` from `book`"},
		{"create or replace view", "CREATE OR REPLACE VIEW v AS SELECT 1 AS a"},
	}
	m := New()
	for _, c := range my {
		t.Run("mysql/"+c.name, func(t *testing.T) {
			sts, err := m.Classify(c.sql)
			if err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			if len(sts) != 1 || sts[0].Level != airlock.LevelDDL {
				t.Fatalf("%s: %+v, want one ddl statement", c.sql, sts)
			}
			if msg := checkMySQLInvariants(sts[0]); msg != "" {
				t.Error(msg)
			}
		})
	}
	// IF inside an expression is not blanked: the fallback needs the words
	// IF EXISTS / IF NOT EXISTS.
	if _, err := m.Classify("ALTER TABLE book ADD COLUMN x int DEFAULT IF(1, 2, 3) IF EXISTS"); err == nil {
		t.Errorf("a misplaced IF EXISTS after a column definition parsed")
	}
}

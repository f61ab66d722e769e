package pg

import (
	"testing"

	"airlock"
)

// TestMigrationDDL: the DDL that migration tools (Alembic, Django, knex,
// Rails, Liquibase) generate for columns, indexes, constraints, foreign
// keys, views and tables parses, and needs ddl (data changes: write).
func TestMigrationDDL(t *testing.T) {
	pg := []struct{ name, sql string }{
		{"drop constraint if exists", `ALTER TABLE "book" DROP CONSTRAINT IF EXISTS "ck_book_year"`},
		{"django deferred fk", `ALTER TABLE "shelf_book" ADD CONSTRAINT "shelf_book_author_id_fk" FOREIGN KEY ("author_id") REFERENCES "shelf_author" ("id") DEFERRABLE INITIALLY DEFERRED`},
		{"django set constraints", `SET CONSTRAINTS "shelf_book_author_id_fk" IMMEDIATE`},
		{"django alter type", `ALTER TABLE "shelf_book" ALTER COLUMN "title" TYPE varchar(300) USING "title"::varchar(300)`},
		{"django like index", `CREATE INDEX "shelf_book_title_like" ON "shelf_book" ("title" varchar_pattern_ops)`},
		{"drop column cascade", `ALTER TABLE "shelf_book" DROP COLUMN "isbn" CASCADE`},
		{"alembic rename", `ALTER TABLE book RENAME isbn TO isbn13`},
		{"knex view", `create view "book_titles" ("id", "title", "year") as select "id", "title", "year" from "book"`},
		{"knex check", `alter table "book" add constraint ck_book_year check(year > 0)`},
		{"create index concurrently if not exists", `CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON book (year)`},
	}
	p := New()
	for _, c := range pg {
		t.Run("postgres/"+c.name, func(t *testing.T) {
			sts, err := p.Classify(c.sql)
			if err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			if len(sts) != 1 {
				t.Fatalf("%s: %d statements", c.sql, len(sts))
			}
			if want := airlock.LevelDDL; sts[0].Level != want && sts[0].Kind != airlock.KindSet {
				t.Errorf("%s: level %s, want %s", c.sql, sts[0].Level, want)
			}
		})
	}
}

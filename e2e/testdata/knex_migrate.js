// Runs knex's migrations forward to the last one and back to none, as a
// deployment would, for the migration test (migrations_test.go).
// Usage: node knex_migrate.js NODE_MODULES_DIR postgres|mysql HOST PORT USER PASSWORD DATABASE up|down
const [dir, engine, host, port, user, password, database, direction] = process.argv.slice(2);
const knex = require(dir + "/node_modules/knex")({
  client: engine === "postgres" ? "pg" : "mysql2",
  connection: { host, port: Number(port), user, password, database },
  pool: { min: 1, max: 1 },
});

const migrations = {
  "0001_books": {
    up: async (k) => {
      await k.schema.createTable("author", (t) => {
        t.increments("id");
        t.string("name", 100).notNullable();
      });
      await k.schema.createTable("book", (t) => {
        t.increments("id");
        t.string("title", 200).notNullable().index("ix_book_title");
        t.integer("author_id").unsigned().nullable();
        t.foreign("author_id", "fk_book_author").references("author.id");
      });
    },
    down: async (k) => {
      await k.schema.dropTable("book");
      await k.schema.dropTable("author");
    },
  },
  "0002_columns": {
    up: async (k) => {
      await k.schema.alterTable("book", (t) => {
        t.integer("year").nullable();
        t.string("isbn", 20).nullable();
        t.unique(["isbn"], { indexName: "uq_book_isbn" });
        t.index(["year", "title"], "ix_book_year_title");
        t.check("year > 0", [], "ck_book_year");
      });
      await k.schema.alterTable("book", (t) => {
        t.string("title", 300).notNullable().alter();
        t.dropForeign(["author_id"], "fk_book_author");
      });
      await k.schema.alterTable("book", (t) => {
        t.foreign("author_id", "fk_book_author").references("author.id").onDelete("CASCADE");
        t.dropIndex(["title"], "ix_book_title");
      });
      await k("author").insert({ id: 1, name: "Ann" });
      await k("author").update({ name: "Ann B" });
    },
    down: async (k) => {
      await k.schema.alterTable("book", (t) => {
        t.index(["title"], "ix_book_title");
        t.dropForeign(["author_id"], "fk_book_author");
      });
      await k.schema.alterTable("book", (t) => {
        t.foreign("author_id", "fk_book_author").references("author.id");
        t.dropChecks(["ck_book_year"]);
        t.dropIndex(["year", "title"], "ix_book_year_title");
        t.dropUnique(["isbn"], "uq_book_isbn");
      });
      // After the cascading foreign key is gone: on MySQL, airlock cannot
      // count what a cascade deletes, so it refuses such a DELETE.
      await k("author").where({ id: 1 }).del();
      await k.schema.alterTable("book", (t) => {
        t.string("title", 200).notNullable().alter();
        t.dropColumn("isbn");
        t.dropColumn("year");
      });
    },
  },
  "0003_view": {
    up: async (k) => {
      await k.schema.alterTable("book", (t) => t.renameColumn("isbn", "isbn13"));
      await k.schema.createView("book_titles", (v) => {
        v.columns(["id", "title", "year"]);
        v.as(k("book").select("id", "title", "year"));
      });
      await k.schema.createTable("review", (t) => {
        t.increments("id");
        t.integer("book_id").unsigned().notNullable();
        t.foreign("book_id", "fk_review_book").references("book.id").onDelete("CASCADE");
        t.smallint("stars").notNullable().defaultTo(3);
      });
    },
    down: async (k) => {
      await k.schema.dropTable("review");
      await k.schema.dropView("book_titles");
      await k.schema.alterTable("book", (t) => t.renameColumn("isbn13", "isbn"));
    },
  },
};

const source = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (m) => m,
  getMigration: async (m) => migrations[m],
};

(async () => {
  try {
    if (direction === "up") {
      await knex.migrate.latest({ migrationSource: source });
    } else {
      await knex.migrate.rollback({ migrationSource: source }, true);
    }
    console.log("ok knex", engine, direction);
  } catch (e) {
    console.log("knex failed:", e.message);
    process.exitCode = 1;
  } finally {
    await knex.destroy();
  }
})();

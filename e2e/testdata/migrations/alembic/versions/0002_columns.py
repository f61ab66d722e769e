"""columns, constraints, foreign keys, indexes, data"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("book", sa.Column("year", sa.Integer, nullable=True))
    op.add_column("book", sa.Column("isbn", sa.String(20), nullable=True))
    op.alter_column("book", "title", existing_type=sa.String(200), type_=sa.String(300), existing_nullable=False)
    op.alter_column("author", "name", existing_type=sa.String(100), nullable=True)
    op.create_unique_constraint("uq_book_isbn", "book", ["isbn"])
    op.create_check_constraint("ck_book_year", "book", "year > 0")
    op.drop_constraint("fk_book_author", "book", type_="foreignkey")
    op.create_foreign_key("fk_book_author", "book", "author", ["author_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_book_year_title", "book", ["year", "title"])
    op.drop_index("ix_book_title", table_name="book")
    op.execute("INSERT INTO author (id, name) VALUES (1, 'Ann')")
    op.execute("UPDATE author SET name = 'Ann B'")


def downgrade():
    op.create_index("ix_book_title", "book", ["title"])
    op.drop_index("ix_book_year_title", table_name="book")
    op.drop_constraint("fk_book_author", "book", type_="foreignkey")
    op.create_foreign_key("fk_book_author", "book", "author", ["author_id"], ["id"])
    # After the cascading foreign key is gone: on MySQL, airlock cannot
    # count what a cascade deletes, so it refuses such a DELETE.
    op.execute("DELETE FROM author WHERE id = 1")
    op.drop_constraint("ck_book_year", "book", type_="check")
    op.drop_constraint("uq_book_isbn", "book", type_="unique")
    op.alter_column("author", "name", existing_type=sa.String(100), nullable=False)
    op.alter_column("book", "title", existing_type=sa.String(300), type_=sa.String(200), existing_nullable=False)
    op.drop_column("book", "isbn")
    op.drop_column("book", "year")

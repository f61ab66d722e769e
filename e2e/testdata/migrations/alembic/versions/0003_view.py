"""a view, a renamed column, a new table"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.alter_column("book", "isbn", new_column_name="isbn13", existing_type=sa.String(20), existing_nullable=True)
    op.execute("CREATE VIEW book_titles AS SELECT b.id, b.title, a.name FROM book b LEFT JOIN author a ON a.id = b.author_id")
    op.create_table(
        "review",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("book.id", name="fk_review_book", ondelete="CASCADE"), nullable=False),
        sa.Column("stars", sa.SmallInteger, nullable=False, server_default="3"),
    )


def downgrade():
    op.drop_table("review")
    op.execute("DROP VIEW book_titles")
    op.alter_column("book", "isbn13", new_column_name="isbn", existing_type=sa.String(20), existing_nullable=True)

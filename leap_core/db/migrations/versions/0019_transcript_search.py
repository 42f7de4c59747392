"""search inside lectures: transcript_cues, with a tsvector + GIN index (PostgreSQL) or FTS5 (SQLite)

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-03 13:40:00

The full-text objects are raw SQL (no SQLAlchemy type describes them); their names are listed in
`leap_core.search.schema`, which the models-vs-migrations test excludes. On SQLite, triggers keep the
external-content FTS5 table in step with `transcript_cues` (inserts, deletes, and the FK cascade when a
recording row goes).
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE transcript_cues_fts USING fts5("
    "terms, content='transcript_cues', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER transcript_cues_fts_ai AFTER INSERT ON transcript_cues BEGIN "
    "INSERT INTO transcript_cues_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER transcript_cues_fts_ad AFTER DELETE ON transcript_cues BEGIN "
    "INSERT INTO transcript_cues_fts(transcript_cues_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER transcript_cues_fts_au AFTER UPDATE ON transcript_cues BEGIN "
    "INSERT INTO transcript_cues_fts(transcript_cues_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO transcript_cues_fts(rowid, terms) VALUES (new.id, new.terms); END",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS transcript_cues_fts_au",
    "DROP TRIGGER IF EXISTS transcript_cues_fts_ad",
    "DROP TRIGGER IF EXISTS transcript_cues_fts_ai",
    "DROP TABLE IF EXISTS transcript_cues_fts",
)
_PG_UP = (
    "ALTER TABLE transcript_cues ADD COLUMN search_vector tsvector NOT NULL",
    "CREATE INDEX ix_transcript_cues_search_vector ON transcript_cues USING gin (search_vector)",
)


def upgrade() -> None:
    op.create_table(
        "transcript_cues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("chapter", sa.String(length=500), nullable=True),
        sa.Column("dictionary", sa.String(length=16), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transcript_cues_recording_id_position", "transcript_cues", ["recording_id", "position"])
    op.create_index("ix_transcript_cues_user_id", "transcript_cues", ["user_id"])
    statements = _PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    op.drop_table("transcript_cues")  # PostgreSQL: the tsvector column and its GIN index go with it

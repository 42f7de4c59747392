"""Database access: engine and sessions (`session.py`), typed models (`models/`), Alembic migrations."""

"""SQLite storage for newswatch (sqlite-utils): schema migrations and the store."""

from storage.db import Store, StorageError, hash_text, open_database, utcnow

__all__ = ["Store", "StorageError", "hash_text", "open_database", "utcnow"]

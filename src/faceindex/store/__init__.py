"""Storage: SQLite rows are the truth, vector indexes are rebuildable caches."""

"""The embedded store on SQLite; the only package that imports sqlite3."""

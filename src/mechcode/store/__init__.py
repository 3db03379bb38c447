"""The review folder: codebook, SQLite database (WAL, migrations), models and caches."""

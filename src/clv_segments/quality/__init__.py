"""Data quality after the build: the Great Expectations suite over the marts and its Data Docs."""

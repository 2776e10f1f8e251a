"""Ingest: files and SQL sources in (CSV, XLSX, Parquet, JSON, order books, bank statements), canonical
typed rows and quarantined rows out."""

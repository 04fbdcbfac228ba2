"""The warehouse contract: versioned DDL (``migrations/``), connection settings, staging and the merges.

The Glue jobs write each run's rows into per-run staging tables, then one transaction over a
connection of our own merges them into the star schema and records the loaded lake files in
``etl_file_ledger`` — so a file's rows and its ledger entry commit together or not at all.
"""

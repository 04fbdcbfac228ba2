"""Ingestion: the X API v2 client, the three collectors, ingestion state, the tracked-accounts registry."""

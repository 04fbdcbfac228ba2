"""Ingestion: the X API v2 client, the three collectors and the run every face calls (:mod:`ingestion.run`),
ingestion state, the tracked-accounts registry."""

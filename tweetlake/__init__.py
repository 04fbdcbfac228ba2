"""The ``tweetlake`` command: a thin face over ingestion, the Glue jobs, the simulator and the warehouse."""

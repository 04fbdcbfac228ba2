"""Glue entry script: raw/tweets/ → the warehouse (the steps: glue_jobs/entry.py, glue_jobs/runner.py)."""

from glue_jobs.entry import main

if __name__ == "__main__":
    main("tweets")

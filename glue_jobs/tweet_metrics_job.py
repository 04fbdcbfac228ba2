"""Glue entry script: raw/tweet_metrics/ → the warehouse (the steps: glue_jobs/entry.py, glue_jobs/runner.py)."""

from glue_jobs.entry import main

if __name__ == "__main__":
    main("tweet_metrics")

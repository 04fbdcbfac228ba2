"""tweetlake's Airflow DAGs: tweetlake_users (daily), tweetlake_tweets (every 4 h), tweetlake_tweet_metrics
(every 2 h), each ingest → crawl → load.

``TWEETLAKE_AIRFLOW_TARGET`` (read through ``common.settings``, the one reader of the environment)
picks where the load runs: ``glue`` (default: the stack's Glue crawler and job, as on Amazon MWAA)
or ``local`` (local Spark and the embedded PostgreSQL, for ``airflow standalone`` on a laptop).
The task bodies live in ``tweetlake_airflow/`` beside this file (listed in ``.airflowignore``).
"""

from tweetlake_airflow.factory import build_dags

from common.settings import load_airflow

_settings = load_airflow()
globals().update(build_dags(_settings.target, _settings.poll_seconds))

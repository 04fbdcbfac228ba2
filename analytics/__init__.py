"""What an analyst gets out of the warehouse: the HTML report and the exports.

A domain room beside ``ingestion/`` and ``glue_jobs/``: it reads the warehouse (its views and
tables, over ``common/warehouse``) and, for the report's pipeline panel, the lake's quarantine
folder; it never imports ``ingestion/`` or ``glue_jobs/``, never starts Spark and never calls the
X API. The ``tweetlake report`` and ``tweetlake export`` faces are thin commands over it.
"""

"""AWS Glue 5.1 jobs (Spark 3.5.6): a thin entry script and a spec per dataset, DataFrame transforms, the runner."""

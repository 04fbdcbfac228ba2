"""AWS Glue 5.1 jobs (Spark 3.5.6): one thin entry script per dataset, pure DataFrame transforms, the runner."""

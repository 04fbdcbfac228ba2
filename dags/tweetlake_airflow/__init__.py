"""The tweetlake DAGs' own code: specs (plain data), the task bodies, the Glue operators, the factory."""

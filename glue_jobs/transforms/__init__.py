"""Pure DataFrame transforms of the Glue jobs: column functions, then ``with_*``/``filter_*``/``explode_*``."""

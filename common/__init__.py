"""What ingestion and the Glue jobs share: lake layout and I/O, settings, logging, the warehouse contract."""

__version__ = "0.1.0"

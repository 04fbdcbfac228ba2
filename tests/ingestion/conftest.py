"""Ingestion tests use the simulator fixtures of tests/conftest.py (``sim``, ``client``, ``fake_clock``)."""

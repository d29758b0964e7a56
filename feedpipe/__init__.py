"""feedpipe: ingest, tag, publish feeds and a weekly digest."""

__version__ = "0.1.0"

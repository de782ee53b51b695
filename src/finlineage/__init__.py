"""finlineage: column-level data lineage for financial SQL."""

__version__ = "0.1.0"

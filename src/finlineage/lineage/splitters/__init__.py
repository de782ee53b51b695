"""Dialect-aware splitting of SQL scripts into statements (see `finlineage.lineage.procedural`)."""

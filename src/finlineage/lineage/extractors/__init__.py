"""One lineage extractor per statement kind (see `lineage.statements` for the dispatch)."""

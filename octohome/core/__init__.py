"""The plain things every stage shares: calls, the catalog, the configuration."""

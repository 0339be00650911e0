"""The DuckDB warehouse: raw, staging and marts, gap scoring, publishing."""

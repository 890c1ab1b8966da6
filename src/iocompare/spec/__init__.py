"""Suites: what to measure. Pydantic models, TOML loading, built-in suites, matrix expansion."""

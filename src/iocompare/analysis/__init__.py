"""Analysis: pure functions over stored trials."""

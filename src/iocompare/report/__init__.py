"""Reports: a view-model built from the store, rendered for a terminal, Markdown or JSON."""

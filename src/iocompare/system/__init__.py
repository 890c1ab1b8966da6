"""The system floor: running processes, signals, the resource manifest, process identity."""

"""Execution environments: where fio runs (host, containers, microVMs)."""

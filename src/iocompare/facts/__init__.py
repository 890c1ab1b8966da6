"""What is recorded about the machine and the storage under test: the probes that read it
(probe.py) and the registry that says what every recorded fact means (registry.py, judge.py)."""

"""Running things: subprocesses, the trial runner, cleanup."""

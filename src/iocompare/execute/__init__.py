"""Running a plan: launch (recovery, lock, space), the trial runner, adaptive rounds, applicability."""

"""`iocompare doctor`: what works on this machine, environment by environment, and what to do about the rest."""

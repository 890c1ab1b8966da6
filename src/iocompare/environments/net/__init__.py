"""Network paths as environments of a network run (docs/network.md)."""

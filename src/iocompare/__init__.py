"""iocompare: compare storage IO across execution environments with the same fio job."""

__version__ = "0.1.0"

from builders import GiB, make_cell

from iocompare.environments.base import CacheLayer
from iocompare.execute.applicability import judge
from iocompare.model import TrialStatus
from iocompare.spec.models import CachePolicy


class FakeStorage:
    """Only what `judge` reads: logical block size and cache layers."""

    def __init__(self, logical: int | None, ram: int = 16 * GiB) -> None:
        self._logical = logical
        self._ram = ram

    def logical_block_size(self):
        return self._logical

    def cache_layers(self, direct):
        return (CacheLayer("host page cache", self._ram, bypassed=direct),)


def test_512_byte_direct_io_on_4k_device_is_not_applicable():
    verdict = judge(make_cell(block_size_bytes=512), FakeStorage(4096), cache_multiple=2, policy=CachePolicy.REFUSE)
    assert verdict.status is TrialStatus.NOT_APPLICABLE
    assert "512 B direct IO" in verdict.reason and "4 KiB" in verdict.reason


def test_512_bytes_fine_on_512_device_and_buffered_is_not_judged_by_block_size():
    assert (
        judge(make_cell(block_size_bytes=512), FakeStorage(512), cache_multiple=2, policy=CachePolicy.REFUSE).status
        is None
    )


def test_buffered_small_working_set_is_refused_or_labelled():
    cell = make_cell(direct=False, working_set_bytes=1 * GiB)
    refused = judge(cell, FakeStorage(512), cache_multiple=2, policy=CachePolicy.REFUSE)
    assert refused.status is TrialStatus.REFUSED and "smaller than 2x the host page cache" in refused.reason
    labelled = judge(cell, FakeStorage(512), cache_multiple=2, policy=CachePolicy.LABEL)
    assert labelled.status is None and "would measure memory" in labelled.labels["working_set_warning"]


def test_buffered_large_enough_working_set_runs():
    cell = make_cell(direct=False, working_set_bytes=40 * GiB)
    assert judge(cell, FakeStorage(512, ram=16 * GiB), cache_multiple=2, policy=CachePolicy.REFUSE).status is None

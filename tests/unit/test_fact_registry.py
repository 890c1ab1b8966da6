"""The facts registry reads every stored fact one way, and unknown stays unknown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iocompare.facts import judge
from iocompare.facts import registry as fk


def test_typed_values_and_unknowns():
    facts = {"memory_bytes": "25275990016", "cpu_count": "2", "memory_backed": "yes", "rotational": "0"}
    assert fk.MEMORY_BYTES.get(facts) == 25275990016
    assert fk.CPU_COUNT.get(facts) == 2
    assert fk.MEMORY_BACKED.get(facts) is True and fk.ROTATIONAL.get(facts) is False
    assert fk.DIRECT_IO_HONOURED.get(facts) is None  # not recorded
    assert fk.CPU_COUNT.get({"cpu_count": "many"}) is None  # unparsable is unknown, never 0
    assert fk.MEMORY_BACKED.get({"memory_backed": "perhaps"}) is None


def test_labels_and_display_for_people():
    assert fk.label_of("memory_bytes") == "memory"
    assert fk.display("memory_bytes", "25275990016") == "23.5 GiB"
    assert fk.label_of("something_new") == "something new"  # unknown keys still read as words
    assert fk.display("memory_bytes", "n/a") == "n/a"


def test_every_key_is_declared_once():
    names = [key.name for key in fk.KEYS]
    assert len(names) == len(set(names)) and "clocksource" in names


def test_judgements_say_unknown_when_nothing_was_recorded():
    for judgement in (
        judge.memory_backed,
        judge.direct_io_honoured,
        judge.host_page_cache_in_path,
        judge.software_emulated,
    ):
        assert judgement({}) is None, judgement.__name__


def test_judgements_from_filesystem_types():
    assert judge.memory_backed({"fs_type": "tmpfs"}) is True
    assert judge.memory_backed({"fs_type": "ext4", "mount_kind": "tmpfs"}) is True
    assert judge.memory_backed({"fs_type": "xfs"}) is False
    assert judge.direct_io_honoured({"fs_type": "fuse.sshfs"}) is False
    assert judge.direct_io_honoured({"fs_type": "ext4"}) is True
    assert judge.direct_io_honoured({"direct_io_honoured": "no", "fs_type": "ext4"}) is False
    assert judge.software_emulated({"accelerator": "tcg"}) is True
    assert judge.software_emulated({"accelerator": "kvm"}) is False
    assert judge.storage_facts_for("ramfs") == {"memory_backed": "yes"}
    assert judge.storage_facts_for("ext4") == {}


@given(st.dictionaries(st.sampled_from([k.name for k in fk.KEYS]), st.text(max_size=20), max_size=8))
def test_no_stored_text_makes_a_reader_raise(facts):
    for key in fk.KEYS:
        key.get(facts)
        if key.name in facts:
            assert isinstance(key.display(facts[key.name]), str)
    for judgement in (judge.memory_backed, judge.direct_io_honoured, judge.software_emulated):
        assert judgement(facts) in (True, False, None)

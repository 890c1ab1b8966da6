import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocompare.units import format_iops, format_ns, format_rate, format_size, parse_size, short_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512", 512),
        ("4k", 4096),
        ("4K", 4096),
        ("64KiB", 65536),
        ("1m", 1 << 20),
        ("8M", 8 << 20),
        ("2g", 2 << 30),
        (4096, 4096),
    ],
)
def test_parse_size_accepts_fio_style_binary_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "4x", "-1", "1.5m", "k", True])
def test_parse_size_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_size(text)


@given(st.integers(min_value=9, max_value=36))
def test_short_size_round_trips_powers_of_two(exponent):
    assert parse_size(short_size(1 << exponent)) == 1 << exponent


def test_rates_are_mebibytes_and_say_so():
    assert format_rate(1 << 20) == "1.0 MiB/s"
    assert format_rate(1_000_000) == "1.0 MiB/s"  # 0.95 MiB/s rounds; never shown as "MB/s"
    assert format_rate(None) == "-"


def test_human_formats():
    assert format_size(512) == "512 B"
    assert format_size(4096) == "4 KiB"
    assert format_size(3 << 19) == "1.5 MiB"
    assert format_ns(45_300) == "45.3 µs"
    assert format_ns(2_830_000) == "2.83 ms"
    assert format_ns(905_200) == "905 µs"
    assert format_iops(90_300) == "90.3k"
    assert format_iops(5341) == "5,341"

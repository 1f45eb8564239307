"""Entry names in an export ZIP: never a path (a name with `..\\` or `/` would be extracted
outside the folder a Windows or Java tool extracts into), and unique."""

from ips_jobs.control.exports import _unique


def test_separators_in_a_file_name_never_make_a_path() -> None:
    taken: set[str] = set()
    assert _unique("..\\..\\evil.png", taken) == ".._.._evil.png"
    assert _unique("a/b.png", taken) == "a_b.png"


def test_a_taken_name_gets_a_number() -> None:
    taken: set[str] = set()
    assert [_unique("x.png", taken) for _ in range(3)] == ["x.png", "x-2.png", "x-3.png"]

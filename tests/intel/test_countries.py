"""ISO 3166-1: the table of assigned codes agrees with DB-IP's real country data, and the
operator's files are held to it."""

from __future__ import annotations

import gzip

import pytest

from agent.intel.countries import NAMES, RESERVED, SHAPE, mistake
from tests.truth import SHARED


def test_the_table() -> None:
    assert len(NAMES) == 250 and "XK" in NAMES  # 249 assigned, and Kosovo's user code
    assert all(SHAPE.fullmatch(code) and name for code, name in NAMES.items())
    assert (NAMES["US"], NAMES["NO"], NAMES["GB"]) == ("United States", "Norway", "United Kingdom")
    assert not set(RESERVED) & set(NAMES) and set(RESERVED.values()) <= set(NAMES)


def test_it_is_the_set_db_ip_places_addresses_in() -> None:
    files = sorted((SHARED / "geo").glob("dbip-country-ipv*.csv.gz"))
    if len(files) != 2:
        pytest.skip(f"needs DB-IP's country CSVs in {SHARED / 'geo'}")
    codes: set[str] = set()
    for path in files:
        with gzip.open(path, "rt") as f:
            codes.update(line.rstrip("\n").rsplit(",", 1)[1] for line in f)
    assert codes == set(NAMES)


@pytest.mark.parametrize(("text", "hint"), [
    ("US", None),
    ("XK", None),
    ("XX", ""),
    ("EU", ""),
    ("de", " (did you mean 'DE', Germany?)"),
    ("UK", " (did you mean 'GB', United Kingdom?)"),
    ("Germany", " (did you mean 'DE', Germany?)"),
    ("Singapur", " (did you mean 'SG', Singapore?)"),
])  # fmt: skip
def test_a_mistake_says_what_was_meant(text: str, hint: str | None) -> None:
    if hint is None:
        assert mistake(text) == ""
    else:
        assert mistake(text) == ("country must be an ISO 3166-1 alpha-2 code like US, "
                                 f"not {text!r}{hint}")  # fmt: skip

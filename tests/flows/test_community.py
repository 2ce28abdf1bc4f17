import json

import pytest

from agent.flows.community import community_id
from tests.truth import FLOWLOGS

BASELINE = FLOWLOGS / "community-id"
SETTINGS = {"deflt": {}, "seed1": {"seed": 1}, "nob64": {"b64": False}}


def vectors() -> list[tuple[str, dict[str, object]]]:
    out = []
    for name in SETTINGS:
        path = BASELINE / f"community-id-spec__baseline__baseline_{name}.json"
        out += [(name, v) for v in json.loads(path.read_text())]
    return out


VECTORS = vectors()


def test_every_baseline_vector_is_read() -> None:
    assert len(VECTORS) == 69


@pytest.mark.parametrize(("setting", "v"), VECTORS)
def test_the_specs_baseline(setting: str, v: dict[str, object]) -> None:
    sport, dport = v["sport"] or 0, v["dport"] or 0
    got = community_id(
        v["proto"],
        v["saddr"],
        sport,
        v["daddr"],
        dport,
        **SETTINGS[setting],  # type: ignore[arg-type]
    )
    assert got == v["communityid"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [((6, "1.2.3.4", 1122, "5.6.7.8", 3344), "1:wCb3OG7yAFWelaUydu0D+125CLM="),
     ((6, "5.6.7.8", 3344, "1.2.3.4", 1122), "1:wCb3OG7yAFWelaUydu0D+125CLM="),
     ((1, "5.6.7.8", 0, "1.2.3.4", 0), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
     ((58, "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 129,
       "fe80:1:203:405:607:809:a0b:c0d", 0), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
     ((46, "5.6.7.8", 0, "1.2.3.4", 0), "1:ikv3kmf89luf73WPz1jOs49S768=")],
)  # fmt: skip
def test_the_specs_tables_with_icmp_as_type_and_code(
    args: tuple[int, str, int, str, int], expected: str
) -> None:
    assert community_id(*args) == expected

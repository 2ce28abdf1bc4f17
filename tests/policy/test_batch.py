"""The columnar judge and tally against the per-flow ones: on every flow of the shared captures,
the real provider range files and DB-IP's country data, and random policies (every selector,
approvals, dated exceptions, the access half, live-only keys with interfaces and processes),
`Judge.judge_batch` gives the verdicts `Judge.judge_one` gives flow by flow, and `Tally.add_batch`
the same analysis document, to the byte, as `Tally.add`."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.findings.document import canonical, document
from agent.findings.tally import Tally
from agent.intel.cidr import parse_cidr
from agent.intel.lookup import lookup
from agent.intel.table import Answer, RangeTable
from agent.model import DIRECTIONS, Flow, FlowBatch, Process
from agent.policy.judge import Judge, Verdict
from agent.policy.keys import DAY_NS
from agent.policy.model import Access, Exception_, Match, Policy, Rule
from tests.support import real_store
from tests.truth import PCAPS, analyze


class World(tuple[RangeTable, list[Flow]]):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "World(the shared captures' flows, the real ranges)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    if not PCAPS.is_dir():
        pytest.skip(f"the shared capture corpus is not at {PCAPS} (CI always has it)")
    store = real_store(tmp_path_factory.mktemp("ranges"))
    flows: list[Flow] = []
    for path in sorted(Path(PCAPS).iterdir()):
        if path.suffix not in (".json", ".md"):
            flows += analyze(path)[0]
    assert len(flows) > 1000
    return World((store.table(store.current()), flows))


PROCS = [None, Process(1, "curl", "/usr/bin/curl", "alice"), Process(2, "sshd", "/usr/sbin/sshd",
                                                                    "root")]  # fmt: skip
IFACES = [None, "eth0", "wg0"]


def pools(table: RangeTable, flows: list[Flow]) -> dict[str, list[Any]]:
    addresses = sorted({a.split("%")[0] for f in flows for a in (f.src, f.dst)})
    nets = ["0.0.0.0/0", "::/0"]
    for a in addresses[:: max(1, len(addresses) // 40)]:
        ip = ipaddress.ip_address(a)
        wide = 16 if ip.version == 4 else 48
        nets += [f"{ip}/{ip.max_prefixlen}", str(ipaddress.ip_network(f"{ip}/{wide}", False))]
    labels = table.labels
    names = sorted({n.rsplit(".", 2)[-2] for f in flows for _, n in f.names if "." in n})
    first_days = [d for d, _ in Counter(f.first_ns // DAY_NS for f in flows).most_common(6)]
    return {
        "nets": [parse_cidr(n, spans_v4=True) for n in nets],
        "ports": sorted({p for f in flows for p in (f.sport, f.dport)})[:60] + [443, 53, 5432],
        "providers": sorted({lab.provider for lab in labels if lab.provider}),
        "regions": sorted({lab.region for lab in labels if lab.region})[:80],
        "groups": sorted({lab.border_group for lab in labels if lab.border_group})[:30],
        "services": sorted({s for lab in labels for s in lab.services})[:30],
        "countries": sorted({lab.country for lab in labels if lab.country})[:40] + ["US", "DE"],
        "globs": ["*", "*.com", "*.net", "*.amazonaws.com", *(f"*{n}*" for n in names[:20])],
        "days": [date(1970, 1, 1) + timedelta(days=d + k) for d in first_days for k in (-1, 0)],
    }


def policies(p: dict[str, list[Any]]) -> st.SearchStrategy[Policy]:
    def some(values: list[Any], kind: Any = frozenset) -> st.SearchStrategy[Any]:
        return st.lists(st.sampled_from(values), min_size=1, max_size=3).map(kind)

    port = st.tuples(st.sampled_from(p["ports"]), st.integers(0, 2000)).map(
        lambda t: (t[0], min(65535, t[0] + t[1])))
    keys = {
        "local": some(p["nets"], tuple), "remote": some(p["nets"], tuple),
        "ports": st.lists(port, min_size=1, max_size=2).map(tuple),
        "local_ports": st.lists(port, min_size=1, max_size=2).map(tuple),
        "protocols": some([1, 6, 17, 58]), "interfaces": st.just(frozenset({"eth0"})),
        "classes": some(["global", "private", "multicast", "link-local", "loopback"]),
        "provider": st.sampled_from(p["providers"]), "regions": some(p["regions"]),
        "border_groups": some(p["groups"]), "services": some(p["services"]),
        "countries": some(p["countries"]), "names": some(p["globs"], tuple),
        "processes": st.just(frozenset({"curl"})), "executables": st.just(("/usr/sbin/*",)),
        "users": st.just(frozenset({"root"})),
    }  # fmt: skip

    @st.composite
    def matches(draw: st.DrawFn) -> Match:
        """A few keys set (a rule with many keys matches nothing)."""
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), max_size=2, unique=True))
        return Match(**{k: draw(keys[k]) for k in chosen})

    def rules(tag: str, most: int) -> st.SearchStrategy[tuple[Rule, ...]]:
        return st.lists(matches(), max_size=most).map(
            lambda ms: tuple(Rule(f"{tag}{i}", m, f"p.yaml:{i + 1}") for i, m in enumerate(ms)))

    def dated(tag: str) -> st.SearchStrategy[tuple[Exception_, ...]]:
        day = st.sampled_from(p["days"])
        one = st.tuples(st.just(Match()) | matches(), day, st.none() | day)
        return st.lists(one, max_size=3).map(lambda xs: tuple(
            Exception_(f"{tag}{i}", m, f"p.yaml:{50 + i}", "why", until=u, since=s)
            for i, (m, u, s) in enumerate(xs)))  # fmt: skip

    everything = st.just((Rule("all", Match(), "p.yaml:1"),))
    include = st.one_of(everything, everything, rules("in", 3))
    access = st.builds(Access, rules("protect", 2), rules("allow", 3), dated("aexc"))
    return st.builds(Policy, st.just("p.yaml"), st.just("0" * 64), st.just(""), st.just("t"),
                     st.just(1), include, rules("ex", 2), rules("ok", 4), dated("exc"),
                     st.just("p.yaml"), access)  # fmt: skip


REGION_NAMES = (("sni", "s3.eu-west-1.amazonaws.com"), ("http", "storage.europe-west3.example"),
                ("dns", "objectstorage.us-ashburn-1.oraclecloud.com"))  # fmt: skip


def mutated(flows: list[Flow], data: st.DataObject) -> list[Flow]:
    """The real flows, some said to begin by a SYN or by the ports, some moved to within a
    millisecond of a UTC midnight (the day an exception compares with), some given names that
    name a provider region (a contradiction when the address is elsewhere)."""
    pick = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    shift = data.draw(st.sampled_from([0, -1, 1, -999_999, 500_000]), label="midnight")
    out = []
    for i, f in enumerate(flows):
        d = pick.choice([*DIRECTIONS, None, None])
        if d:
            f = f._replace(direction=d)
        if i % 5 == 0:
            f = f._replace(names=(*f.names, pick.choice(REGION_NAMES)))
        if shift and i % 3 == 0:
            t = (f.first_ns // DAY_NS + 1) * DAY_NS + shift
            f = f._replace(first_ns=t, last_ns=max(t, f.last_ns))
        out.append(f)
    return out


def per_flow(judge: Judge, flows: list[Flow], ifaces: list[Any], procs: list[Any]) -> list[Verdict]:
    return [judge.judge_one(f, i, p) for f, i, p in zip(flows, ifaces, procs, strict=True)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_batch_verdicts_and_tally_equal_per_flow(world: World,
                                                 data: st.DataObject) -> None:  # fmt: skip
    table, real = world
    policy = data.draw(policies(pools(table, real)), label="policy")
    flows = mutated(real, data)
    live = data.draw(st.booleans(), label="live")
    n = len(flows)
    ifaces = [IFACES[i % 3] for i in range(n)] if live else [None] * n
    procs = [PROCS[(i // 2) % 3] for i in range(n)] if live else [None] * n
    expected = per_flow(Judge(policy, table), flows, ifaces, procs)
    judge, tally, old = Judge(policy, table), Tally(), Tally()
    old.add(expected, "capture.pcap")
    cut = data.draw(st.integers(1, n), label="cut")  # two batches: decisions kept across them
    got: list[Verdict] = []
    for a, b in ((0, cut), (cut, n)):
        batch = judge.judge_batch(FlowBatch.of(flows[a:b]), ifaces[a:b] if live else None,
                                  procs[a:b] if live else None)  # fmt: skip
        got += batch.records()
        tally.add_batch(batch, "capture.pcap")
    wrong = next((i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e), None)
    assert wrong is None, (flows[wrong], got[wrong], expected[wrong])
    docs = [canonical(document(t, policy, [], [])) for t in (old, tally)]
    assert docs[0] == docs[1]


@pytest.mark.parametrize("shift", [1, -1, 500_000, -999_999])
def test_a_dated_exception_near_midnight(world: World, shift: int) -> None:
    """Flows moved to a nanosecond or a millisecond of a UTC midnight, judged against an
    exception that ends on the day the most of them began: the day in the key is each flow's."""
    table, real = world
    flows = [f._replace(first_ns=(t := (f.first_ns // DAY_NS + 1) * DAY_NS + shift),
                        last_ns=max(t, f.last_ns)) if i % 3 == 0 else f
             for i, f in enumerate(real)]  # fmt: skip
    day = Counter(f.first_ns // DAY_NS for f in flows).most_common(1)[0][0]
    until = date(1970, 1, 1) + timedelta(days=day)
    policy = Policy("p.yaml", "0" * 64, "", "t", 1, (Rule("all", Match(), "p.yaml:1"),), (), (),
                    (Exception_("e", Match(), "p.yaml:2", "why", until=until),))  # fmt: skip
    expected = per_flow(Judge(policy, table), flows, [None] * len(flows), [None] * len(flows))
    assert {v.verdict for v in expected} == {"exempt", "violation"}
    assert list(Judge(policy, table).judge_batch(FlowBatch.of(flows)).records()) == expected


def ranges_alike(table: RangeTable, region: bool, most: int = 6) -> list[str]:
    """An address in each of up to `most` IPv4 provider ranges whose answers differ in the
    range (and address) alone, with a region or without."""
    a, firsts = table.a, []
    for i, lab in enumerate(a["e_label"].tolist()):
        label = table.labels[lab]
        v = int(a["e_first_hi"][i]) << 64 | int(a["e_first_lo"][i])
        if label.provider and bool(label.region) == region and v >> 32 == 0xFFFF:
            firsts.append(str(ipaddress.IPv4Address((v & 0xFFFF_FFFF) + 1)))
    alike: dict[Answer, list[str]] = {}
    for address, answer in zip(firsts, lookup(table, firsts), strict=True):
        alike.setdefault(replace(answer, address="", prefix=""), []).append(address)
    return max(alike.values(), key=len)[:most]


@pytest.mark.parametrize("region", [False, True])
def test_notes_that_quote_the_range(world: World, region: bool) -> None:
    """Ranges that read alike but for their text are judged once, yet a note that quotes the
    range (a region-less range unplaced; a weak rule overruled by a placed range) quotes each
    flow's own."""
    table, real = world
    flow = next(f for f in real if f.proto == 6)
    flows = [flow._replace(dst=d, serial=i) for i, d in enumerate(ranges_alike(table, region))]
    country = lookup(table, [flows[0].dst])[0].country if region else "AQ"  # overruled or not
    weak = (Rule("weak", Match(countries=frozenset({country})), "p.yaml:3"),)
    policy = Policy("p.yaml", "0" * 64, "", "t", 1, (Rule("all", Match(), "p.yaml:1"),), (),
                    weak)  # fmt: skip
    expected = per_flow(Judge(policy, table), flows, [None] * len(flows), [None] * len(flows))
    assert len({v.note for v in expected}) == len(flows) > 1
    assert list(Judge(policy, table).judge_batch(FlowBatch.of(flows)).records()) == expected

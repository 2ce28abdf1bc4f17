"""Captures given together are one recording: cut a real capture into consecutive files (as
`editcap -c` and `tcpdump -C` do) and the parts, read together in any order, give the whole
file's analysis; the later parts alone, a capture that starts mid-connection, keep their flows
in scope, with the bytes whose direction was guessed counted. Expectations come from tshark's
conversations (`*.truth.json`) and, for the packets of a part, from scapy."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import IP, TCP, UDP, rdpcap

from agent.capture import chunks, first_timestamp
from agent.chain.offline import analyze
from agent.chain.pipeline import FlowPipeline
from agent.chain.recording import Recording, plan
from agent.cli import main
from agent.findings.document import document
from agent.intel.store import Store
from agent.policy.load import load_policy
from tests.split import split_capture
from tests.support import real_store
from tests.truth import PCAPS, SHARED, truth

ESPN = PCAPS / "cs_http_espn.pcapng"
PROVIDERS = ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json")
EXCLUDED = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 224.0.0.0/4, fe80::/10"
POLICY = """\
version: 1
scope:
  include:
    - local: "{local}"
      protocols: [tcp, udp]
  exclude:
    - name: not-global
      remote: [{excluded}]
approve:
  - name: aws-us
    provider: aws
    regions: [us-east-1, us-west-2]
"""
CLIENTS = "172.16.0.0/12"
"""Where cs_http_espn's one client (172.16.0.122) is."""
ANYWHERE = "::/0"
"""Both sides of every flow are local: the flow table's direction stands."""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "ranges").is_dir() or not PCAPS.is_dir():
        pytest.skip(f"needs the shared captures and range files in {SHARED} (CI has them)")
    root = tmp_path_factory.mktemp("home")
    real_store(root, PROVIDERS)
    for name, local in (("clients", CLIENTS), ("anywhere", ANYWHERE)):
        (root / f"{name}.yaml").write_text(POLICY.format(local=local, excluded=EXCLUDED))
    return root


def run(home: Path, *args: str) -> tuple[int, str, str]:
    got = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(home)})
    return got.exit_code, got.stdout, got.stderr


def analysis(home: Path, paths: list[Path], policy: str = "clients",
             window: tuple[int | None, int | None] | None = None) -> dict[str, Any]:  # fmt: skip
    store = Store(home)
    chosen = store.current()
    p = load_policy(str(home / f"{policy}.yaml"))
    result = analyze([str(x) for x in paths], p, store, chosen, window=window)
    return document(result.tally, p, result.captures, result.ranges, window=result.window)


def without_inputs(doc: dict[str, Any]) -> dict[str, Any]:
    """The analysis but for the files it names: evidence pointers keep their flow serials (a
    recording numbers its flows across its files), merged over the captures they began in."""
    out = {k: v for k, v in doc.items() if k != "inputs"}
    for key in ("violations", "unverified"):
        out[key] = [
            {**d, "evidence": sorted(s for e in d["evidence"] for s in e["flow_serials"])}
            for d in doc[key]
        ]
    return out


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    if not ESPN.is_file():
        pytest.skip(f"needs {ESPN}")
    return split_capture(ESPN, tmp_path_factory.mktemp("parts"), every=300)


def test_the_splitter_writes_whole_captures(parts: list[Path]) -> None:
    assert [len(rdpcap(str(p))) for p in parts] == [300, 300, 300, 56]


@pytest.mark.parametrize("policy", ["clients", "anywhere"])
def test_parts_read_together_give_the_whole_analysis(
    home: Path, parts: list[Path], policy: str
) -> None:
    whole = analysis(home, [ESPN], policy)
    split = analysis(home, parts, policy)
    assert without_inputs(split) == without_inputs(whole)
    convs = truth(ESPN)["conversations"]["tcp"] + truth(ESPN)["conversations"]["udp"]
    nbytes = sum(c["ip_bytes_a_to_b"] + c["ip_bytes_b_to_a"] for c in convs)
    assert whole["headline"]["in_scope"] == {"flows": len(convs), "bytes": nbytes}
    assert (len(convs), nbytes) == (39, 638797)
    assert whole["headline"]["violation"]["flows"] > 0  # the evidence pointers are compared
    began = [e["input"] for d in split["violations"] for e in d["evidence"]]
    assert set(began) <= {p.name for p in parts} and len(set(began)) == 4
    captures = split["inputs"]["captures"]
    assert [(c["file"], c["records"]) for c in captures] == [
        (p.name, n) for p, n in zip(parts, (300, 300, 300, 56), strict=True)
    ]


def test_parts_given_in_reverse_are_read_in_time_order(home: Path, parts: list[Path]) -> None:
    forward = analysis(home, parts)
    backward = analysis(home, parts[::-1])
    assert backward == forward
    assert [c["file"] for c in backward["inputs"]["captures"]] == [p.name for p in parts]


def ip_bytes_by_conversation(path: Path) -> Counter[tuple[int, frozenset[tuple[str, int]]]]:
    """IP bytes of every TCP and UDP packet in a capture, by conversation, read by scapy."""
    found: Counter[tuple[int, frozenset[tuple[str, int]]]] = Counter()
    for p in rdpcap(str(path)):
        if IP in p and (TCP in p or UDP in p):
            l4 = p[TCP] if TCP in p else p[UDP]
            found[(p[IP].proto, frozenset({(p[IP].src, l4.sport), (p[IP].dst, l4.dport)}))] += (
                p[IP].len
            )
    return found


def later_parts_truth(first_part: Path, records: int) -> tuple[int, int, int]:
    """(flows, bytes, bytes with a guessed direction) of cs_http_espn after its first part:
    each tshark conversation's bytes less what scapy finds of it in the first part. A TCP
    conversation begun in the first part has no SYN later (only its ports orient it); UDP
    never has one."""
    convs = truth(ESPN)["conversations"]
    before = ip_bytes_by_conversation(first_part)
    flows = total = guessed = 0
    for proto, found in ((6, convs["tcp"]), (17, convs["udp"])):
        for c in found:
            key = (proto, frozenset({(c["a_addr"], c["a_port"]), (c["b_addr"], c["b_port"])}))
            later = c["ip_bytes_a_to_b"] + c["ip_bytes_b_to_a"] - before[key]
            if later:
                flows += 1
                total += later
                guessed += later if proto == 17 or c["first_frame"] <= records else 0
    return flows, total, guessed


def test_a_capture_that_starts_mid_connection_keeps_its_flows_in_scope(
    home: Path, parts: list[Path]
) -> None:
    flows, total, guessed = later_parts_truth(parts[0], 300)
    assert (flows, total, guessed) == (32, 434239, 216316)
    by_networks = analysis(home, parts[1:], "clients")
    assert by_networks["headline"]["in_scope"] == {"flows": flows, "bytes": total}
    assert by_networks["headline"]["out_of_scope"] == {"flows": 0, "bytes": 0}
    assert by_networks["direction"]["inferred"] == {"flows": 0, "bytes": 0}
    assert by_networks["direction"]["by"]["local-networks"] == {"flows": flows, "bytes": total}
    by_ports = analysis(home, parts[1:], "anywhere")
    assert by_ports["headline"]["in_scope"] == {"flows": flows, "bytes": total}
    assert by_ports["direction"]["inferred"] == {"flows": 6 + 9, "bytes": guessed}
    assert by_ports["direction"]["by"]["ports"] == {"flows": 6 + 9, "bytes": guessed}
    assert by_ports["direction"]["by"]["syn"] == {"flows": 17, "bytes": total - guessed}


def test_parts_one_by_one_keep_every_in_scope_byte(home: Path, parts: list[Path]) -> None:
    """The trap of issue 11: `editcap -c 300` parts analysed one by one once moved 17.6% of
    the in-scope bytes out of scope (a server taken for the local side)."""
    whole = analysis(home, [ESPN])["headline"]
    each = [analysis(home, [p])["headline"] for p in parts]
    assert sum(h["in_scope"]["bytes"] for h in each) == whole["in_scope"]["bytes"] == 638797
    assert sum(h["out_of_scope"]["bytes"] for h in each) == 0


def test_the_same_capture_twice_is_read_once(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.pcapng"
    copy.write_bytes(ESPN.read_bytes())
    policy = str(home / "clients.yaml")
    code, out, err = run(home, "analyze", str(ESPN), str(copy), "--policy", policy, "--json")
    once = json.loads(run(home, "analyze", str(ESPN), "--policy", policy, "--json")[1])
    doc = json.loads(out)
    assert code == 1
    assert without_inputs(doc) == without_inputs(once)
    first, repeat = doc["inputs"]["captures"]
    assert (first["file"], first["records"], first["same_as"]) == (ESPN.name, 956, None)
    assert (repeat["file"], repeat["records"], repeat["same_as"]) == (copy.name, 0, ESPN.name)
    assert repeat["sha256"] == first["sha256"]
    warning = (f"{copy.name}: the same capture as {ESPN.name} (sha256 {first['sha256'][:16]}"
               "...): read once")
    assert repeat["warnings"] == [warning]
    assert err.count("the same capture") == 1 and f"warning: {warning}\n" in err


def test_flows_lists_a_connection_across_files_once(home: Path, parts: list[Path]) -> None:
    code, out, err = run(home, "flows", "--json", *map(str, parts[::-1]))
    lines = [json.loads(line) for line in out.splitlines()]
    whole = [json.loads(line) for line in run(home, "flows", "--json", str(ESPN))[1].splitlines()]
    assert code == 0 and len(lines) == len(whole) == 39
    assert [{**f, "capture": ""} for f in lines] == [{**f, "capture": ""} for f in whole]
    began = Counter(f["capture"] for f in lines)
    assert began == {str(parts[0]): 13, str(parts[1]): 15, str(parts[2]): 9, str(parts[3]): 2}
    assert sum(c["first_frame"] <= 300 for c in truth(ESPN)["conversations"]["tcp"]
               + truth(ESPN)["conversations"]["udp"]) == 13  # fmt: skip
    assert err.splitlines()[0] == f"{parts[0]}: 300 records read, 300 decoded, skipped: none"


S = 1_000_000_000
WINDOWS = [
    ("2010-04-07T17:29:30", "2010-04-07T17:29:31"),
    ("2010-04-07T17:29:31", None),
    (None, "2010-04-07T17:29:30"),
]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
def test_since_and_until_select_flows_of_captures(
    home: Path, since: str | None, until: str | None
) -> None:
    """The journal's rule, on captures: a flow counts when its capture times overlap
    [since, until); counted here from tshark's conversations."""

    def ns(text: str | None) -> int | None:
        return None if text is None else int(datetime.fromisoformat(text).replace(
            tzinfo=UTC).timestamp() * S)  # fmt: skip

    lo, hi = ns(since), ns(until)
    convs = truth(ESPN)["conversations"]
    want = sum(
        1 for c in convs["tcp"] + convs["udp"]
        if (lo is None or round(float(c["last_ts"]) * S) >= lo)
        and (hi is None or round(float(c["first_ts"]) * S) < hi)
    )  # fmt: skip
    window = [*(["--since", since] if since else []), *(["--until", until] if until else [])]
    code, out, _ = run(home, "flows", "--json", str(ESPN), *window)
    assert code == 0 and len(out.splitlines()) == want
    code, out, _ = run(home, "analyze", str(ESPN), "--policy", str(home / "clients.yaml"),
                       "--json", *window)  # fmt: skip
    doc = json.loads(out)
    assert doc["headline"]["in_scope"]["flows"] == want
    assert doc["window"] == {"since": None if lo is None else f"{lo // S}.{lo % S:09d}",
                             "until": None if hi is None else f"{hi // S}.{hi % S:09d}"}
    assert (want, since, until) in {(27, *WINDOWS[0]), (17, *WINDOWS[1]), (4, *WINDOWS[2])}


SHAPES = [  # (not hk_be_test202: its simple packet blocks carry no time, so a part that starts
    # with one cannot be dated)
    "suri_tls-client-hello-frag-01__dump_mtu300.pcap",  # a ClientHello over several segments
    "tcpdump_geneve.pcap",  # flows inside a tunnel
    "hk_le_test006.pcapng",  # two interfaces
    "zeek_pcapng-multi-interface.pcapng",
]


@pytest.mark.parametrize("name", SHAPES)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_split_gives_the_same_analysis(home: Path, name: str, data: st.DataObject) -> None:
    path = PCAPS / name
    n = truth(path)["packet_count"]
    cuts = data.draw(st.sets(st.integers(1, n - 1), max_size=min(n - 1, 6)), label="cuts")
    whole = analysis(home, [path], "anywhere")
    with tempfile.TemporaryDirectory() as out:
        split = split_capture(path, Path(out), cuts=sorted(cuts))
        starts = [first_timestamp(str(p)) for p in split]
        # files are put in order by their first packet: parts that start at the same time
        # can only be read in the order given
        order = data.draw(st.permutations(split), label="order") if len(set(starts)) == len(
            starts) else split  # fmt: skip
        assert without_inputs(analysis(home, order, "anywhere")) == without_inputs(whole)


def test_a_damaged_part_ends_there_and_the_reading_goes_on(
    home: Path, parts: list[Path], tmp_path: Path
) -> None:
    data = parts[1].read_bytes()
    damaged = tmp_path / "damaged.pcapng"
    damaged.write_bytes(data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2 :])
    given = [parts[0], damaged, parts[2], parts[3]]
    code, out, err = run(home, "analyze", *map(str, given), "--policy",
                         str(home / "clients.yaml"), "--json")  # fmt: skip
    doc = json.loads(out)
    assert code == 5 and err.count("error:") == 1 and str(damaged) in err
    assert not doc["complete"]
    records = [(c["file"], c["records"], bool(c["error"])) for c in doc["inputs"]["captures"]]
    assert records[0] == (parts[0].name, 300, False)
    assert records[1][0] == damaged.name and 0 < records[1][1] < 300 and records[1][2]
    assert records[2:] == [(parts[2].name, 300, False), (parts[3].name, 56, False)]
    assert doc["headline"]["in_scope"]["flows"] == 39  # no connection lost, none cut in two
    assert doc["headline"]["out_of_scope"]["flows"] == 0


def test_a_guessed_local_side_is_said_in_the_terminal_and_the_report(
    home: Path, parts: list[Path], tmp_path: Path
) -> None:
    _, _, guessed = later_parts_truth(parts[0], 300)
    later = [str(p) for p in parts[1:]]
    code, text, _ = run(home, "analyze", *later, "--policy", str(home / "anywhere.yaml"))
    [line] = [x for x in text.splitlines() if x.startswith("side guessed")]
    assert line.split()[2] == "15" and line.split()[4] == f"{guessed:,}"
    code, text, _ = run(home, "analyze", *later, "--policy", str(home / "clients.yaml"))
    assert "side guessed" not in text  # the local networks decided every flow
    out = tmp_path / "r.json"
    code, _, err = run(home, "report", *later, "--policy", str(home / "anywhere.yaml"),
                       "--out", str(out))  # fmt: skip
    assert code == 0, err
    said = json.loads(out.read_bytes())["report"]["coverage"]["direction_guessed"]
    assert (said["flows"], said["bytes"], said["by"]["ports"]["bytes"]) == (15, guessed, guessed)


def test_listing_hashes_only_files_that_could_be_repeats(tmp_path: Path) -> None:
    """`flows` names no hashes, so only files of a size another file has are hashed (a repeat
    must have the same size); a repeat is still found and read once."""
    if not PCAPS.is_dir():
        pytest.skip(f"needs the shared captures in {PCAPS} (CI has them)")
    copy = tmp_path / "again.pcapng"
    copy.write_bytes(ESPN.read_bytes())
    other = PCAPS / "zeek_get.pcap"
    parts = plan([str(ESPN), str(other), str(copy)], hashed=False)
    by_path = {p.path: p for p in parts}
    assert by_path[str(other)].sha256 == ""
    assert by_path[str(ESPN)].sha256 == by_path[str(copy)].sha256 != ""
    assert by_path[str(copy)].same_as == str(ESPN)


def test_an_analysis_hashes_each_capture_as_it_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`analyze` names its captures by sha256 without reading them for it: each is hashed as it
    is read (a compressed one as stored), with what follows a damage part-way; only files of a
    size another file has are hashed first, to find the repeats."""
    if not PCAPS.is_dir():
        pytest.skip(f"needs the shared captures in {PCAPS} (CI has them)")
    data = ESPN.read_bytes()
    damaged, packed, copy = tmp_path / "damaged.pcapng", tmp_path / "z.pcap.gz", tmp_path / "c"
    damaged.write_bytes(data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2 :])
    packed.write_bytes(gzip.compress((PCAPS / "zeek_get.pcap").read_bytes()))
    copy.write_bytes(data)
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1 << 16)  # the damage ends the reading early
    paths = [str(p) for p in (ESPN, damaged, packed, copy)]
    planned = {p.path: p for p in plan(paths)}
    assert [planned[p].hashing for p in paths] == [False, True, True, False]
    assert not planned[str(damaged)].sha256 and planned[str(copy)].same_as == str(ESPN)
    recording = Recording(list(planned.values()), FlowPipeline())
    assert sum(len(b) for b, _ in recording.flows()) > 0
    read = {r.part.path: r for r in recording.read}
    assert read[str(damaged)].error is not None  # read up to the damage, hashed whole
    for path in paths:
        content = Path(path).read_bytes()
        assert read[path].part.sha256 == hashlib.sha256(content).hexdigest()
        assert read[path].part.size == len(content)

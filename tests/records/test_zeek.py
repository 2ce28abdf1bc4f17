import json
from pathlib import Path

import pytest

from agent.errors import CorruptRecords
from agent.flows.community import community_id
from agent.records import FlowRecord
from agent.records.zeek import parse_zeek_json, parse_zeek_tsv
from tests.records.helpers import flows, read, tuple5

FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
    "resp_bytes conn_state orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes"
).split()


def test_conn_json_ip_bytes_not_payload(flowlogs: Path) -> None:
    records = flows(read(flowlogs / "zeek-conn" / "elastic-integrations__test-conn.json.log",
                         "zeek-json"))  # fmt: skip
    assert len(records) == 18
    dns = records[0]
    assert (tuple5(dns), dns.packets, dns.bytes, dns.packets_rev, dns.bytes_rev) == (
        (17, "192.168.86.167", 38339, "192.168.86.1", 53), 1, 103, 1, 206,
    )  # fmt: skip
    assert (dns.first_ns, dns.last_ns) == (1547188415857497000, 1547188415934464000)
    assert (dns.bidirectional, dns.source, dict(dns.fields)["uid"]) == (
        True, "zeek-conn", "CAcJw21BbVedgFnYH3",
    )  # fmt: skip
    icmp = records[3]
    assert (icmp.proto, icmp.bytes, icmp.last_ns - icmp.first_ns) == (1, 107, 0)
    assert (sum(r.bytes for r in records), sum(r.bytes_rev for r in records)) == (612, 2556)
    assert (sum(r.packets for r in records), sum(r.packets_rev for r in records)) == (8, 20)


def test_an_iso_timestamp_is_read_to_the_ns(flowlogs: Path) -> None:
    lines = (flowlogs / "zeek-conn" / "elastic-integrations__test-conn.json.log").read_bytes()
    iso = [json.loads(x) for x in lines.splitlines() if b'"ts":"' in x]
    assert iso, "the sample has one ISO-8601 ts"
    (r,) = parse_zeek_json([json.dumps(iso[0]).encode()])
    assert r.first_ns == r.last_ns == 1623272113160328000  # 2021-06-09T20:55:13.160328Z


def test_tsv_reads_the_same_records_as_json(flowlogs: Path) -> None:
    """The JSON sample written out as Zeek's TSV writer would: the same records."""
    path = flowlogs / "zeek-conn" / "elastic-integrations__test-conn.json.log"
    rows = [json.loads(x) for x in path.read_bytes().splitlines() if x.strip()]
    rows = [r for r in rows if not isinstance(r["ts"], str)]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", "#path\tconn", "#fields\t" + "\t".join(FIELDS)]  # fmt: skip
    body = ["\t".join(str(r.get(f, "-")) for f in FIELDS) for r in rows]
    tsv = [(x + "\n").encode() for x in [*head, *body, "#close\t2019-01-11-06-33-35"]]
    got = list(parse_zeek_tsv(tsv, "conn.log"))
    want = list(parse_zeek_json([json.dumps(r).encode() for r in rows]))
    assert [key(r) for r in got] == [key(r) for r in want] and len(got) == 17
    assert got[0].where.line == 7


def key(r: FlowRecord) -> tuple[object, ...]:
    return (*tuple5(r), r.first_ns, r.last_ns, r.packets, r.bytes, r.packets_rev, r.bytes_rev)


def test_tsv_damage_names_its_line() -> None:
    lines = [b"#separator \\x09\n", b"#fields\tts\tid.orig_h\tid.resp_h\tproto\n",
             b"1.5\t10.0.0.1\t10.0.0.2\ttcp\n", b"1.5\t10.0.0.1\ttcp\n"]  # fmt: skip
    seen: list[FlowRecord] = []
    with pytest.raises(CorruptRecords, match=r"c.log: line 4: too few values: 3 for the 4 #fields"):
        seen.extend(parse_zeek_tsv(lines, "c.log"))
    assert len(seen) == 1


def test_community_id_as_zeek_logged_it(flowlogs: Path) -> None:
    """Zeek's own conn.log baseline (zeek-cut of id.*, proto, service, community_id)."""
    for name in ("zeek__community-id-logging__conn.log.cut",
                 "zeek__community-id-logging-flipped__conn.log.cut"):  # fmt: skip
        line = (flowlogs / "zeek-conn" / name).read_text().splitlines()[1].split("\t")
        orig, orig_p, resp, resp_p, _, _, cid = line
        assert community_id(6, orig, int(orig_p), resp, int(resp_p)) == cid
        assert community_id(6, resp, int(resp_p), orig, int(orig_p)) == cid

"""Write the demo world: pcaps/demo.pcapng, pcaps/demo.pcap and the range files in pcaps/demo-world.

Why synthetic: a real capture of a real phone cannot be shipped, no provider's range file may be
bundled, and the demo must show every verdict a policy can give, in one story a regulator can
follow. So the world is made up, over documentation space only (RFC 5737 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24; RFC 3849 2001:db8::/32), which no real traffic can match: small
range files in the providers' official formats (demo-*), placed beside the operator's example
sites (rules/sites.yaml), and a capture of one US client (10.20.0.15, 2001:db8:20::15 on the LAN
10.20.0.0/24, resolver 10.20.0.2) whose app reaches Oracle Cloud US regions and the operator's
Virginia site as it should, backs up to the Singapore site under a dated exception, leaks to AWS
Singapore and OCI Frankfurt, and reaches a region-less CDN and, by address literal with no name
at all, an address no data covers. A management box on another network (10.30.0.7, VLAN 30) is
outside the policy's scope. The names (*.app.example) are invented; every other connection is
preceded by the DNS answer that gave its address.

Every run writes the same bytes: fixed seed, fixed timestamps from 2026-03-02T14:00:00Z, no clock
reads. `python pcaps/make_demo.py [DIR]` writes into DIR (default: pcaps/).

The containers are part of what is tested (written by pcaps/capfile.py, the frames by
pcaps/frames.py, the TCP conversations by pcaps/conversation.py, the TLS, DNS and QUIC messages
by pcaps/messages.py). demo.pcapng is little-endian
with one section and two Ethernet interfaces: eth0 with if_tsresol 9 (nanoseconds, sub-microsecond
digits used) and eth1, a trunk mirror with VLAN-tagged frames, at the default microseconds.
demo.pcap holds the same frames in order as classic microsecond pcap (nanoseconds truncated).
TLS connections carry real ClientHellos; the QUIC flow opens with a real, protected v1 Initial
(RFC 9001 keys), so any QUIC dissector reads its server name. The rest of each payload is random.
"""

from __future__ import annotations

import json
import random
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:  # run as a script, `python pcaps/make_demo.py`: the repository's packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pcaps.capfile import Interface, pcap_file, pcapng_file  # noqa: E402
from pcaps.conversation import GAP_NS, MS, US, Capture, Peer, TcpFlow, peer  # noqa: E402
from pcaps.frames import (  # noqa: E402
    BROADCAST,
    ETH_ARP,
    IPPROTO_ICMP,
    IPPROTO_UDP,
    arp,
    ethernet,
    icmp_echo,
    udp,
)
from pcaps.messages import (  # noqa: E402
    ack_frame,
    app_data,
    client_hello,
    crypto_frame,
    dns_message,
    dns_name,
    initial_keys,
    quic_handshake,
    quic_initial,
    server_flight,
    server_hello,
    tls_record,
)

HERE = Path(__file__).resolve().parent
WORLD = "demo-world"
SEED = 20260302
START_NS = int(datetime(2026, 3, 2, 14, 0, 0, tzinfo=UTC).timestamp()) * 10**9
RANGES_DATE = datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC)
"""When the demo range files say they were made: the day before the capture."""
INTERFACES = (
    Interface(name="eth0", description="client access port", tsresol=9),
    Interface(name="eth1", description="trunk mirror, VLANs 20 and 30"),
)
"""eth0 at nanoseconds (sub-microsecond digits used), eth1 at the default microseconds."""


def tls_session(flow: TcpFlow, sni: str | None, exchanges: list[tuple[int, int]]) -> None:
    """Handshake, TLS 1.3 with `sni`, one exchange per (request, response) size, teardown."""
    rng = flow.rng
    flow.handshake()
    hello = tls_record(22, client_hello(sni, rng), 0x0301)
    flow.exchange(hello, server_flight(rng, rng.randrange(2800, 4200)), 50 * US, MS)
    finished = tls_record(20, b"\1") + app_data(rng, 58)
    for i, (req, resp) in enumerate(exchanges):
        think = 300 * US if i == 0 else rng.randrange(150, 1800) * MS
        flow.exchange(
            (finished if i == 0 else b"") + app_data(rng, req),
            app_data(rng, resp),
            think,
            rng.randrange(2, 40) * MS,
        )
    flow.close(rng.randrange(800, 2500) * MS)


def dns(
    cap: Capture,
    rng: random.Random,
    t_ns: int,
    client: Peer,
    resolver: Peer,
    qname: str,
    qtype: int,
    answers: list[tuple[int, str]],
    vlan: int | None = None,
) -> int:
    """One query and its answer over UDP 53; returns the time of the answer."""
    sport, txid = rng.randrange(32768, 61000), rng.getrandbits(16)
    iface = 0 if vlan is None else 1
    query = udp(sport, 53, dns_message(txid, qname, qtype, None))
    cap.add(t_ns, client.frame(resolver, IPPROTO_UDP, query, vlan), iface)
    answer = udp(53, sport, dns_message(txid, qname, qtype, answers))
    t_ns += rng.randrange(400, 2500) * US
    cap.add(t_ns, resolver.frame(client, IPPROTO_UDP, answer, vlan), iface)
    return t_ns


def mdns(cap: Capture, t_ns: int, sender: Peer, service: str) -> None:
    """One multicast DNS PTR question to 224.0.0.251:5353, sent with TTL 255 (RFC 6762 11)."""
    group = peer("01:00:5e:00:00:fb", "224.0.0.251", 255)
    question = struct.pack("!6H", 0, 0, 1, 0, 0, 0) + dns_name(service) + struct.pack("!HH", 12, 1)
    cap.add(t_ns, sender.frame(group, IPPROTO_UDP, udp(5353, 5353, question), ttl=255))


def quic_session(
    cap: Capture,
    rng: random.Random,
    client: Peer,
    server: Peer,
    t_ns: int,
    rtt_ns: int,
    sni: str,
) -> None:
    """Initial/Handshake exchange, a 1-RTT download with ACKs, on UDP 443. The Initials are real
    (a passive observer can open them); Handshake and 1-RTT packets are random bytes of the shape
    of the packets they stand for, which no observer can open."""
    sport = rng.randrange(49152, 65535)
    ccid, scid = rng.randbytes(8), rng.randbytes(8)

    def send(t: int, side: int, payload: bytes) -> None:
        ports = (sport, 443) if side == 0 else (443, sport)
        ends = (client, server) if side == 0 else (server, client)
        cap.add(t, ends[0].frame(ends[1], IPPROTO_UDP, udp(*ports, payload)))

    def short(cid: bytes, size: int) -> bytes:
        return bytes([0x40 | rng.getrandbits(5)]) + cid + rng.randbytes(size - 1 - len(cid))

    dcid = rng.randbytes(8)
    mine, theirs = initial_keys(dcid, b"client"), initial_keys(dcid, b"server")
    send(t_ns, 0, quic_initial(mine, dcid, ccid, crypto_frame(client_hello(sni, rng, ccid)), 0))
    t_ns += rtt_ns
    answer = ack_frame(0, 90) + crypto_frame(server_hello(rng, b""))
    send(t_ns, 1, quic_initial(theirs, ccid, scid, answer, 0))
    send(t_ns + GAP_NS, 1, quic_handshake(ccid, scid, 1200, rng))
    send(t_ns + 2 * GAP_NS, 1, quic_handshake(ccid, scid, 1100, rng))
    t_ns += 2 * GAP_NS + 400 * US
    send(t_ns, 0, quic_initial(mine, scid, ccid, ack_frame(0, 120), 1))
    send(t_ns + 50 * US, 0, short(scid, 180))
    t_ns += rtt_ns
    for burst in range(3):
        for i in range(8):
            send(t_ns + i * GAP_NS, 1, short(ccid, 1252))
            if i % 2:
                send(t_ns + i * GAP_NS + 40 * US, 0, short(scid, 40))
        t_ns += rng.randrange(300, 900) * MS if burst < 2 else 8 * GAP_NS
    send(t_ns + 20 * MS, 0, short(scid, 45))
    send(t_ns + 20 * MS + rtt_ns, 1, short(ccid, 35))


def http_get(flow: TcpFlow, host: str, path: str, body: int) -> None:
    """HTTP/1.1 over TCP 80: one GET with a Host header and an octet-stream response."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: okhttp/4.12.0\r\n"
        "Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"
    )
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {body}\r\nCache-Control: max-age=86400\r\n"
        "Date: Mon, 02 Mar 2026 14:00:03 GMT\r\n\r\n"
    )
    flow.handshake()
    flow.exchange(request.encode(), head.encode() + flow.rng.randbytes(body), 0, 6 * MS)
    flow.close(1500 * MS)


def who_has(cap: Capture, t_ns: int, asker: Peer, owner: Peer) -> None:
    """Who-has `owner` from `asker`, and the reply."""
    ask = arp(1, asker.mac, asker.addr, bytes(6), owner.addr)
    cap.add(t_ns, ethernet(BROADCAST, asker.mac, ETH_ARP, ask))
    tell = arp(2, owner.mac, owner.addr, asker.mac, asker.addr)
    cap.add(t_ns + 310 * US, ethernet(asker.mac, owner.mac, ETH_ARP, tell))


def ping(cap: Capture, t_ns: int, src: Peer, dst: Peer, rtt_ns: int, count: int) -> None:
    """ICMP echo request/reply pairs, one a second, with a 56-byte payload."""
    for seq in range(1, count + 1):
        data = bytes(range(56))
        cap.add(t_ns, src.frame(dst, IPPROTO_ICMP, icmp_echo(0x51, seq, data)))
        cap.add(t_ns + rtt_ns, dst.frame(src, IPPROTO_ICMP, icmp_echo(0x51, seq, data, True)))
        t_ns += 1000 * MS


def story(rng: random.Random) -> Capture:
    """The demo capture: a US client's app, one connection of each kind the policy judges."""
    cap = Capture({1: US})  # eth1 keeps microseconds only
    gw_mac, gw30_mac = "02:00:0a:14:00:01", "02:00:0a:1e:00:01"
    client = peer("02:00:0a:14:00:0f", "10.20.0.15", 64, padded=False)
    client6 = peer("02:00:0a:14:00:0f", "2001:db8:20::15", 64, padded=False)
    gateway = peer(gw_mac, "10.20.0.1", 64)
    resolver = peer("02:00:0a:14:00:02", "10.20.0.2", 64)
    tv = peer("02:00:0a:14:00:25", "10.20.0.37", 64, padded=False)
    admin = peer("02:00:0a:1e:00:07", "10.30.0.7", 128, padded=False)
    resolver30 = peer("02:00:0a:1e:00:02", "10.30.0.2", 64)  # the management network's
    api = peer(gw_mac, "192.0.2.10", 52)  # OCI us-ashburn-1
    media = peer(gw_mac, "192.0.2.70", 47)  # OCI us-phoenix-1
    eu = peer(gw_mac, "192.0.2.100", 41)  # OCI eu-frankfurt-1
    edge = peer(gw_mac, "198.51.100.20", 58)  # site operator-virginia
    im6 = peer(gw_mac, "2001:db8:100::20", 58)  # site operator-virginia
    backup = peer(gw_mac, "203.0.113.50", 45)  # site operator-singapore
    stats = peer(gw_mac, "192.0.2.140", 39)  # AWS ap-southeast-1
    stats6 = peer(gw_mac, "2001:db8:b000::40", 39)  # AWS ap-southeast-1
    cdn = peer(gw_mac, "192.0.2.200", 247)  # AWS GLOBAL (CloudFront): no region
    unknown6 = peer(gw_mac, "2001:db8:ffff::30", 51)  # in no range file
    stats30 = peer(gw30_mac, "192.0.2.140", 39)
    ops_us = peer(gw_mac, "198.51.100.150", 58)  # site operator-virginia: staff
    ops_sg = peer(gw_mac, "203.0.113.80", 45)  # site operator-singapore: staff
    t0 = START_NS + 137_482_913  # sub-microsecond digits on purpose: eth0 is nanosecond

    def port() -> int:
        return rng.randrange(49152, 65535)

    def lookup(
        t: int,
        name: str,
        qtype: int,
        answers: list[tuple[int, str]],
        asker: Peer = client,
        vlan: int | None = None,
        server: Peer = resolver,
    ) -> int:
        return dns(cap, rng, t, asker, server, name, qtype, answers, vlan)

    def tls(
        t: int, src: Peer, dst: Peer, rtt: int, sni: str | None, ex: list[tuple[int, int]],
        vlan: int | None = None,
    ) -> None:  # fmt: skip
        tls_session(TcpFlow(cap, rng, src, dst, (port(), 443), t, rtt, vlan), sni, ex)

    who_has(cap, t0, client, gateway)
    t = lookup(t0 + 21 * MS, "api.us.app.example", 1, [(1, str(api.addr))])
    lookup(t0 + 21 * MS + 90 * US, "api.us.app.example", 28, [])
    exchanges = [(620, 4800), (910, 12800), (540, 2300), (1800, 6400), (480, 900)]
    tls(t + 2 * MS, client, api, 11 * MS, "api.us.app.example", exchanges)
    ping(cap, t0 + 400 * MS, client, api, 11 * MS, 2)

    t = lookup(t0 + 1200 * MS, "edge.us.app.example", 1, [(1, str(edge.addr))])
    tls(t + MS, client, edge, 4 * MS, "edge.us.app.example", [(760, 152_000), (690, 48_000)])

    t = lookup(t0 + 3100 * MS, "eu.app.example", 1, [(1, str(eu.addr))])
    thumbs = TcpFlow(cap, rng, client, eu, (port(), 80), t + MS, 92 * MS)
    http_get(thumbs, "eu.app.example", "/obj/thumb-7342.jpeg", 9200)

    t = lookup(t0 + 4200 * MS, "im.us.app.example", 28, [(28, str(im6.addr))])
    tls(t + MS, client6, im6, 6 * MS, "im.us.app.example", [(350, 1200), (420, 9800), (300, 640)])

    t = lookup(t0 + 5300 * MS, "media.us.app.example", 1, [(1, str(media.addr))])
    quic_session(cap, rng, client, media, t + MS, 48 * MS, "media.us.app.example")
    mdns(cap, t0 + 5800 * MS, client, "_ipp._tcp.local")

    t = lookup(t0 + 6500 * MS, "api.us.app.example", 1, [(1, str(api.addr))], tv, vlan=20)
    lookup(t + 80 * US, "api.us.app.example", 28, [], tv, vlan=20)

    t = lookup(t0 + 7000 * MS, "analytics.app.example", 1, [(1, str(stats.addr))])
    t6 = lookup(t + 60 * US, "analytics.app.example", 28, [(28, str(stats6.addr))])
    tls(t + MS, client, stats, 230 * MS, "analytics.app.example", [(2400, 310), (3100, 310)])
    tls(t6 + 3 * MS, client6, stats6, 230 * MS, "analytics.app.example", [(1900, 310)])

    alias = (5, "edge-global.cdn.example")
    t = lookup(t0 + 7600 * MS, "cdn.app.example", 1, [alias, (1, str(cdn.addr))])
    tls(t + MS, client, cdn, 6 * MS, "cdn.app.example", [(540, 38_000)])
    tls(t0 + 7900 * MS, client6, unknown6, 70 * MS, None, [(800, 1500)])  # a hard-coded address

    t = lookup(t0 + 8200 * MS, "backup.sg.app.example", 1, [(1, str(backup.addr))])
    tls(t + MS, client, backup, 228 * MS, "backup.sg.app.example", [(64_000, 420), (18_000, 420)])

    answer = [(1, str(stats30.addr))]
    t = lookup(t0 + 9000 * MS, "analytics.app.example", 1, answer, admin, 30, resolver30)
    tls(t + MS, admin, stats30, 231 * MS, "analytics.app.example", [(700, 5200)], vlan=30)

    # Into the US users' database (VLAN 20, the trunk mirror): the operator's Virginia staff
    # (allowed), then its Singapore staff reading the same table (an access violation).
    db = peer("02:00:0a:14:00:0a", "10.20.0.10", 64, padded=False)
    for at, origin, rtt, rows in ((9500, ops_us, 3 * MS, 61_000), (9800, ops_sg, 226 * MS, 84_000)):
        session = TcpFlow(cap, rng, origin, db, (port(), 5432), t0 + at * MS, rtt, vlan=20)
        session.handshake()
        session.exchange(b"Q" + bytes(96), b"T" + bytes(rows), 2 * MS, 4 * MS)
        session.close(3 * MS)
    return cap


# The demo world's range files, each in its provider's official layout (key order, indentation,
# final newline or not), so they read like the real files they stand for.


def oci_ranges() -> bytes:
    """public_ip_ranges.json. OCI publishes IPv4 only; the IPv6 block is the demo's own."""
    regions = {
        "us-ashburn-1": [("192.0.2.0/26", ["OCI", "OSN"]), ("2001:db8:a000::/40", ["OCI"])],
        "us-phoenix-1": [("192.0.2.64/27", ["OCI"])],
        "eu-frankfurt-1": [("192.0.2.96/27", ["OCI"])],
    }
    doc = {
        "last_updated_timestamp": RANGES_DATE.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "regions": [
            {"region": name, "cidrs": [{"cidr": c, "tags": tags} for c, tags in cidrs]}
            for name, cidrs in regions.items()
        ],
    }
    return (json.dumps(doc, indent=4) + "\n").encode()


def aws_ranges() -> bytes:
    """ip-ranges.json: each prefix once as AMAZON (the superset) and once as its service."""
    rows = [
        ("192.0.2.128/26", "ap-southeast-1", "EC2"),
        ("192.0.2.192/26", "GLOBAL", "CLOUDFRONT"),
        ("198.51.100.224/27", "us-east-1", "EC2"),
        ("2001:db8:b000::/40", "ap-southeast-1", "EC2"),
    ]
    lists: dict[str, list[dict[str, str]]] = {"prefixes": [], "ipv6_prefixes": []}
    for prefix, region, service in rows:
        v6 = ":" in prefix
        key, field = ("ipv6_prefixes", "ipv6_prefix") if v6 else ("prefixes", "ip_prefix")
        for said in ("AMAZON", service):
            entry = {field: prefix, "region": region, "service": said}
            lists[key].append({**entry, "network_border_group": region})
    stamp = {"syncToken": str(int(RANGES_DATE.timestamp())),
             "createDate": RANGES_DATE.strftime("%Y-%m-%d-%H-%M-%S")}  # fmt: skip
    return json.dumps({**stamp, **lists}, indent=2).encode()


def azure_tags() -> bytes:
    """ServiceTags_Public.json: a region's AzureCloud tag and a service tag over one prefix."""

    def tag(name: str, system: str, features: list[str]) -> dict[str, Any]:
        props = {"changeNumber": 1, "region": "eastus", "regionId": 32, "platform": "Azure",
                 "systemService": system, "addressPrefixes": ["198.51.100.192/28"],
                 "networkFeatures": features}  # fmt: skip
        return {"name": name, "id": name, "properties": props}

    values = [
        tag("AzureCloud.eastus", "", ["API", "NSG", "UDR", "FW"]),
        tag("Storage.EastUS", "AzureStorage", ["API", "NSG", "UDR", "FW", "VSE"]),
    ]
    return json.dumps({"changeNumber": 1, "cloud": "Public", "values": values}, indent=2).encode()


def gcp_ranges() -> bytes:
    """cloud.json, in Google's own layout: entries joined as `}, {`."""
    prefixes = [
        {"ipv4Prefix": "198.51.100.208/28", "service": "Google Cloud", "scope": "us-central1"}
    ]
    entries = [
        "{\n" + ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in e.items()) + "\n  }"
        for e in prefixes
    ]
    token = json.dumps(str(int(RANGES_DATE.timestamp() * 1000)))
    created = json.dumps(RANGES_DATE.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    return (f'{{\n  "syncToken": {token},\n  "creationTime": {created},\n  "prefixes": ['
            f"{', '.join(entries)}]\n}}\n").encode()  # fmt: skip


def country_rows() -> bytes:
    """DB-IP IP to Country Lite: headerless `start,end,cc`, sorted, one family per file."""
    rows = [("192.0.2.0", "192.0.2.255", "US"), ("198.51.100.0", "198.51.100.255", "US"),
            ("203.0.113.0", "203.0.113.255", "SG")]  # fmt: skip
    return "".join(f"{a},{b},{cc}\n" for a, b, cc in rows).encode()


README = """\
# DEMO DATA: the invented world of `make demo`

Nothing here is real. Every file is written by `pcaps/make_demo.py` (run it again to get the
same bytes) and covers documentation address space only: 192.0.2.0/24, 198.51.100.0/24 and
203.0.113.0/24 (RFC 5737) and 2001:db8::/32 (RFC 3849). No real traffic can ever match these
ranges, and no provider published them: each file only has the *format* of its provider's
official file, so that `residency ranges import` reads it like the real one.

- `demo-oci-public_ip_ranges.json`, as Oracle Cloud's public_ip_ranges.json: us-ashburn-1
  192.0.2.0/26 and 2001:db8:a000::/40 (OCI publishes no IPv6; the demo does), us-phoenix-1
  192.0.2.64/27, eu-frankfurt-1 192.0.2.96/27.
- `demo-aws-ip-ranges.json`, as AWS ip-ranges.json: ap-southeast-1 (Singapore) 192.0.2.128/26
  and 2001:db8:b000::/40; GLOBAL (CloudFront: no region) 192.0.2.192/26; us-east-1
  198.51.100.224/27.
- `demo-azure-servicetags-public.json`, as Azure's public-cloud Service Tags: eastus
  198.51.100.192/28.
- `demo-gcp-cloud.json`, as Google Cloud's cloud.json: us-central1 198.51.100.208/28.
- `demo-dbip-country-lite.csv`, as DB-IP's IP to Country Lite CSV: 192.0.2.0/24 US,
  198.51.100.0/24 US, 203.0.113.0/24 SG.

The operator's sites are in `rules/sites.yaml` (198.51.100.0/25, 198.51.100.128/26 and
2001:db8:100::/48 in Virginia; 203.0.113.0/24 and 2001:db8:200::/48 in Singapore).
2001:db8:ffff::/48 is in no file on purpose: an address nobody places.

Import them into a store of their own, never into the one that holds real provider data: being
newer, they would become the current version of each provider and hide the real ranges.

```sh
export RESIDENCY_HOME=$(mktemp -d)
residency ranges import pcaps/demo-world/demo-* rules/sites.yaml
residency lookup 192.0.2.10 192.0.2.140 198.51.100.20 2001:db8:ffff::30
```
"""

WORLD_FILES = {
    "demo-oci-public_ip_ranges.json": oci_ranges,
    "demo-aws-ip-ranges.json": aws_ranges,
    "demo-azure-servicetags-public.json": azure_tags,
    "demo-gcp-cloud.json": gcp_ranges,
    "demo-dbip-country-lite.csv": country_rows,
    "README.md": README.encode,
}


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else HERE
    packets = story(random.Random(SEED)).ordered()
    application = "pcaps/make_demo.py"
    ng = pcapng_file(packets, INTERFACES, hardware="residency demo generator", os="Linux",
                     application=application)  # fmt: skip
    (out / "demo.pcapng").write_bytes(ng)
    (out / "demo.pcap").write_bytes(pcap_file(packets))
    world = out / WORLD
    world.mkdir(parents=True, exist_ok=True)
    for name, make in WORLD_FILES.items():
        (world / name).write_bytes(make())
    print(f"wrote {len(packets)} packets to {out}/demo.pcapng and demo.pcap, "
          f"{len(WORLD_FILES)} files to {world}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv)

"""The flow table through the sans-IO pipeline: batches built in memory, no files."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from agent.chain.pipeline import FlowPipeline
from agent.model import Flow
from tests.support import SEC, batch_of

CLIENT, SERVER = "10.0.0.1", "129.213.0.10"


def run(packets: list[tuple[float, Packet | bytes]], **timeouts: float) -> list[Flow]:
    pipe = FlowPipeline(**timeouts)
    return [*pipe.feed(batch_of(packets)).records(), *pipe.finish().records()]


def tcp(src: str, dst: str, sport: int, dport: int, flags: str, payload: int = 0) -> Packet:
    return (
        Ether()
        / IP(src=src, dst=dst)
        / TCP(sport=sport, dport=dport, flags=flags)
        / Raw(b"p" * payload)
    )


def out(flags: str, payload: int = 0) -> Packet:
    return tcp(CLIENT, SERVER, 40000, 443, flags, payload)


def back(flags: str, payload: int = 0) -> Packet:
    return tcp(SERVER, CLIENT, 443, 40000, flags, payload)


def test_directions_count_ip_and_frame_bytes() -> None:
    [f] = run([(1, out("S")), (1.1, back("SA")), (1.2, out("A", 100)), (1.3, back("A", 1000))])
    assert (f.src, f.sport, f.dst, f.dport, f.proto) == (CLIENT, 40000, SERVER, 443, 6)
    assert (f.packets_fwd, f.bytes_fwd, f.frame_bytes_fwd) == (2, 40 + 140, 54 + 154)
    assert (f.packets_rev, f.bytes_rev, f.frame_bytes_rev) == (2, 40 + 1040, 54 + 1054)
    assert (f.first_ns, f.last_ns) == (1 * SEC, int(1.3 * SEC))
    assert (f.tcp_flags_fwd, f.tcp_flags_rev) == (0x12, 0x12)  # SYN|ACK seen each way


def test_initiator_is_the_syn_sender_even_when_the_syn_ack_comes_first() -> None:
    [f] = run([(1, back("SA")), (1.1, out("A"))])
    assert f.direction == "syn"
    assert (f.src, f.dst, f.packets_fwd, f.packets_rev) == (CLIENT, SERVER, 1, 1)


def test_without_a_syn_the_server_port_decides() -> None:
    """A capture that starts mid-connection: the server's packet comes first, but port 443
    against an ephemeral port says who the client is."""
    [f] = run([(1, back("A", 10)), (1.1, out("A"))])
    assert (f.src, f.sport, f.dst, f.dport) == (CLIENT, 40000, SERVER, 443)
    assert (f.packets_fwd, f.packets_rev) == (1, 1)
    assert f.direction == "ports"


def test_without_a_syn_or_telling_ports_the_first_sender_initiates() -> None:
    [f] = run(
        [(1, tcp(SERVER, CLIENT, 5000, 6000, "A", 10)), (1.1, tcp(CLIENT, SERVER, 6000, 5000, "A"))]
    )
    assert (f.src, f.sport, f.dst, f.dport) == (SERVER, 5000, CLIENT, 6000)
    assert f.direction == "first-packet"


def test_udp_answer_seen_first_is_oriented_by_ports() -> None:
    answer = Ether() / IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=51000)
    [f] = run([(1, answer)])
    assert (f.src, f.sport, f.dst, f.dport) == (CLIENT, 51000, SERVER, 53)
    assert f.direction == "ports"


def test_reused_tcp_tuple_after_close_starts_a_new_flow() -> None:
    closed = [(1, out("S")), (1.1, back("SA")), (1.2, out("FA")), (1.3, back("FA"))]
    flows = run([*closed, (5, out("S")), (5.1, back("SA"))])
    assert [(f.packets_fwd, f.packets_rev, f.end) for f in flows] == [
        (2, 2, "reused"),
        (1, 1, "eof"),
    ]


def test_reset_closes_and_a_retransmitted_syn_does_not() -> None:
    flows = run([(1, out("S")), (1.5, out("S")), (2, back("R")), (3, out("S"))])
    assert [(f.packets_fwd, f.packets_rev, f.end) for f in flows] == [
        (2, 1, "reused"),
        (1, 0, "eof"),
    ]


def test_half_closed_tcp_is_not_reused() -> None:
    flows = run([(1, out("S")), (1.1, out("FA")), (2, out("S"))])
    assert [f.packets_fwd for f in flows] == [3]


def dns(ts: float, sport: int = 5353) -> tuple[float, Packet]:
    return ts, Ether() / IP(src=CLIENT, dst="10.0.0.2") / UDP(sport=sport, dport=53) / Raw(b"q")


def test_idle_timeout_splits_a_flow_in_capture_time() -> None:
    flows = run([dns(0), dns(10), dns(100)], idle_timeout=30)
    assert [(f.packets_fwd, f.end) for f in flows] == [(2, "idle"), (1, "eof")]
    assert len(run([dns(0), dns(10), dns(100)])) == 1  # no timeout: one flow


def test_active_timeout_cuts_long_flows() -> None:
    flows = run([dns(t) for t in range(0, 100, 5)], active_timeout=60)
    assert [(f.packets_fwd, f.end) for f in flows] == [(13, "active"), (7, "eof")]


def test_idle_flows_are_swept_as_capture_time_passes() -> None:
    pipe = FlowPipeline(idle_timeout=30)
    assert len(pipe.feed(batch_of([dns(0, sport=1)]))) == 0
    assert len(pipe.table) == 1  # open, not ended
    [ended] = pipe.feed(batch_of([dns(t, sport=2) for t in range(0, 100, 5)])).records()
    assert (ended.sport, ended.end) == (1, "idle")
    assert len(pipe.table) == 1
    assert [f.sport for f in pipe.finish().records()] == [2]
    assert len(pipe.table) == 0


def fragments(ident: int) -> list[Packet]:
    whole = IP(src=CLIENT, dst="10.0.0.2", id=ident) / UDP(sport=123, dport=123) / Raw(b"d" * 64)
    return [Ether() / frag for frag in whole.fragment(24)]


def test_later_fragments_join_the_flow_of_the_first() -> None:
    parts = fragments(9)
    [f] = run([(1 + i / 10, p) for i, p in enumerate(parts)])
    assert (f.sport, f.dport, f.packets_fwd) == (123, 123, len(parts))
    assert f.bytes_fwd == sum(len(p[IP]) for p in parts)


def test_fragments_before_their_first_are_counted_not_guessed() -> None:
    parts = fragments(10)
    pipe = FlowPipeline()
    assert len(pipe.feed(batch_of([(1, parts[-1]), (2, parts[0])]))) == 0
    [f] = pipe.finish().records()
    assert f.packets_fwd == 1
    assert pipe.stats.skipped == {"fragment_without_first": 1}
    assert pipe.stats.decoded == 1


def test_many_flows_grow_the_table() -> None:
    """More flows than the initial capacity (16384), each accounted exactly once."""
    template = bytes(Ether() / IP(src=CLIENT, dst="10.0.0.2") / UDP(sport=0, dport=53))
    n = 40_000
    frames = []
    for i in range(n):
        f = bytearray(template)
        f[34:36] = (1024 + i % 60000).to_bytes(2, "big")
        f[30:34] = bytes([10, 1, i // 60000, 1])
        frames.append((i / 1000, bytes(f)))
    flows = run(frames + frames)
    assert len(flows) == n
    assert {f.packets_fwd for f in flows} == {2}

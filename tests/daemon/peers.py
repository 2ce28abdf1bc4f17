"""Both ends of the real traffic the daemon tests watch, run as separate processes (inside
network namespaces, or on loopback):

    python -m tests.daemon.peers serve RESOLVER_ADDR NAME=ADDR...
        a DNS server on RESOLVER_ADDR:53 answering A queries for the given names, and TCP
        listeners on :443 and a UDP sink on :5000 on every address; prints "ready".
    python -m tests.daemon.peers client RESOLVER_ADDR NAME... [--udp ADDR] [--hold SECS]
        resolves each NAME, then opens a real TLS handshake to it (Python's ssl, so the
        ClientHello and its SNI are the real thing), holds the connections open for SECS so
        the connection table can attribute them, and prints "done".
    python -m tests.daemon.peers db ADDR PORT SIZE
        a protected service: a TCP listener on ADDR:PORT that answers each request with SIZE
        bytes and keeps the connection until the client closes; prints "ready".
    python -m tests.daemon.peers dial SRC... --to ADDR PORT SIZE [--hold SECS]
        from each source address SRC in turn, connects to ADDR:PORT, sends a request, reads the
        whole answer (SIZE bytes), holds the connections for SECS and prints "done".
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time

import dpkt


def serve(resolver: str, answers: dict[str, str]) -> None:
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind((resolver, 53))
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", 443))
    tcp.listen(64)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 5000))
    threading.Thread(target=_accept, args=(tcp,), daemon=True).start()
    threading.Thread(target=lambda: [udp.recvfrom(2048) for _ in iter(int, 1)], daemon=True).start()
    print("ready", flush=True)
    while True:
        data, peer = dns.recvfrom(2048)
        query = dpkt.dns.DNS(data)
        reply = dpkt.dns.DNS(id=query.id, qd=query.qd, op=dpkt.dns.DNS_RA | dpkt.dns.DNS_QR)
        for q in query.qd:
            if q.name in answers:
                rr = dpkt.dns.DNS.RR(name=q.name, type=dpkt.dns.DNS_A, ttl=60)
                rr.ip = socket.inet_aton(answers[q.name])
                rr.rlen = 4
                reply.an.append(rr)
        dns.sendto(bytes(reply), peer)


def _accept(listener: socket.socket) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_drain, args=(conn,), daemon=True).start()


def _drain(conn: socket.socket) -> None:
    """Read the ClientHello and whatever follows until the client closes."""
    with conn:
        while conn.recv(65536):
            pass


def resolve(resolver: str, name: str) -> str:
    query = dpkt.dns.DNS(id=0x1234, qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)],
                         op=dpkt.dns.DNS_RD)  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(bytes(query), (resolver, 53))
        reply = dpkt.dns.DNS(s.recv(2048))
    return socket.inet_ntoa(reply.an[0].ip)


def hello(address: str, name: str) -> socket.socket:
    """Open TCP to `address` and send a real ClientHello for `name`; the server never answers
    it, so the handshake is left pending and the socket is returned open."""
    raw = socket.create_connection((address, 443), timeout=5)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    raw.sendall(outgoing.read())
    return raw


def client(resolver: str, names: list[str], udp: str | None, hold: float) -> None:
    held = [hello(resolve(resolver, name), name) for name in names]
    if udp:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"telemetry " * 20, (udp, 5000))
    time.sleep(hold)
    for s in held:
        s.close()
    print("done", flush=True)


def db(address: str, port: int, size: int) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_answer, args=(conn, size), daemon=True).start()


def _answer(conn: socket.socket, size: int) -> None:
    with conn:
        if conn.recv(65536):
            conn.sendall(b"r" * size)
        while conn.recv(65536):
            pass


def dial(sources: list[str], address: str, port: int, size: int, hold: float) -> None:
    held = []
    for src in sources:
        s = socket.create_connection((address, port), timeout=5, source_address=(src, 0))
        s.sendall(b"SELECT * FROM us_users;")
        got = 0
        while got < size:
            got += len(s.recv(65536))
        held.append(s)
    time.sleep(hold)
    for s in held:
        s.close()
    print("done", flush=True)


if __name__ == "__main__":
    role, resolver, *rest = sys.argv[1:]
    if role == "db":
        db(resolver, int(rest[0]), int(rest[1]))
    elif role == "dial":
        args = [resolver, *rest]
        to = args.index("--to")
        hold = float(args[args.index("--hold") + 1]) if "--hold" in args else 1.5
        dial(args[:to], args[to + 1], int(args[to + 2]), int(args[to + 3]), hold)
    elif role == "serve":
        serve(resolver, dict(item.split("=", 1) for item in rest))
    else:
        udp = rest[rest.index("--udp") + 1] if "--udp" in rest else None
        hold = float(rest[rest.index("--hold") + 1]) if "--hold" in rest else 1.5
        names = [n for i, n in enumerate(rest) if not n.startswith("--")
                 and (i == 0 or not rest[i - 1].startswith("--"))]  # fmt: skip
        client(resolver, names, udp, hold)

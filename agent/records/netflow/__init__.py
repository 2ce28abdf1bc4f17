"""NetFlow v5, v9 and IPFIX export datagrams -> flow records: `Collector.feed(datagram,
exporter)` keeps the template and sampling state between datagrams (sans-IO)."""

from agent.records.netflow.session import Collector, ExportStats

__all__ = ["Collector", "ExportStats"]

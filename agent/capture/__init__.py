"""Capture sources: bytes in, batches of records out. `open_capture` picks the reader by content."""

from agent.capture.source import PacketSource, first_timestamp, open_capture
from agent.wire.batch import RecordBatch

__all__ = ["PacketSource", "RecordBatch", "first_timestamp", "open_capture"]

"""Capture sources: bytes in, batches of records out. `open_capture` picks the reader by content."""

from agent.capture.batch import RecordBatch
from agent.capture.source import PacketSource, first_timestamp, open_capture

__all__ = ["PacketSource", "RecordBatch", "first_timestamp", "open_capture"]

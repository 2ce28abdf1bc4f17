"""Flow records as evidence: parsers of cloud flow logs, Zeek conn.log and NetFlow/IPFIX into
one record type (`FlowRecord`), and the coverage gaps they report (`CoverageGap`)."""

from agent.records.model import Action, Counts, CoverageGap, FlowRecord, Gap, Item, Where

__all__ = ["Action", "CoverageGap", "Counts", "FlowRecord", "Gap", "Item", "Where"]

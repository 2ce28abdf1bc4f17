"""The flow table: decoded rows in, finished flows out; time comes from the packets."""

from agent.flows.table import FlowTable

__all__ = ["FlowTable"]

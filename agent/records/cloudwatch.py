"""AWS flow log records inside JSON: a CloudWatch Logs subscription payload (`messageType`
`DATA_MESSAGE`, the interface in `logStream`, one record per `logEvents[].message`; gzipped
when delivered, ungzipped before here) and Firehose-style `{"message": "..."}` lines. The
records are read by the same rules as text (`agent.records.aws`): a payload has no header, so
the format is declared or the v2 default."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.fields import Bad, json_documents, need
from agent.records.model import Item, Where


def parse_cloudwatch(
    data: bytes, path: str = "<data>", fields: Sequence[str] | None = None
) -> Iterator[Item]:
    names = list(fields or aws.V2_FIELDS)
    for line, doc in json_documents(data, path):
        try:
            yield from _document(doc, line, names, path)
        except Bad as err:
            raise CorruptRecords(path, f"line {line}", str(err)) from err


def _document(doc: object, line: int, names: list[str], path: str) -> Iterator[Item]:
    if isinstance(doc, dict) and "message" in doc and "logEvents" not in doc:
        message = need(doc, "message", str, "")
        yield from _message(message, names, path, Where(line=line), "")
        return
    if need(doc, "messageType", str, "") != "DATA_MESSAGE":
        return  # CONTROL_MESSAGE: CloudWatch checking the subscription, no records
    stream = need(doc, "logStream", str, "")
    for i, event in enumerate(need(doc, "logEvents", list, "")):
        message = need(event, "message", str, f"logEvents[{i}]")
        yield from _message(message, names, path, Where(line=line, item=i), stream)


def _message(text: str, names: list[str], path: str, where: Where, stream: str) -> list[Item]:
    tokens = text.split()
    if aws.is_header(tokens):
        return []
    return aws.parse_record(names, tokens, path, where, stream)

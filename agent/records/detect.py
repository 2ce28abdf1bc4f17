"""Which kind of flow record file some bytes are, by content alone (file names lie: every
cloud's is some `*.json` or `*.log.gz`), as `agent.intel.detect` does for range files.

The caller has already gunzipped. JSON kinds are told apart by keys only one of them has,
looked for as text in the head, so a file cut off or damaged later still reaches its own parser
and is reported there at the line where it breaks. A key other JSON has too is not a mark by
itself: `"message"` (tshark's expert info has one) marks a Firehose line only when its value is
a flow log record, version first, as in every default format.
"""

from __future__ import annotations

import re

from agent.records import aws

NAMES = {
    "aws-text": "an AWS VPC or Transit Gateway flow log (text)",
    "aws-cloudwatch": "AWS flow log records in CloudWatch Logs or Firehose JSON",
    "aws-parquet": "an AWS VPC or Transit Gateway flow log (Parquet)",
    "oci-vcn": "an Oracle Cloud VCN flow log (Logging JSON)",
    "gcp-vpc": "a Google Cloud VPC flow log (Cloud Logging JSON)",
    "azure-vnet": "an Azure VNet flow log",
    "azure-nsg": "an Azure NSG flow log (version 2)",
    "zeek-tsv": "a Zeek conn.log (TSV)",
    "zeek-json": "a Zeek conn.log (JSON lines)",
    "exports": "a capture of NetFlow, IPFIX or sFlow export datagrams",
}
_JSON_MARKS = tuple((kind, re.compile(mark)) for kind, mark in (
    # in order: the first kind with a mark in the head wins
    ("azure-vnet", rb'"flowRecords"|"flowLogVersion"'),
    ("azure-nsg", rb'"NetworkSecurityGroupFlowEvent"|"flowTuples"'),
    ("oci-vcn", rb"com\.oraclecloud\.vcn\.flowlogs"),
    ("gcp-vpc", rb'vpc_flows|"jsonPayload"'),
    ("zeek-json", rb'"id\.orig_h"'),
    ("aws-cloudwatch", rb'"logEvents"|"message"\s*:\s*"[2-8]( [^" ]+){3,}\s*"'),
))  # fmt: skip
HEAD = 1 << 16


def detect_records(data: bytes) -> str | None:
    """The kind of a flow record file, or None when it is none residency reads."""
    if data.startswith(b"PAR1"):
        return "aws-parquet"  # of the sources here, only AWS delivers Parquet
    head = data[:HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return next((kind for kind, mark in _JSON_MARKS if mark.search(head)), None)
    if head.startswith((b"#separator", b"#fields")):
        return "zeek-tsv"
    tokens = head.split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if aws.is_header(tokens):
        return "aws-text"
    if len(tokens) >= 4 and tokens[0] in {str(v) for v in range(2, 9)}:
        return "aws-text"  # a headerless record: version first, as in every default format
    return None

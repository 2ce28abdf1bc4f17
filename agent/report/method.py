"""How verdicts are reached, in words a regulator can check against the code.

One text, three places: every report carries it (so a signed report states the method it
used), the HTML shows it, and docs/method.md is `markdown()` of it (a test keeps them equal).
"""

from __future__ import annotations

from typing import Any

VERSION = 2
"""Bumped when the method changes, not when its wording does."""

TITLE = "How residency reaches its verdicts"

SECTIONS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("What is observed", (
        "residency reads packet captures (pcap or pcapng files) recorded at a vantage point: a "
        "network tap, a mirror port, or a host's own interface. It sees only the packets in "
        "those files. Traffic that did not pass the vantage point, or was not recorded, is not "
        "in the report; the Coverage section says what was read and what could not be used.",
        "Packets are grouped into flows: one two-way conversation per protocol and pair of "
        "addresses and ports. One side of each flow is the local side, the other the "
        "destination. Bytes are IP bytes in both directions, taken from the packets' own "
        "headers, so a capture that kept only the start of each packet still counts whole "
        "packets. Times are the capture's own timestamps, never the clock of the machine that "
        "made the report.",
        "Which side is local is decided from the vantage point, not from who spoke first, in "
        "this order: the policy's local networks (every network a scope rule names as local): "
        "when exactly one side lies in them, that side is local; else the sender of the TCP "
        "SYN; else the ports, as Zeek and tshark guess for a connection seen mid-way: a server "
        "listens on the lower kind of port (well-known, below 1024; then registered; then "
        "ephemeral, from 32768), so the other side is the client; else the sender of the "
        "first packet seen. Every flow says which decided, and the Coverage section counts "
        "the in-scope traffic whose local side rests on the ports or the first packet only.",
        "Captures given together are one recording (a capture rotated into several files, or "
        "cut into parts): they are read one after the other in the order of their first "
        "packet (captures that start at the same time, in the order given), so a connection "
        "that goes on from one file into the next is one flow, and a name seen in one file "
        "names the flows of the next. Files that overlap in time are not merged packet by "
        "packet. Each capture keeps its own statistics; a capture given twice (the same "
        "SHA-256) is read once, and the report says so. A capture damaged part-way ends its "
        "part at the damage, and the reading goes on with the next file. With a window "
        "(`--since`, `--until`), only the flows whose capture times overlap it are judged, "
        "whole, from captures as from a journal.",
        "A report can instead rest on the journal of residency's agent, which watches a host's "
        "own interfaces, groups packets into flows the same way, notes the program that owned "
        "each connection where it can, and writes every flow when it ends, with a heartbeat "
        "every few seconds, into a hash-chained journal: each row's hash covers the row before "
        "it. The report names the journal's head (the last row's number and hash) and reads no "
        "row after it; the flows' times are the agent's capture times.",
    ), ()),
    ("Flow records", (
        "A report can also rest on flow records that other systems wrote: the clouds' flow "
        "logs (AWS VPC and Transit Gateway, Oracle Cloud VCN, Google Cloud VPC, Azure VNet and "
        "NSG), Zeek's conn.log, and NetFlow, IPFIX or sFlow exports. Each file's kind is found "
        "from "
        "its content, never its name; a capture that holds nothing but NetFlow, IPFIX or sFlow "
        "export datagrams is read as the flow records they carry, one collector for all the "
        "files given, so templates sent in one decode the data of another. Each record keeps "
        "the format and the vantage point that "
        "wrote it (the interface, VM, attachment or exporter, as the source names it), whether "
        "the traffic was accepted or rejected, and its own line or byte offset as evidence. A "
        "damaged record stops the reading of its file at that line, and the records before it "
        "count.",
        "Cloud logs and NetFlow write one record per direction per time window per interface. "
        "At one vantage point, the records of one conversation (the same Community ID, so "
        "either direction, and the same action) whose windows overlap or lie within 60 seconds "
        "of each other are joined into one flow, and later windows add to it; the records are "
        "taken in the order their windows start, whatever order the files hold them in. Its "
        "initiator is "
        "found as for packets: the direction whose TCP flags (where the source logs them) hold "
        "a SYN without an ACK, else the client by its port, else the first record's source. "
        "Zeek's records are whole conversations already. The same connection logged at two "
        "vantage points (two interfaces, two VMs, a router's ingress and egress) has the same "
        "Community ID and overlapping times: it is counted once, for the vantage point read "
        "first, and the coverage says how many records were merged so. Rejected traffic is "
        "kept apart from accepted traffic: it was tried, but did not cross.",
        "Which side is local is decided as for packets, from the policy's local networks. "
        "Counts are exact where the source counted every packet (AWS, Oracle, Azure, Zeek, "
        "unsampled NetFlow) and estimated where it sampled (Google Cloud always; NetFlow or "
        "IPFIX with a sampling rate, scaled up by it); the report says when any part of it "
        "rests on estimated counts. Seconds an interface says it did not log (AWS NODATA and "
        "SKIPDATA) are coverage gaps, never zero traffic. Bytes are the sources' own: IP "
        "bytes for Zeek (orig_ip_bytes, resp_ip_bytes), AWS, Oracle and NetFlow.",
        "NetFlow v9 and IPFIX records are described by templates the exporter sends apart from "
        "them, often in other datagrams or files; residency keeps the templates, and the "
        "sampling rates that options records give, per exporter address and observation "
        "domain, so a template read first decodes the data read later. Data whose template "
        "was never seen is counted as such, not guessed. A record's sampling rate is its own, "
        "else the one given for its sampler, its template or its exporter; its packets and "
        "bytes are multiplied by it and marked estimated. Times are the record's own "
        "(seconds, milli-, micro- or nanoseconds) or its exporter's uptime placed on the "
        "calendar by the datagram's export time. A damaged datagram is counted with its "
        "offset, and the records before the damage count.",
        "sFlow sends no flows: of every N packets of an interface it sends the first bytes of "
        "one, with N. Each such header, and each frame an IPFIX exporter sends as a "
        "dataLinkFrameSection, is decoded by the decoder that reads captures, and stands for "
        "N packets of N times that packet's IP bytes: estimated, unless N is 1. Its vantage "
        "point is the agent and the interface sampled. An sFlow datagram carries no calendar "
        "time, so its records are dated by when the datagram arrived: the capture's timestamp "
        "when read from a capture of export datagrams, the collector's clock when received "
        "live. Counter samples, and headers that are not IP, are counted, not read as "
        "traffic.",
    ), ()),
    ("Names", (
        "For each flow residency records the names it was seen under: the DNS answer that gave "
        "the destination's address before the flow began, the server name in TLS and QUIC "
        "handshakes (SNI), and the HTTP Host header. Names are supporting evidence: anyone can "
        "claim a name, so a verdict rests on a name only where the policy says so, and the "
        "report then marks it as weak evidence.",
    ), ()),
    ("Where a destination is", (
        "Each destination address is looked up in the address ranges that the cloud providers "
        "publish (Oracle Cloud Infrastructure, AWS, Azure, Google Cloud) and in the operator's "
        "own list of sites. The report names every file version used with its SHA-256, so "
        "anyone holding the same files gets the same answers. Where several sources cover an "
        "address, the operator's sites decide first, then the provider ranges, then country "
        "data (the weakest); within a source, the most specific range decides. The answer is a "
        "provider, region, country and site, with the range and file version that said so.",
        "Providers move addresses between regions, so the traffic is placed by the range files "
        "of its own time, not of the day the report is made. The period's start is found "
        "before anything is judged: the earliest packet over the captures, or for a journal "
        "the start of the window asked for (else its first flow). For each source, the version "
        "used is the newest one published on or before that start; if every stored version of "
        "a source was published after it, the oldest of them is used, and the report says it "
        "is later than the traffic. The report states each version's publication date and "
        "how many whole days before the period's start (or after it) it was published, and "
        "flags a provider or country version published more than 30 days before the start as "
        "stale. An explicit `--as-of` date chooses the versions in force then instead; the "
        "distances are still measured from the traffic. A file that does not say when it was "
        "published (Azure's service tags, a sites file without a date) is ordered by when it "
        "was imported, and no distance is stated for it.",
        "A place is where the traffic ends, not the label of a region. A provider region can "
        "have zones elsewhere (AWS Local and Wavelength Zones, named by their network border "
        "group), some in another country: us-east-1-bue-1 is in Buenos Aires. The country of a "
        "zone is the one the provider documents for it; a rule that names a region covers only "
        "the region's ranges in the region's own country (Houston, us-east-1-iah-1, is covered "
        "by us-east-1), and a zone in another country, or one whose place is not documented, is "
        "approved only by a rule that names it (`border_groups`). Breakdowns, charts and "
        "tables group traffic by place (border group and country), so a region that spans two "
        "countries is never one figure.",
    ), ()),
    ("The policy and the verdicts", (
        "The policy, quoted in full in the report with its SHA-256, says which traffic is in "
        "scope and where it may end. Each flow is judged in this order, and the first step "
        "that applies decides:",
    ), (
        "Out of scope, unless a scope rule selects it (for example by the networks where "
        "users' devices live).",
        "Excluded, if an exclusion rule selects it: counted and listed with the rule's reason, "
        "but left out of the share.",
        "Approved, if the destination matches an approval rule (for example Oracle Cloud's US "
        "regions, or one of the operator's sites), the first one in the policy's order that "
        "the evidence lets decide (below).",
        "Exempt, if it matches an exception whose dates cover the flow's first packet (whole "
        "UTC days), on the same terms. An exception outside its dates (past its end, or before "
        "its start) does not exempt: its flows are violations, and the exception is listed as "
        "not in force.",
        "Unverified, if the range data cannot place the destination: no data covers the "
        "address, or only a provider range that names no region.",
        "Otherwise, a violation.",
    )),
    ("Strong and weak evidence", (
        "An operator's site and a provider range that names a region are strong evidence of "
        "where a destination is: the address itself is in a published list. A name seen on the "
        "wire is weak (the party under audit controls its names), and so is a country from "
        "country data (approximate by nature). A rule that rests on names or countries alone is "
        "a weak rule. A weak rule never approves or exempts a destination that strong evidence "
        "places: such a flow is judged by the strong rules only, and if none approves it, it is "
        "a violation whose note names the weak rule and the place the strong evidence gives. "
        "Weak rules may still decide destinations that no strong evidence places: those that "
        "only country data places, and those in a provider range that names no region (a "
        "global CDN). What weak rules approved is counted apart and stated in the headline, "
        "as the share of the approved bytes that rests on weak evidence only.",
        "Keys that only the live agent can see (interfaces, processes, executables, users) "
        "match nothing in a capture; `policy check` warns of them, and of name patterns that "
        "match every name.",
    ), ()),
    ("The headline", (
        "The share is approved traffic divided by in-scope traffic (approved, exempt, violation "
        "and unverified together), in bytes and in flows, with both numbers stated. Excluded "
        "and out-of-scope traffic is in neither. Percentages are rounded down, so 100% is shown "
        "only when every in-scope byte or flow was approved.",
        "A report is compliant when some traffic was in scope, no in-scope flow is a violation "
        "and, unless the report says that unverified traffic was allowed, none is unverified. "
        "When nothing was in scope (no flows, a scope that selects none of them, or a scope "
        "that only the live agent can apply), the report says so and why, and is not "
        "compliant: an answer about no traffic proves nothing. A report made from a capture "
        "that is damaged, or cut off in the middle of a record, says that it is incomplete.",
    ), ()),
    ("Evidence", (
        "Every violation and unverified destination is listed with its addresses, names, place, "
        "bytes, flows, first and last packet times, and pointers to the evidence: the capture "
        "file where each flow began and the flows' serial numbers (the order in which flows "
        "began in the recording; up to 50 per destination and capture). `residency flows` on "
        "the same files shows each flow again. For a journal, the pointers are the journal's "
        "row numbers, which `residency flows --journal` shows as each flow's serial, and the "
        "program that owned the connections is named beside the destination.",
    ), ()),
    ("Access to protected services", (
        "The other half of the promise is who reached the protected data, and from where. The "
        "policy's `access` section names the local services that hold it (`protect`: "
        "networks and ports, and for the live agent the serving processes, executables and "
        "users) and where access may come from (`allow`: networks, operator sites, providers "
        "and regions, and, as weak evidence, countries and names), with dated exceptions as "
        "for outbound traffic.",
        "A flow is an access when it was opened from outside into a protected service. Who "
        "opened it is decided by the TCP SYN: its receiver serves. Without a SYN (a capture "
        "that starts mid-connection, a flow record, a journal row), the side whose address "
        "and port a protect rule names is the server. The serving side must be local: inside "
        "the rule's own networks, the policy's local networks, or served by a process the "
        "rule names. The policy's local networks say which side is local, never who opened "
        "the connection. An access is judged by the access half only, and counted in none of "
        "the outbound figures.",
        "Each access is judged by its origin, in this order: allowed by the first allow rule "
        "the origin matches; exempt under a live exception; unverified when the range data "
        "cannot place the origin; otherwise an access violation. As for outbound traffic, a "
        "weak rule (countries or names alone) never allows an origin that an operator's site "
        "or a provider range with a region places: the note names the rule and the place.",
        "Accesses are counted in sessions (connections into the service) and bytes out: the "
        "IP bytes the protected service sent back, which is the data that left. They are "
        "broken down by the origin's country, provider, region and site, and every access "
        "violation lists its origin with the range and source that placed it, the names seen "
        "for it, the service reached and, from the live agent, the serving process and its "
        "local user. An access violation, like an outbound violation, makes the report "
        "non-compliant; an unverified access does too unless unverified traffic was allowed.",
    ), ()),
    ("What the report cannot see", (
        "A share is only as good as what was watched. The report lists, for each capture, the "
        "records read and decoded, the records that could not be used and why, packets the "
        "recorder cut short, and damage. Packets the recorder itself dropped are not known to "
        "residency, and are listed as not known. Capture files do not say which program made a "
        "connection: process attribution needs the live agent, so offline reports attribute "
        "no flow to a process.",
        "A report from the agent's journal states, within its period, when no heartbeat shows "
        "the agent watching (it was stopped, had crashed, or its rows were removed), so that "
        "traffic then is not in the report; the packets the kernel dropped and the rows the "
        "agent could not write, as its heartbeats counted them; and the in-scope flows it "
        "could attribute to no program.",
    ), ()),
    ("Checking a report", (
        "The report's JSON form is canonical (keys sorted, no spaces, UTF-8) and holds no "
        "clock time unless asked to, so the same inputs give the same bytes. A signed report "
        "carries an Ed25519 signature over those bytes. `residency report verify REPORT --key "
        "KEY.pub` checks the signature and that not one byte has changed. The report names "
        "each input by its file name and SHA-256, never by where it was on the machine that "
        "made the report, so the same files give the same report wherever they are and however "
        "their paths were typed. `--inputs DIR...` says where to look for them: the captures, "
        "the policy and the range files are found by their SHA-256, whatever they are called "
        "there (range files also in the verifier's store), and a journal as the file whose "
        "hash chain still holds the head the report recorded. Verify then runs the analysis "
        "again, under the names the report gives the inputs, and checks that it gives the "
        "same report. A file that bears an input's name but not its content is that input "
        "changed, and verification fails. If an input is not found, verify says \"signature "
        "checked, analysis not re-run\", names what it did not find, and exits with its own "
        "code (13), never as a success. For a journal, "
        "it first checks the whole hash chain and that the row the report names as its head "
        "still has the recorded hash, so a journal cut short or rewritten since fails; rows the "
        "agent appended later are not read. The HTML and PDF forms carry the same signed JSON "
        "inside them.",
    ), ()),
)  # fmt: skip


def method() -> dict[str, Any]:
    """The method as report data."""
    return {
        "version": VERSION,
        "title": TITLE,
        "sections": [
            {"title": t, "paragraphs": list(ps), "steps": list(steps)}
            for t, ps, steps in SECTIONS
        ],
    }


def markdown() -> str:
    """docs/method.md."""
    lines = [f"# {TITLE}", "", "<!-- Made from agent/report/method.py; edit it there. -->"]
    for title, paragraphs, steps in SECTIONS:
        lines += ["", f"## {title}"]
        for p in paragraphs:
            lines += ["", p]
        if steps:
            lines.append("")
            lines += [f"{i}. {s}" for i, s in enumerate(steps, 1)]
    return "\n".join(lines) + "\n"

"""Captures given together are one recording (a `tcpdump -C/-G` rotation, an `editcap -c` split):
read in time order through one `FlowPipeline`, so a connection that goes on from one file into
the next is one flow, and a name seen in one file names the flows of the next.

Files are put in the order of their first packet (ties, and files with no packet, in the order
given; the latter last) and read one after the other; files that overlap in time are not merged
packet by packet. Each file keeps its own statistics; a flow belongs to the file where it began.
A file given twice (the same sha256) is read once, and the repeat says so. A file damaged
part-way ends its part at the damage; the recording goes on with the next file. A file is
hashed as it is read (only files of one size are hashed first, to find the repeats), so a large
capture is read once.

An edge: it opens and hashes files. The chain itself is `FlowPipeline`, then `Chain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from agent.capture import first_timestamp, open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.errors import CorruptCapture, InputError
from agent.files import Digest, file_sha256, file_size
from agent.model import COLUMN, CaptureStats, FlowBatch

STDIN = "-"
Progress = Callable[[int], None]
"""Told how many more bytes of capture were read."""


@dataclass(frozen=True, slots=True)
class Part:
    """One capture of a recording."""

    path: str
    sha256: str
    size: int
    same_as: str = ""
    """An earlier capture with the same sha256: this one is not read."""
    hashing: bool = False
    """The sha256 is found as the capture is read (in `Read.part`)."""


@dataclass(slots=True)
class Read:
    """One capture as read: what it held, and the damage that ended it early, if any."""

    part: Part
    stats: CaptureStats = field(default_factory=CaptureStats)
    error: CorruptCapture | None = None


def plan(paths: Sequence[str], stdin: bool = False, hashed: bool = True) -> list[Part]:
    """The captures in reading order, repeats last (not to be read). Standard input (`-`,
    where `stdin` allows it) can be neither dated nor hashed before it is read, so it comes
    alone. Only files of a size another file has are hashed here, since only they can be
    repeats: reading a large capture twice would be a third of analysing it. With `hashed`
    (an analysis names its captures by their hashes), the others are hashed as they are read
    (`Part.hashing`); without (listing flows), they are not hashed at all."""
    if stdin and list(paths) == [STDIN]:
        return [Part(STDIN, "", 0)]
    if stdin and STDIN in paths:
        raise InputError("-: standard input cannot be read with other captures: they are put "
                         "in time order and checked for repeats first")  # fmt: skip
    sizes = {path: file_size(path) for path in paths}
    shared = {s for s in sizes.values() if list(sizes.values()).count(s) > 1}
    first: dict[str, str] = {}
    parts, repeats = [], []
    for path in paths:
        if sizes[path] not in shared:
            parts.append(Part(path, "", sizes[path], hashing=hashed))
            continue
        digest, size = file_sha256(path)
        if digest in first:
            repeats.append(Part(path, digest, size, first[digest]))
        else:
            first[digest] = path
            parts.append(Part(path, digest, size))
    dated = [(first_timestamp(p.path), n, p) for n, p in enumerate(parts)]
    dated.sort(key=lambda d: (d[0] is None, d[0] or 0, d[1]))
    return [p for _, _, p in dated] + repeats


class Recording:
    """Captures read as one recording; `read` fills in as they are read."""

    def __init__(self, parts: Sequence[Part], pipeline: FlowPipeline) -> None:
        self.parts, self.pipeline = list(parts), pipeline
        self.read: list[Read] = []
        self._starts: list[int] = []
        """The first flow serial of each capture read, in reading order."""
        self._paths: list[str] = []

    def flows(self, progress: Progress | None = None) -> Iterator[tuple[FlowBatch, str]]:
        """Flows as they end, in batches of one capture each: the capture where they began.
        `progress` is told how many more bytes of capture were read."""
        pipe = self.pipeline
        for part in self.parts:
            if part.same_as:
                self.read.append(Read(part))
                continue
            self._starts.append(pipe.table.next_serial)
            self._paths.append(part.path)
            error, read = None, 0
            digest = Digest() if part.hashing else None
            try:
                with open_capture(part.path, digest) as source:
                    for batch in flows_from(source, pipe, last=False):
                        yield from self._split(batch)
                        if progress:
                            progress(pipe.stats.read_to - read)
                            read = pipe.stats.read_to
            except CorruptCapture as err:
                error = err
            if digest:  # the bytes after a damage are hashed too: the file is named whole
                sha256, size = digest.of(part.path)
                part = replace(part, sha256=sha256, size=size)
            self.read.append(Read(part, pipe.next_capture(), error))
        yield from self._split(pipe.finish())

    def _split(self, batch: FlowBatch) -> Iterator[tuple[FlowBatch, str]]:
        """The batch in parts by the capture where each flow began (its serial says)."""
        if not len(batch):
            return
        at = np.searchsorted(self._starts, batch.columns[COLUMN["serial"]], side="right") - 1
        if (at == at[0]).all():
            yield batch, self._paths[int(at[0])]
            return
        for k in np.unique(at).tolist():
            yield batch.take(at == k), self._paths[k]

"""The unit every capture reader yields and the decoder reads: many records at once, as columns,
not an object per packet. It lives with the decoder, below the readers, so that `capture` imports
`wire` and never the other way round."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


class RecordBatch(NamedTuple):
    """Records whose bytes live in `data` (the reader's buffer: valid until the next batch)."""

    data: U8
    offset: I64
    """Where each record's captured bytes start in `data`."""
    caplen: I64
    """Bytes captured."""
    origlen: I64
    """Bytes on the wire; more than `caplen` when the capture cut the packet short."""
    ts_ns: I64
    """Capture timestamp, nanoseconds since the epoch."""
    linktype: I64
    """LINKTYPE_* of the interface each record came from."""
    file_offset: I64
    """Where each record's header starts in the (uncompressed) file, for messages."""

    @property
    def size(self) -> int:
        return int(self.offset.shape[0])

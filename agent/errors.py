"""The one error tree. Every message is for the user; the CLI maps each class to an exit code.

    ResidencyError                  exit 70  an internal error (EX_SOFTWARE)
    ├── InputError                  exit 3   a file we were asked to read cannot be opened
    ├── CaptureError                exit 4   the bytes are not a capture we can read
    │   └── CorruptCapture          exit 5   a capture is damaged part-way; what came before is kept
    │       └── CorruptRecords      exit 5   a flow record file is damaged at a line or offset
    ├── RangeFileError              exit 6   a range, country or sites file cannot be used
    ├── FetchError                  exit 7   a download failed
    ├── PolicyError                 exit 8   a policy file is wrong (file:line:col)
    ├── JournalError                exit 9   the journal cannot be written, read or verified
    ├── ReportError                 exit 10  a report cannot be read, or fails verification
    ├── ConfigError                 exit 11  the daemon's configuration is wrong
    ├── NothingInScope              exit 12  no flow was in scope: the answer proves nothing
    ├── LakeError                   exit 14  the evidence lake cannot be read or written, or a
    │                                        sealed host-day would change
    ├── SetupError                  exit 15  what a command needs of the machine is missing or
    │                                        unusable: Chromium, a key file, an output path, the
    │                                        privilege to capture on an interface
    └── UsageError                  exit 2   an argument is wrong (as click's usage errors)
        ├── BadAddress              exit 2   an argument is not an IP address
        └── BadFilter               exit 2   a capture filter does not compile

Exit 1 is not an error: `analyze` uses it to say "violations found", as `diff` and `grep` say
"different" and "not found". Nor is exit 13: `report verify` uses it to say "signature checked,
analysis not re-run" when a report's inputs were not found (`agent.cli.base.NOT_RERUN`).

Warnings that do not stop the work (a record cut off at end of file) are records, not exceptions:
see `agent.model.CaptureWarning`.
"""

from __future__ import annotations


class ResidencyError(Exception):
    """Something went wrong."""

    exit_code = 70

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class InputError(ResidencyError):
    """An input file cannot be opened."""

    exit_code = 3


class CaptureError(ResidencyError):
    """A file is not a capture that residency can read.

    `path` and `offset` say where: the offset is in the uncompressed stream for gzipped files.
    """

    exit_code = 4

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(f"{path}: offset {offset}: {reason}")


class CorruptCapture(CaptureError):
    """A capture is damaged part-way: everything before `offset` was read and is kept."""

    exit_code = 5


class CorruptRecords(CorruptCapture):
    """A flow record file (flow log, conn.log, NetFlow export) is damaged at one record: every
    record before it was read and is kept. `where` is `line N` for text (`line N item K` inside
    a JSON event), `offset N` for binary; `offset` is the byte offset where known, else 0."""

    def __init__(self, path: str, where: str, reason: str, offset: int = 0) -> None:
        self.path, self.offset, self.reason, self.where = path, offset, reason, where
        ResidencyError.__init__(self, f"{path}: {where}: {reason}")


class RangeFileError(ResidencyError):
    """A range, country or sites file is damaged or not what it claims to be.

    `where` names the entry (JSON path, CSV line, YAML `line:col`) so the user can find it; a
    YAML position is written as every YAML mistake is, `file:line:col: reason`.
    """

    exit_code = 6

    def __init__(self, path: str, where: str, reason: str) -> None:
        self.path, self.where, self.reason = path, where, reason
        at = f":{where}" if where[:1].isdigit() else f": {where}" if where else ""
        super().__init__(f"{path}{at}: {reason}")


class FetchError(ResidencyError):
    """A download failed."""

    exit_code = 7


class PolicyError(ResidencyError):
    """A policy file cannot be used. `line` and `col` are 1-based; 0 when the file as a whole
    is at fault."""

    exit_code = 8

    def __init__(self, path: str, line: int, col: int, reason: str) -> None:
        self.path, self.line, self.col, self.reason = path, line, col, reason
        where = f"{path}:{line}:{col}" if line else path
        super().__init__(f"{where}: {reason}")


class JournalError(ResidencyError):
    """The journal cannot be written, read or verified."""

    exit_code = 9


class ReportError(ResidencyError):
    """A report cannot be read, or fails its signature or its re-run."""

    exit_code = 10


class ConfigError(ResidencyError):
    """The daemon's configuration cannot be used: a setting, a capture filter, an interface
    that does not exist or cannot be captured on."""

    exit_code = 11


class NothingInScope(ResidencyError):
    """Nothing was in scope: an answer about no traffic proves nothing, so it is not a pass.

    `reason` says why (no flows read, a scope that selects none of them, live-only keys used
    offline, everything excluded)."""

    exit_code = 12

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"nothing in scope: {reason}")


class SetupError(ResidencyError):
    """What a command needs of the machine is missing or unusable (Chromium to print, a key
    file, a writable output path, a packet socket on an interface): nothing about the inputs
    themselves, which their own codes say (a report 10, a capture 4)."""

    exit_code = 15


class LakeError(ResidencyError):
    """The evidence lake cannot be read or written, or sealing would change a sealed day."""

    exit_code = 14


class UsageError(ResidencyError):
    """An argument is wrong."""

    exit_code = 2


class BadAddress(UsageError):
    """Not an IP address."""


class BadFilter(UsageError):
    """A capture filter (tcpdump syntax) that libpcap cannot compile: `link` names the link
    type it was compiled for, when it compiles for others."""

    def __init__(self, expr: str, reason: str, link: str = "") -> None:
        self.expr, self.reason, self.link = expr, reason, link
        on = f" on {link} captures" if link else ""
        super().__init__(f"bad filter {expr!r}{on}: {reason}")

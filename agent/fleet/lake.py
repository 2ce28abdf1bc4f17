"""Where the lake lives: a local folder or an S3-compatible bucket (`s3://bucket/prefix`), read
and written through one pyarrow filesystem, so sealing and the fleet report do not care which.

    L/flows/date=YYYY-MM-DD/host=H/part-0.parquet     the sealed flows of one host-day
    L/manifests/date=YYYY-MM-DD/host=H/manifest.json  their hashes, coverage and signature

An S3 lake takes its endpoint from `AWS_ENDPOINT_URL` (a MinIO or test server) and its
credentials and region the way the AWS tools do. An edge: everything else in `agent.fleet`
takes bytes and tables from here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import NamedTuple

import pyarrow.fs as pafs

from agent.errors import LakeError

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
"""A host name as it may appear in a path: no `/`, `=`, or leading dot."""
PARTIAL = ".partial"
"""A local file being written, renamed over its name once whole."""


class HostDay(NamedTuple):
    """The unit of sealing, checking and mapping: one host's one UTC day."""

    date: str
    host: str


def check_host(host: str) -> str:
    if not HOST.fullmatch(host):
        raise LakeError(f"{host!r}: not a host name the lake can hold (letters, digits, . _ -)")
    return host


@dataclass(frozen=True)
class Lake:
    uri: str
    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, uri: str) -> Lake:
        if uri.startswith("s3://"):
            bucket_path = uri[len("s3://"):].strip("/")
            fs = pafs.S3FileSystem(endpoint_override=os.environ.get("AWS_ENDPOINT_URL") or None,
                                   region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
            return cls(uri, fs, bucket_path)
        return cls(uri, pafs.LocalFileSystem(), os.path.abspath(uri))

    def path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def flows_dir(self, unit: HostDay) -> str:
        return self.path("flows", f"date={unit.date}", f"host={unit.host}")

    def manifest_path(self, unit: HostDay) -> str:
        return self.path("manifests", f"date={unit.date}", f"host={unit.host}", "manifest.json")

    def read(self, path: str) -> bytes | None:
        """A file's bytes, None when it is not there."""
        try:
            with self.fs.open_input_stream(path) as f:
                return bytes(f.read())
        except FileNotFoundError:
            return None
        except OSError as err:
            if "not exist" in str(err) or "NoSuchKey" in str(err):
                return None
            raise LakeError(f"{self.uri}: cannot read {path}: {err}") from err

    def write(self, path: str, data: bytes) -> None:
        """The whole file or none of it, even if the writer is killed: an S3 object appears
        whole; a local file is written beside its name and renamed over it."""
        try:
            if not isinstance(self.fs, pafs.LocalFileSystem):  # S3 has no folders to make
                with self.fs.open_output_stream(path) as f:
                    f.write(data)
                return
            self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            part = f"{path}.{os.getpid()}{PARTIAL}"
            with self.fs.open_output_stream(part) as f:
                f.write(data)
            self.fs.move(part, path)
        except OSError as err:
            raise LakeError(f"{self.uri}: cannot write {path}: {err}") from err

    def files(self, directory: str) -> list[str]:
        """Files under `directory` (relative to it), sorted, less a killed writer's unfinished
        ones (never read: a report reads what manifests name); [] when it is not there."""
        selector = pafs.FileSelector(directory, allow_not_found=True, recursive=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as err:
            raise LakeError(f"{self.uri}: cannot list {directory}: {err}") from err
        names = [i.path[len(directory) + 1:] for i in infos if i.type == pafs.FileType.File
                 and not i.path.endswith(PARTIAL)]  # fmt: skip
        return sorted(names)

    def units(self) -> list[HostDay]:
        """Every host-day with flows or a manifest, by date then host."""
        found = set()
        for top in ("flows", "manifests"):
            for name in self.files(self.path(top)):
                parts = name.split("/")
                if len(parts) < 3 or not parts[0].startswith("date="):
                    continue
                date, host = parts[0][5:], parts[1].removeprefix("host=")
                if parts[1].startswith("host="):
                    if DAY.fullmatch(date) and HOST.fullmatch(host):
                        found.add(HostDay(date, host))
        return sorted(found)

"""The one YAML reader: the policy, the sites file and the daemon's configuration say each
mistake in one shape, `file:line:col: message`, at the node that is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.daemon.config import load_config
from agent.errors import ConfigError, PolicyError, RangeFileError, ResidencyError
from agent.intel.sites import parse_sites
from agent.policy.load import load_policy
from agent.yamlfile import Bad, Reader, compose, suggest

POLICY = "version: 1\nscope:\n  include:\n    - local: 10.0.0.0/8\napprove:\n  - provider: oci\n"
SITES = "version: v1\nsites:\n  - name: a\n    country: US\n    cidrs: [192.0.2.0/24]\n"
CONFIG = "policy: p.yaml\ninterfaces: [eth0]\npoll_interval: 2\n"


def _policy(path: Path) -> object:
    return load_policy(str(path))


def _sites(path: Path) -> object:
    return parse_sites(path.read_bytes(), str(path))


def _config(path: Path) -> object:
    return load_config(str(path))


LOADERS: dict[str, tuple[str, Callable[[Path], object], type[ResidencyError]]] = {
    "policy": (POLICY, _policy, PolicyError),
    "sites": (SITES, _sites, RangeFileError),
    "config": (CONFIG, _config, ConfigError),
}


@pytest.mark.parametrize("kind", LOADERS)
@pytest.mark.parametrize(("edit", "shape"), [
    (lambda t: t.replace("version: 1\n", "version: 1\nversion: 1\n")
     .replace("version: v1\n", "version: v1\nversion: v1\n")
     .replace("policy: p.yaml\n", "policy: p.yaml\npolicy: q.yaml\n"),
     r"2:1: (key 'version'|setting 'policy') given twice"),
    (lambda t: t + "bad: [\n", r"\d+:\d+: invalid YAML: "),
    (lambda t: t.replace("\n", "\n\udcff", 1), "2:1: not UTF-8 text"),  # a byte 0xff
])  # fmt: skip
def test_one_shape_for_every_file(
    tmp_path: Path, kind: str, edit: Callable[[str], str], shape: str
) -> None:
    good, load, error = LOADERS[kind]
    load(_write(tmp_path, good))  # the good file loads
    path = _write(tmp_path, edit(good))
    with pytest.raises(error) as err:
        load(path)
    assert re.match(re.escape(f"{path}:") + shape, str(err.value)), str(err.value)


@pytest.mark.parametrize(("kind", "old", "new", "where"), [
    ("policy", "provider: oci", "providr: oci", "6:5: unknown key 'providr' (did you mean "
     "'provider'?)"),
    ("sites", "country: US", "cuntry: US", "4:5: unknown key 'cuntry' (did you mean 'country'?)"),
    ("config", "interfaces:", "interface:", "2:1: unknown setting 'interface' (did you mean "
     "'interfaces'?)"),
    ("policy", "provider: oci", "provider: oci\n    countries: [XX]", "7:17: country must be an "
     "ISO 3166-1 alpha-2 code like US, not 'XX'"),
    ("sites", "country: US", "country: UK", "4:14: country must be an ISO 3166-1 "
     "alpha-2 code like US, not 'UK' (did you mean 'GB', United Kingdom?)"),
    ("config", "poll_interval: 2", "poll_interval: [2]", "3:16: poll_interval must be a single "
     "value"),
])  # fmt: skip
def test_the_offending_node_is_named(
    tmp_path: Path, kind: str, old: str, new: str, where: str
) -> None:
    good, load, error = LOADERS[kind]
    assert old in good
    path = _write(tmp_path, good.replace(old, new))
    with pytest.raises(error) as err:
        load(path)
    assert str(err.value) == f"{path}:{where}"


def test_suggestions_are_close_or_absent() -> None:
    assert suggest("region", ["regions", "sites"]) == " (did you mean 'regions'?)"
    assert suggest("us-ashburn1", ["us-ashburn-1", "us-phoenix-1"]) == (
        " (did you mean 'us-ashburn-1'?)")  # fmt: skip
    assert suggest("us-nowhere1", ["us-west1", "us-south1"]) == ""  # not close enough to say


def test_a_reader_keeps_every_problem() -> None:
    root = compose(b"a: 1\nb: 2\na: 3\nc: [\n  1]\n")
    reader = Reader()
    assert set(reader.mapping(root, ("a", "b"), required=("d",))) == {"a", "b"}  # type: ignore[arg-type]
    assert [p.at("f") for p in reader.problems] == [
        "f:3:1: key 'a' given twice", "f:4:1: unknown key 'c' (expected one of a, b)",
        "f:1:1: missing key 'd'"]  # fmt: skip
    assert compose(b"") is None
    with pytest.raises(Bad, match="invalid YAML"):
        compose(b"a: \x07\n")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path

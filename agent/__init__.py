"""residency: prove from the network where traffic goes."""

import hashlib
import os
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """numba checks a cached kernel against its own file only, not the files of the kernels it
    inlines: after an edit of one module, another's stale machine code could run against the
    new one. A cache directory named for every source file's size and time avoids that."""
    root = Path(__file__).parent
    files = sorted(root.rglob("*.py"))
    stamp = hashlib.sha256(
        "".join(
            f"{p.relative_to(root)}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for p in files
        ).encode()
    ).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "residency" / f"numba-{__version__}-{stamp}")


os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())

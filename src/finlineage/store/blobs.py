"""Content-addressed copies of ingested source texts: `$DATA_DIR/blobs/<sha[:2]>/<sha>`.

Ingestion writes them (so dependants can be re-parsed and files shown later); the read side
serves line ranges from them.
"""

from __future__ import annotations

import re
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")


def blob_path(data_dir: Path, sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256 digest: {sha256!r}")
    return data_dir / "blobs" / sha256[:2] / sha256

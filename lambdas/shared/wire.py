"""What goes over the WebSocket: JSON, zlib-deflated with its header, base64-encoded.

The dashboard decodes every message with `pako.inflate(atob(data), {to: "string"})`;
pako.deflate and Python's zlib at level 6 produce the same bytes (both start
0x78 0x9c), so this is byte-for-byte what the earlier TypeScript Lambda sent.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

LEVEL = 6


def encode(value: Any) -> bytes:
    """JSON (no spaces, as JSON.stringify) -> zlib -> base64, as bytes ready to post."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(zlib.compress(text.encode("utf-8"), LEVEL))


def decode(payload: bytes | str) -> Any:
    """The inverse of `encode`, as the dashboard does it."""
    return json.loads(zlib.decompress(base64.b64decode(payload)).decode("utf-8"))

"""The one result type of every check the project makes of a stack: preflight
(before a deploy), smoke (after one) and Grafana's verification (part of smoke).
A leaf module: it imports nothing of the project, so grafana/ may use it too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Check:
    name: str
    # True: pass; False: fail; None: not checked from here (the detail says why and how).
    ok: bool | None
    detail: str
    # Passed, but worth reading; never a reason to stop.
    warn: bool = False

    def __post_init__(self) -> None:
        if not (self.ok is None or isinstance(self.ok, bool)) or not isinstance(self.warn, bool):
            raise TypeError(f"a check's ok is True, False or None and its warn a boolean: {self!r}")
        if not isinstance(self.name, str) or not isinstance(self.detail, str) or not self.name or not self.detail:
            raise TypeError(f"a check has a name and a detail: {self!r}")

    @property
    def status(self) -> str:
        if self.ok is None:
            return "SKIP"
        return "FAIL" if not self.ok else "WARN" if self.warn else "PASS"

    def line(self) -> str:
        return f"{self.status}  {self.name}: {self.detail}"


def failed(checks: Iterable[Check]) -> int:
    """How many of the checks failed (a skipped check has not)."""
    return sum(1 for check in checks if check.ok is False)

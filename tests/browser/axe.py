"""Accessibility checks with the vendored axe-core (WCAG 2 A and AA rules).

axe is evaluated through the DevTools protocol rather than added as a ``<script>`` tag: a
page whose Content-Security-Policy forbids inline scripts (ours should) would block the tag.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, TypedDict

from playwright.sync_api import Page

from tests.vendored import AXE_DIR

Impact = Literal["minor", "moderate", "serious", "critical"]
IMPACTS: tuple[Impact, ...] = ("minor", "moderate", "serious", "critical")

_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((node) => node.target.join(" ")),
  }));
}"""


class Violation(TypedDict):
    id: str
    impact: Impact
    help: str
    targets: list[str]


@cache
def _axe_source() -> str:
    return (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page, *, impact_at_least: Impact = "serious") -> list[Violation]:
    """The page's WCAG 2 A/AA violations of at least that impact, worst first."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found: list[Violation] = page.evaluate(_RUN)
    floor = IMPACTS.index(impact_at_least)
    kept = [v for v in found if IMPACTS.index(v["impact"]) >= floor]
    return sorted(kept, key=lambda v: -IMPACTS.index(v["impact"]))


def format_violations(violations: list[Violation]) -> str:
    """One line per violation, for an assertion message."""
    lines = [
        f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['targets'])}" for v in violations
    ]
    return "\n".join(["axe found:", *lines]) if lines else "axe found no violation"

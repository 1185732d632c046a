"""The accessibility audit: axe-core (axe-playwright-python's bundled copy) over the screens.

Nothing is downloaded: the package carries axe.min.js, which Playwright evaluates in the
page (an evaluation from the test, so the pages' CSP applies to the page, not to axe).
"""

from dataclasses import dataclass

from axe_playwright_python.sync_playwright import Axe

# What fails the audit. Moderate and minor findings are reported by axe too, not asserted.
FAILING = ("serious", "critical")
# Every WCAG 2.0-2.2 A and AA rule, and axe's best practices (landmarks, headings...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@dataclass(frozen=True)
class Screen:
    """One width and colour scheme of the matrix."""

    name: str
    width: int
    height: int
    scheme: str

    def apply(self, page):
        page.set_viewport_size({"width": self.width, "height": self.height})
        page.emulate_media(color_scheme=self.scheme)


DESKTOP = (1280, 800)
PHONE = (360, 740)
SCREENS = [
    Screen(f"{name} {scheme}", *size, scheme)
    for name, size in (("desktop", DESKTOP), ("phone", PHONE))
    for scheme in ("light", "dark")
]

_axe = Axe()


def violations(page):
    """The serious and critical violations axe finds on page as it is now."""
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    results = _axe.run(page, options=options)
    return [v for v in results.response["violations"] if v["impact"] in FAILING]


def describe(found):
    """A readable list: rule, impact, what it asks, and each offending element."""
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"[{where}] {v['id']} ({v['impact']}): {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:8]:
                target = " ".join(str(t) for t in node["target"])
                lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1]}")
                lines.append(f"      {node['html'][:200]}")
            if len(v["nodes"]) > 8:
                lines.append(f"    ... and {len(v['nodes']) - 8} more elements")
    return "\n".join(lines)


def audit(page, screens=SCREENS):
    """{screen name: violations} over screens, on one page resized and re-schemed in turn."""
    found = {}
    for screen in screens:
        screen.apply(page)
        page.wait_for_timeout(50)  # one frame for media queries and layout to settle
        items = violations(page)
        if items:
            found[screen.name] = items
    return found

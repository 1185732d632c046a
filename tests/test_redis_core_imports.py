"""redis_core depends on nothing of the chat: no module under redis_core/ imports chat or chatproject.

Dependencies run one way (chat -> redis_core). A legacy module of the chat registers its
own deprecated names with redis_core.legacy; redis_core never names it.
"""

import ast
from pathlib import Path

import pytest

import redis_core

FORBIDDEN = ("chat", "chatproject")
SOURCES = sorted(Path(redis_core.__file__).parent.rglob("*.py"))


def _forbidden(name):
    return name is not None and name.split(".")[0] in FORBIDDEN


def forbidden_imports(tree):
    """(line, module) for each import of chat or chatproject, dynamic imports of literals included."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hits += [(node.lineno, a.name) for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _forbidden(node.module):
            hits.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _forbidden(first.value)
            ):
                hits.append((node.lineno, first.value))
    return hits


def test_sources_found():
    assert len(SOURCES) > 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_redis_core_module__imports_nothing_of_chat(path):
    assert forbidden_imports(ast.parse(path.read_text(), str(path))) == []


@pytest.mark.parametrize(
    "source",
    [
        "import chat.redis_client",
        "from chatproject import settings",
        "from chat.realtime import hub",
        "import importlib\nimportlib.import_module('chat.metrics')",
        "__import__('chatproject.redis')",
    ],
)
def test_forbidden_imports__are_found(source):
    assert len(forbidden_imports(ast.parse(source))) == 1


def test_forbidden_imports__names_that_only_start_alike_pass():
    assert forbidden_imports(ast.parse("import chatter\nfrom . import chat")) == []

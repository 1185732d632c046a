"""`manage.py test` runs the same pytest suite as `make test`."""

import subprocess
import sys


class PytestRunner:
    """A Django TEST_RUNNER that hands its arguments to pytest."""

    def __init__(self, verbosity=1, failfast=False, keepdb=False, **kwargs):
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--keepdb", action="store_true", help="keep the test database")

    def run_tests(self, test_labels, **kwargs):
        argv = list(test_labels) or ["tests"]
        if self.verbosity == 0:
            argv.append("--quiet")
        elif self.verbosity > 1:
            argv.append("--verbose")
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        # A fresh process: this one has read its settings already, and the suite must start
        # its own Redis (tests/redis_plugin.py) before Django reads REDIS_URL.
        from django.conf import settings

        command = [sys.executable, "-m", "pytest", *argv]
        code = subprocess.run(command, cwd=settings.BASE_DIR, check=False).returncode
        # pytest exits 5 when it collected nothing: that is a failure, not a pass.
        return 1 if code == 5 else int(code)

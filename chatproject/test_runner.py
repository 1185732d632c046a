"""`manage.py test` runs the same pytest suite as `make test`."""

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
        import pytest

        argv = list(test_labels) or ["tests"]
        if self.verbosity == 0:
            argv.append("--quiet")
        elif self.verbosity > 1:
            argv.append("--verbose")
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        code = pytest.main(argv)
        # pytest exits 5 when it collected nothing: that is a failure, not a pass.
        return 1 if code == 5 else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(PytestRunner().run_tests(sys.argv[1:]))

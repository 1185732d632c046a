#!/usr/bin/env bash
# A quick smoke test on the other supported Pythons (pyproject.toml: >=3.11,<3.14), when
# pyenv has them: a venv per version (kept under var/ci/, reinstalled when a requirements
# file changes), the pinned requirements with their hashes, `manage.py check`, and tests
# that need no browser and no PostgreSQL. A missing version is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS="${CI_EXTRA_PYTHONS:-3.12 3.13}"
TESTS="tests/test_protocol.py tests/test_manager.py tests/test_env.py tests/test_requirements.py"
root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
status=0
for version in $VERSIONS; do
  python=""
  for candidate in $(ls -d "$root"/versions/"$version"* 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/bin/python" ]; then python="$candidate/bin/python"; break; fi
  done
  if [ -z "$python" ]; then
    echo "ci: Python $version not found under $root/versions: smoke test skipped."
    continue
  fi
  venv="var/ci/py$version"
  stamp="$venv/.installed"
  echo "ci: Python $version smoke test ($python)"
  if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r requirements.txt -r requirements-dev.txt 2> >(grep -v "^WARNING: Location" >&2)
    touch "$stamp"
  fi
  if ! { DJANGO_SECRET_KEY=ci "$venv/bin/python" -W ignore manage.py check \
         && "$venv/bin/python" -m pytest $TESTS -q -p no:cacheprovider; }; then
    echo "ci: Python $version smoke test FAILED" >&2
    status=1
  fi
done
exit $status

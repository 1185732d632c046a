"""The files in deploy/ load on this machine's nginx and systemd, as shipped (only the
addresses and paths that tests/e2e/topology.fill names are replaced)."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT
from tests.e2e.topology import DEPLOY, Nginx, fill

pytestmark = pytest.mark.e2e

UNITS = ("chat@.service", "chat-migrate.service")


def test_nginx_site__loads_on_the_distributions_nginx(tmp_path):
    nginx = Nginx(tmp_path / "nginx", [8101, 8102, 8103], tmp_path / "static")
    code, output = nginx.test_config()
    assert code == 0, output
    assert "syntax is ok" in output and "test is successful" in output
    site = (tmp_path / "nginx" / "site.conf").read_text()
    assert site.count("proxy_set_header Host $http_host;") == 2 and "$host;" not in site
    assert "proxy_next_upstream error timeout http_502 http_503;" in site
    assert "http2 on;" not in site  # nginx 1.25.1 and later only


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_unit__no_trailing_comments_and_wants_network_online(unit):
    text = (DEPLOY / "systemd" / unit).read_text()
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" not in line.split("=", 1)[1], (
                f"a trailing comment is read as a value: {line}"
            )
    assert "Wants=network-online.target" in text and "After=network-online.target" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_unit__passes_systemd_analyze_verify(tmp_path, unit):
    env = tmp_path / "env"
    env.write_text("CHAT_BIND=127.0.0.1\n")
    text = fill(
        DEPLOY / "systemd" / unit, {"EnvironmentFile=/etc/chat/env": f"EnvironmentFile={env}"}
    )
    text = text.replace("/srv/chat/.venv/bin/", f"{ROOT}/.venv/bin/").replace(
        "WorkingDirectory=/srv/chat", f"WorkingDirectory={ROOT}"
    )
    (tmp_path / unit).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / unit)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    problems = [
        line for line in (result.stdout + result.stderr).splitlines()
        if unit.split("@")[0] in line or "Unknown" in line or "trailing" in line
    ]  # fmt: skip
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def _env_file(path):
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and name.isupper() and " #" not in value, line
        values[name] = value
    return values


def test_env_example__every_value_is_accepted_by_the_settings():
    values = _env_file(DEPLOY / "chat.env.example")
    assert values["REDIS_URL"].startswith("redis+sentinel://") and "CSRF_TRUSTED_ORIGINS" in values
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from redis_core import get_manager; m = get_manager(); "
        "print(settings.CSRF_TRUSTED_ORIGINS, settings.REDIS_LOSS_GRACE, m.target.service, "
        "m.sentinel_password is not None)"
    )
    env = {**os.environ, **values, "DJANGO_SETTINGS_MODULE": "chatproject.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['https://chat.example.org']", "10.0", "chat", "True"]

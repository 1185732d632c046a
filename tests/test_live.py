"""check_redis_ssot --live, in process: CLIENT LIST grouping and the checks built on it."""

import os
import socket

import redis

from redis_core import get_manager, live
from redis_core.options import ClientName


def entry(name, addr="127.0.0.1:5000", flags="N", **extra):
    return {"name": name, "addr": addr, "flags": flags, "cmd": "ping", "age": "1", **extra}


def test_group_clients__counts_per_process_and_role():
    report = live.group_clients(
        [
            entry("chat/web1/10/async"),
            entry("chat/web1/10/async"),
            entry("chat/web1/10/sync"),
            entry("chat/web2/20/async"),
        ]
    )
    assert [p.describe() for p in report.processes] == [
        "web1/10: 3 connections (async=2, sync=1)",
        "web2/20: 1 connections (async=1)",
    ]
    assert report.unnamed == []


def test_group_clients__unnamed_and_foreign_names_are_flagged():
    rogue = [entry(""), entry("celery"), entry("chat/web1/notapid/async")]
    report = live.group_clients([entry("chat/web1/10/sync"), *rogue])
    assert report.unnamed == rogue


def test_group_clients__replication_and_sentinel_links_are_not_clients():
    report = live.group_clients([entry("", flags="S"), entry("sentinel-1a2b3c4d-cmd")])
    assert (report.processes, report.unnamed, report.internal) == ([], [], 2)


def test_process_over_its_pool_limit():
    process = live.ProcessConnections("web1", 10)
    process.roles["sync"] = live.ROLE_LIMITS["sync"] + 1
    process.roles["async"] = live.ROLE_LIMITS["async"]
    assert process.over_limit() == [f"sync: {process.roles['sync']} > {live.ROLE_LIMITS['sync']}"]


def test_client_name_round_trip():
    name = ClientName("web-1.example", 4242, "async")
    assert ClientName.parse(str(name)) == name


def test_live_results__this_process_only_passes():
    get_manager().client().ping()
    summary, *rest = live.live_results()
    assert summary.ok, summary.detail
    mine = [r for r in rest if r.name.endswith(f"/{os.getpid()}")]
    assert len(mine) == 1 and "(this command)" in mine[0].detail
    assert [r.name for r in rest][-1] == "live_unnamed"


def test_live_results__flags_a_redis_client_without_a_name(redis_server):
    rogue = redis.Redis.from_url(redis_server.url)  # built beside the manager, on purpose
    try:
        rogue_id = rogue.client_id()
        results = {r.name: r for r in live.live_results()}
    finally:
        rogue.close()
    assert not results["live_clients"].ok
    assert not results["live_unnamed"].ok
    assert f"(id {rogue_id}," in results["live_unnamed"].detail


def test_live_results__flags_a_raw_socket(redis_server):
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=2) as raw:
        raw.sendall(b"PING\r\n")
        assert raw.recv(16).startswith(b"+PONG")
        local = "{}:{}".format(*raw.getsockname())
        unnamed = {r.name: r for r in live.live_results()}["live_unnamed"]
    assert not unnamed.ok
    assert local in unnamed.detail


def test_live_checks__one_callable_per_result():
    checks = live.live_checks()
    results = [check() for check in checks]
    assert [r.name for r in results][0] == "live_clients"
    assert all(r.ok for r in results), results


def test_check_live_clients__one_line():
    result = live.check_live_clients()
    assert result.ok, result.detail
    assert "\n" not in result.detail and f"/{os.getpid()}" in result.detail


def test_live__redis_unreachable(redis_server):
    redis_server.stop()  # the redis_server fixture starts it again afterwards
    [result] = live.live_results()
    assert not result.ok
    assert "CLIENT LIST failed" in result.detail and "REDIS_URL" in result.detail

#!/usr/bin/env python
"""Search latency on a large log: GET /api/search through the real view, p50/p95 per kind.

    .venv/bin/python bench/search.py                       # PostgreSQL, 1,000,000 messages
    .venv/bin/python bench/search.py --database sqlite     # SQLite (FTS5)
    .venv/bin/python bench/search.py --messages 100000 --json

Fills a database of its own (a throwaway PostgreSQL cluster started here, the tests'
PostgresServer, or a SQLite file in a temporary folder; with --database-url, a new database
`bench_search` on that PostgreSQL server) by `migrate` and a bulk load: MESSAGES messages
over 50 rooms (10 of them private) of skewed sizes, and 20 more in a room of their own
whose words are all rare, 200 users, texts of 1-24 words drawn
from a Zipf distribution (s = 1.1) over a 30,000-word vocabulary, so a few words are in
most messages and most words in a handful. PostgreSQL loads with COPY (the GIN index is
built after the load, as a restore does; the generated column is computed by the COPY
itself); SQLite with executemany in one transaction, its triggers filling FTS5 row by row.

Then, after ANALYZE, each kind of query runs QUERIES times (different words each time,
after a warm-up) through Django's test client: the URL resolver, the middleware, the bearer
token's authentication, the view, the SQL and the JSON, in this process — no HTTP socket.
Printed: one table on stderr, and with --json one JSON object on stdout for bench/run.py.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median, quantiles

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROOMS, PRIVATE, USERS, VOCABULARY, ZIPF_S = 50, 10, 200, 30_000, 1.1
LOAD_BATCH = 50_000
SEED = 14


def vocabulary(size, rng):
    """size distinct pronounceable words (3-10 letters), most common first."""
    onsets = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl st tr sh ch th".split()
    vowels = "a e i o u ai ea io ou".split()
    words, seen = [], set()
    while len(words) < size:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(1, 3)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def texts(count, words, rng):
    """count message texts of 1-24 words drawn by Zipf rank."""
    weights = [1 / (rank**ZIPF_S) for rank in range(1, len(words) + 1)]
    lengths = [min(24, max(1, int(rng.lognormvariate(1.9, 0.6)))) for _ in range(count)]
    drawn = iter(rng.choices(words, weights=weights, k=sum(lengths)))
    return [" ".join(next(drawn) for _ in range(n)) for n in lengths]


CODENAME = "zebracorn"  # a private team's word: in 1 of 10 of its rooms' messages, nowhere else


def with_codename(rows, bodies, rooms, rng):
    """bodies with CODENAME added to 10% of the messages of the private rooms the reader is
    not in (rooms 3-9): a word frequent overall whose every match the reader may not see."""
    hidden = {room.pk for room in rooms[3:PRIVATE]}
    return [
        f"{body} {CODENAME}" if room in hidden and rng.random() < 0.1 else body
        for (room, _, _), body in zip(rows, bodies, strict=True)
    ]


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    import django

    django.setup()


def make_people_and_rooms():
    """(users, rooms, the searching user, its token); the user belongs to 3 private rooms."""
    from django.contrib.auth import get_user_model

    from chat import token_auth
    from chat.models import Membership, Room

    model = get_user_model()
    users = model.objects.bulk_create(model(username=f"user{i}") for i in range(USERS))
    users = list(model.objects.order_by("pk"))
    rooms = Room.objects.bulk_create(
        Room(name=f"room{i}", is_private=i < PRIVATE, owner=users[i] if i < PRIVATE else None)
        for i in range(ROOMS)
    )
    rooms = list(Room.objects.order_by("pk"))
    reader = users[-1]
    Membership.objects.bulk_create(Membership(room=rooms[i], user=reader) for i in range(3))
    return users, rooms, reader, token_auth.create_token(reader, "bench")[1]


def plan(count, rooms, users, rng):
    """[(room id, seq, user id)] for count messages: room sizes skewed (room i ∝ 1/(i+1))."""
    weights = [1 / (i + 1) for i in range(len(rooms))]
    chosen = rng.choices(range(len(rooms)), weights=weights, k=count)
    seqs = [0] * len(rooms)
    out = []
    for index in chosen:
        seqs[index] += 1
        out.append((rooms[index].pk, seqs[index], rng.choice(users).pk))
    return out, seqs


def load(rows, bodies, rooms, seqs):
    """Store the messages in bulk; returns seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from chat.models import Room

    started = time.perf_counter()
    now = timezone.now()
    if connection.vendor == "postgresql":
        _load_postgresql(connection, rows, bodies, now)
    else:
        created = connection.ops.adapt_datetimefield_value(now)
        values = [
            (room, seq, user, body, created, False)
            for (room, seq, user), body in zip(rows, bodies, strict=True)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(values), LOAD_BATCH):
                cursor.executemany(
                    "INSERT INTO chat_message (room_id, seq, user_id, text, created, mentions,"
                    " deleted) VALUES (%s, %s, %s, %s, %s, '', %s)",
                    values[start : start + LOAD_BATCH],
                )
    for room, last in zip(rooms, seqs, strict=True):
        Room.objects.filter(pk=room.pk).update(last_seq=last, last_activity=now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _load_postgresql(connection, rows, bodies, now):
    from chat import search_index

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute(f"DROP INDEX {search_index.PG_INDEX}")
        columns = "room_id, seq, user_id, text, created, mentions, deleted"
        with cursor.copy(f"COPY chat_message ({columns}) FROM STDIN") as copy:
            for (room, seq, user), body in zip(rows, bodies, strict=True):
                copy.write_row((room, seq, user, body, now, "", False))
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(
            f"CREATE INDEX {search_index.PG_INDEX} ON chat_message"
            f" USING GIN ({search_index.PG_COLUMN})"
        )
    raw.commit()


QUIET = "quiet"  # a public room of 20 messages holding none of the common words


def quiet_room(words, user):
    """Post the quiet room's 20 messages of rare words through the store."""
    from chat import services, store

    room = services.get_or_create_room(QUIET)
    posts = [
        store.Post(user.pk, user.username, f"{words[10_000 + i]} {words[20_000 + i]}", None)
        for i in range(20)
    ]
    services.post_messages(room.pk, posts)


def kinds(words, rooms, seqs, rng):
    """{kind: a function giving one query's parameters}: common words are ranks 1-20,
    middling 200-2,000, rare 10,000-30,000 (each in a handful of messages)."""
    common = lambda: rng.choice(words[:20])  # noqa: E731
    middling = lambda: rng.choice(words[200:2000])  # noqa: E731
    rare = lambda: rng.choice(words[10_000:])  # noqa: E731
    big, small = rooms[PRIVATE].name, rooms[-1].name  # the largest public room, the smallest
    middle = str(seqs[PRIVATE] // 2)
    return {
        "common word, all rooms": lambda: {"q": common()},
        "rare word, all rooms": lambda: {"q": rare()},
        "middling word, all rooms": lambda: {"q": middling()},
        "two common words, all rooms": lambda: {"q": f"{common()} {common()}"},
        "common + rare word, all rooms": lambda: {"q": f"{common()} {rare()}"},
        "two middling words, all rooms": lambda: {"q": f"{middling()} {middling()}"},
        "a word in no message, all rooms": lambda: {"q": "zzzz" + str(rng.randint(0, 10**6))},
        "common word, one large room": lambda: {"q": common(), "room": big},
        "rare word, one large room": lambda: {"q": rare(), "room": big},
        "common word, one small room": lambda: {"q": common(), "room": small},
        "rare word, one small room": lambda: {"q": rare(), "room": small},
        "common word, a 20-message room without it": lambda: {"q": common(), "room": QUIET},
        "common word, large room, before its middle": lambda: {
            "q": common(),
            "room": big,
            "before": middle,
        },
        "a private team's word, all rooms (not a member)": lambda: {"q": CODENAME},
        "anonymous: a private team's word, all rooms": lambda: {"q": CODENAME, ANONYMOUS: True},
        "anonymous: common word, all rooms": lambda: {"q": common(), ANONYMOUS: True},
        "anonymous: middling word, all rooms": lambda: {"q": middling(), ANONYMOUS: True},
    }


ANONYMOUS = "anonymous"  # a kind's parameter: sent without the token


def measure(kinds_, token, queries, warmup=5):
    """{kind: {"p50", "p95", "max" (ms), "results" (mean count)}}: requests with the
    reader's bearer token (it belongs to 3 of the 10 private rooms), or anonymous."""
    from django.test import Client

    reader, anonymous = Client(HTTP_AUTHORIZATION=f"Bearer {token}"), Client()
    out = {}
    for kind, params in kinds_.items():
        times, counts = [], []
        for i in range(warmup + queries):
            query = params()
            client = anonymous if query.pop(ANONYMOUS, False) else reader
            started = time.perf_counter()
            response = client.get("/api/search", query)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{kind} {query}: {response.status_code} {response.content}")
            if i >= warmup:
                times.append(elapsed)
                counts.append(len(response.json()["results"]))
        cuts = quantiles(times, n=100, method="inclusive")
        out[kind] = {
            "p50": round(median(times), 2), "p95": round(cuts[94], 2),
            "max": round(max(times), 2), "results": round(sum(counts) / len(counts), 1),
        }  # fmt: skip
    return out


def run(database, count, queries, database_url=None):
    from tests.e2e.servers import PostgresServer

    folder = Path(tempfile.mkdtemp(prefix="chat-search-bench-"))
    server = None
    try:
        if database == "sqlite":
            url = f"sqlite:///{folder / 'search.sqlite3'}"
        elif database_url:
            url = _fresh_database(database_url)
        else:
            server = PostgresServer(database="bench_search").start()
            url = server.url
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = random.Random(SEED)
        words = vocabulary(VOCABULARY, rng)
        users, rooms, _, token = make_people_and_rooms()
        rows, seqs = plan(count, rooms, users, rng)
        bodies = with_codename(rows, texts(count, words, rng), rooms, rng)
        load_s = load(rows, bodies, rooms, seqs)
        quiet_room(words, users[0])
        figures = measure(kinds(words, rooms, seqs, rng), token, queries)
        return {
            "database": database, "messages": count, "rooms": ROOMS, "queries": queries,
            "load_s": round(load_s, 1), "kinds": figures,
            "worst_p95": max(f["p95"] for f in figures.values()),
        }  # fmt: skip
    finally:
        from django.db import connections

        connections.close_all()
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _fresh_database(url):
    """A new database bench_search on the PostgreSQL server of url; its URL."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(url)
    with psycopg.connect(make_conninfo(**{**info, "dbname": "postgres"}), autocommit=True) as db:
        db.execute("DROP DATABASE IF EXISTS bench_search")
        db.execute("CREATE DATABASE bench_search")
    return url.rsplit("/", 1)[0] + "/bench_search"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--database-url", help="PostgreSQL server to create bench_search on")
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100, help="per kind of query")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = p.parse_args(argv)
    result = run(a.database, a.messages, a.queries, a.database_url)
    print(
        f"search on {a.database}, {a.messages:,} messages, load {result['load_s']} s,"
        f" {a.queries} queries per kind (ms):",
        file=sys.stderr,
    )
    for kind, f in result["kinds"].items():
        print(
            f"  {kind:45} p50 {f['p50']:7.2f}  p95 {f['p95']:7.2f}  max {f['max']:7.2f}"
            f"  results {f['results']}",
            file=sys.stderr,
        )
    if a.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()

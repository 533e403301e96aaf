"""A psycopg2 client for tests/realworld/psycopg2.sh: python3 pg_client.py DSN MODE.

Every mode prints what it observed, one fact a line, deterministically, so
a run under the shim can be compared with a run without it.
  workload    a broad tour of psycopg2: executemany, parameters of many
              types, a named (server-side) cursor, COPY, an error and its
              rollback, autocommit, an asynchronous connection
  sqlstate    UPDATE a row: prints "updated" or the exception's class and
              SQLSTATE, then the row's value after commit/rollback
  disconnect  SELECT 42: prints the value or the exception's class and
              whether the connection is closed
  delay       three statements marked 'wedge-delay-marker': prints their values
"""
import datetime
import decimal
import sys

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

dsn, mode = sys.argv[1], sys.argv[2]


def out(*a):
    print(*a, flush=True)


def workload():
    c = psycopg2.connect(dsn)
    cur = c.cursor()
    cur.execute("DROP TABLE IF EXISTS rw_tour; CREATE TABLE rw_tour (id int PRIMARY KEY, v int, s text)")
    cur.executemany("INSERT INTO rw_tour VALUES (%s, %s, %s)", [(i, i * i, "row %d" % i) for i in range(100)])
    c.commit()
    cur.execute("SELECT count(*), sum(v) FROM rw_tour")
    out("count,sum", cur.fetchone())
    cur.execute("UPDATE rw_tour SET v = v + 1 WHERE id < %s", (10,))
    out("updated", cur.rowcount)
    c.commit()
    cur.execute(
        "SELECT %s::int, %s::numeric, %s::text, %s::date, %s::bytea, %s::int[], %s::jsonb",
        (7, decimal.Decimal("1.25"), "caf\u00e9 'q'", datetime.date(2024, 2, 29),
         psycopg2.Binary(b"\x00\x01\xff"), [1, 2, 3], psycopg2.extras.Json({"a": [1, None]})),
    )
    r = cur.fetchone()
    out("types", r[0], r[1], r[2], r[3], bytes(r[4]).hex(), r[5], r[6])
    named = c.cursor("rw_named")
    named.itersize = 7
    named.execute("SELECT id FROM rw_tour ORDER BY id")
    out("named", sum(row[0] for row in named))
    named.close()
    c.commit()
    import io
    cur.copy_expert("COPY rw_tour (id, v, s) FROM STDIN", io.StringIO("1000\t1\tcopied\n1001\t2\tcopied\n"))
    cur.execute("SELECT count(*) FROM rw_tour WHERE s = 'copied'")
    out("copied", cur.fetchone()[0])
    c.commit()
    try:
        cur.execute("SELECT 1 / 0")
    except psycopg2.errors.DivisionByZero as e:
        out("error", type(e).__name__, e.pgcode)
    c.rollback()
    c.autocommit = True
    cur.execute("SELECT current_setting('transaction_isolation')")
    out("autocommit", cur.fetchone()[0])
    c.close()
    a = psycopg2.connect(dsn, async_=1)
    psycopg2.extras.wait_select(a)
    acur = a.cursor()
    acur.execute("SELECT sum(id) FROM rw_tour WHERE id < 1000")
    psycopg2.extras.wait_select(a)
    out("async", acur.fetchone()[0])
    a.close()


def sqlstate():
    c = psycopg2.connect(dsn)
    cur = c.cursor()
    cur.execute("DROP TABLE IF EXISTS rw_sqlstate; CREATE TABLE rw_sqlstate (v int); INSERT INTO rw_sqlstate VALUES (1)")
    c.commit()
    try:
        cur.execute("UPDATE rw_sqlstate SET v = 2")
        c.commit()
        out("updated")
    except psycopg2.errors.SerializationFailure as e:
        out("SerializationFailure", e.pgcode)
        c.rollback()
    cur.execute("SELECT v FROM rw_sqlstate")
    out("value", cur.fetchone()[0])


def disconnect():
    c = psycopg2.connect(dsn)
    cur = c.cursor()
    try:
        cur.execute("SELECT 42")
        out("value", cur.fetchone()[0])
    except psycopg2.OperationalError as e:
        out("OperationalError closed=%d" % c.closed)


def delay():
    c = psycopg2.connect(dsn)
    cur = c.cursor()
    for i in range(3):
        cur.execute("SELECT %s::int AS \"wedge-delay-marker\"", (i,))
        out("value", cur.fetchone()[0])


{"workload": workload, "sqlstate": sqlstate, "disconnect": disconnect, "delay": delay}[mode]()

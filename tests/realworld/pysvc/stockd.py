"""stockd.py - a small stock service in Python (psycopg2 + http.server), the
Python twin of counterd (tests/e2e/service) for the realworld scenarios.

    python3 stockd.py --port N --dsn DSN --mode naive|atomic

    GET  /health                        200 "ok"
    POST /take {"id":"acct-1","qty":1}  201 taken, 409 not enough stock,
                                        400 bad request, 500 database error

Both modes first read the stock (SELECT, to answer 409 early).
naive:  then UPDATE the row to the value computed in Python: two requests
        that both read before either writes lose an update.
atomic: then UPDATE ... SET stock = stock - qty WHERE stock >= qty: the row
        lock serialises the takes, whatever was read before.
Each request runs in its own thread (ThreadingHTTPServer) on that thread's
own connection; SIGTERM stops it (exit 0).
"""
import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

args = None
local = threading.local()


def conn():
    if getattr(local, "conn", None) is None or local.conn.closed:
        local.conn = psycopg2.connect(args.dsn)
    return local.conn


def take(item, qty):
    """HTTP status of one take, in one transaction."""
    c = conn()
    try:
        with c.cursor() as cur:
            cur.execute("SELECT stock FROM counter WHERE id = %s", (item,))
            row = cur.fetchone()
            if row is None or row[0] < qty:
                c.rollback()
                return 409
            if args.mode == "naive":
                cur.execute("UPDATE counter SET stock = %s WHERE id = %s", (row[0] - qty, item))
            else:
                cur.execute("UPDATE counter SET stock = stock - %s WHERE id = %s AND stock >= %s",
                            (qty, item, qty))
                if cur.rowcount != 1:
                    c.rollback()
                    return 409
            cur.execute("INSERT INTO taken (id, qty) VALUES (%s, %s)", (item, qty))
        c.commit()
        return 201
    except psycopg2.Error as e:
        print("stockd: database error: %s" % e, file=sys.stderr, flush=True)
        c.rollback()
        return 500


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, "ok") if self.path == "/health" else self.reply(404, "not found")

    def do_POST(self):
        if self.path != "/take":
            return self.reply(404, "not found")
        try:
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            item, qty = str(req["id"]), int(req["qty"])
        except (ValueError, KeyError, TypeError):
            return self.reply(400, "bad request")
        self.reply(take(item, qty), "")

    def log_message(self, *a):
        pass


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--mode", choices=("naive", "atomic"), required=True)
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


if __name__ == "__main__":
    main()

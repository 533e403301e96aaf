#!/usr/bin/env python3
"""An HTTP/1.1 server that keeps no promise: each connection answers one
request, then closes without a `Connection: close` (as a server whose
keep-alive timeout fires between two requests does), half the answers
chunked.  The load engine must send the next request again on a new
connection, never report the race as the request's failure.

    closer.py PORTFILE COUNTFILE [acts]

With "acts", a connection answers its first request and keeps open;
its second request is counted (the service acted on it) and the
connection closed with no answer: a POST must then not be sent again.

Writes its port to PORTFILE once listening; on SIGTERM writes
"connections requests" to COUNTFILE and exits.  GET /slow answers after
300 ms.
"""
import signal
import socket
import sys
import threading
import time

counts = {"conns": 0, "reqs": 0}
lock = threading.Lock()


def serve_acts(conn):
    with conn:
        conn.settimeout(10)
        data = b""
        for k in (1, 2):
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(data) < length:
                data += conn.recv(4096)
            data = data[length:]
            with lock:
                counts["reqs"] += 1
            if k == 1:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def serve(conn):
    with conn:
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        with lock:
            counts["reqs"] += 1
            n = counts["reqs"]
        if data.startswith(b"GET /slow "):
            time.sleep(0.3)  # a request still in flight when the load ends
        if n % 2:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"1;x=y\r\no\r\n1\r\nk\r\n0\r\n\r\n")
        # close at once: the client believes the connection is reusable


def main():
    portfile, countfile = sys.argv[1], sys.argv[2]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(512)

    def stop(*_):
        with open(countfile, "w") as f:
            f.write("%d %d\n" % (counts["conns"], counts["reqs"]))
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = srv.accept()
        with lock:
            counts["conns"] += 1
        fn = serve_acts if sys.argv[3:] == ["acts"] else serve
        threading.Thread(target=fn, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

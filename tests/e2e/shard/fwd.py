#!/usr/bin/env python3
"""fwd.py PORT_FILE TO_PORT: forward TCP connections from any address (a
port of the kernel's choice, written to PORT_FILE) to 127.0.0.1:TO_PORT,
for shards in other network namespaces to reach a service that listens on
loopback only (shopd).  Runs until killed."""
import socket
import sys
import threading


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(128)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        c, _ = srv.accept()
        u = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
        u.settimeout(None)
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# A TCP listener on 127.0.0.1:PORT (0: a free one) that accepts nothing and
# answers nothing, for the readiness tests (limits.sh ready): it writes
# "PID PORT" to PIDFILE once it listens, and exits after 300 s at most.
import os, socket, sys, time
port, pidfile = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), s.getsockname()[1]))
os.rename(pidfile + ".tmp", pidfile)
time.sleep(300)

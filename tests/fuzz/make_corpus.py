#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz (corpus/pgwire, corpus/pgsess):
real PostgreSQL conversations, as a driver and a server exchange them.
Run from tests/fuzz; the files are committed, this says how they were made."""
import os, struct

def msg(t, body=b""):
    return t + struct.pack(">I", len(body) + 4) + body

def startup(user=b"wedge", db=b"shop"):
    body = struct.pack(">I", 0x30000) + b"user\0" + user + b"\0database\0" + db + b"\0\0"
    return struct.pack(">I", len(body) + 4) + body

def parse(name, sql):
    return msg(b"P", name + b"\0" + sql + b"\0" + b"\0\0")

def bind(stmt, params=()):
    body = b"\0" + stmt + b"\0" + b"\0\0" + struct.pack(">H", len(params))
    for p in params:
        body += struct.pack(">I", len(p)) + p
    return msg(b"B", body + b"\0\0")

def exe():
    return msg(b"D", b"P\0") + msg(b"E", b"\0\0\0\0\0")

SYNC = msg(b"S")
client = [
    startup(),
    msg(b"Q", b"SELECT 1\0"),
    parse(b"", b"SELECT stock FROM inventory WHERE sku = $1") + bind(b"", [b"sku-1"]) + exe() + SYNC,
    parse(b"S_1", b"UPDATE inventory SET stock = $1 WHERE sku = $2") + SYNC,
    bind(b"S_1", [b"9", b"sku-1"]) + exe() + bind(b"S_1", [b"8", b"sku-1"]) + exe() + SYNC,
    msg(b"C", b"SS_1\0") + SYNC,
    msg(b"X"),
]
server = [
    msg(b"R", b"\0\0\0\0") + msg(b"S", b"a\0b\0") + msg(b"K", b"\0\0\0\1\0\0\0\2") + msg(b"Z", b"I"),
    msg(b"T", b"\0\1?column?\0" + b"\0" * 18) + msg(b"D", b"\0\1\0\0\0\0011") + msg(b"C", b"SELECT 1\0") + msg(b"Z", b"I"),
    msg(b"1") + msg(b"2") + msg(b"T", b"\0\0") + msg(b"D", b"\0\1\0\0\0\00210") + msg(b"C", b"SELECT 1\0") + msg(b"Z", b"I"),
    msg(b"1") + msg(b"Z", b"I"),
    msg(b"2") + msg(b"n") + msg(b"C", b"UPDATE 1\0") + msg(b"2") + msg(b"n")
    + msg(b"E", b"SERROR\0C40001\0Mcould not serialize\0\0") + msg(b"Z", b"E"),
    msg(b"3") + msg(b"Z", b"I"),
]

def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# pgwire: a direction byte (odd: server), then the stream
write("corpus/pgwire", "client", b"\x02" + b"".join(client))
write("corpus/pgwire", "server", b"\x03" + b"".join(server))
write("corpus/pgwire", "ssl", b"\x04" + struct.pack(">II", 8, 80877103) + startup())

# pgsess: a quarter of verdict bytes, then operations (op, length, bytes):
# op % 5 in 0,1: the client sends; 2,3: the server's bytes arrive; 4: close
def ops(pairs):
    out = b""
    for c, s in pairs:
        for op, data in ((0, c), (2, s)):
            while data:
                out += bytes([op, min(len(data), 199)]) + data[:199]
                data = data[199:]
    return out

body = ops(zip(client[1:], server[1:]))
write("corpus/pgsess", "quiet", b"\x01" * (len(body) // 3) + body)
write("corpus/pgsess", "inject", b"\x07" * (len(body) // 3) + body)
write("corpus/pgsess", "partial", b"\x02" * (len(body) // 3) + body.replace(b"\x00\x0c", b"\x01\x0c"))

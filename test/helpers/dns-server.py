#!/usr/bin/env python3
"""A tiny authoritative-style DNS server over UDP for test namespaces, written independently of the
agent's DNS code so a shared misunderstanding of the wire format cannot make both sides agree.

    ip netns exec NS python3 dns-server.py --listen 10.213.1.2 --port 53 --zone '{"portal.test": {...}}'

Zone: name (lower case, no trailing dot) -> behaviour:
    {"A": ["10.0.0.1", ...], "AAAA": ["2001:db8::1"], "delay_ms": 100}   records (other types: NOERROR, no data)
    {"CNAME": "other.test"}        a CNAME record, followed in the same answer when the target is in the zone
    {"rcode": 2}                   an empty answer with that rcode (2 SERVFAIL, 5 REFUSED, ...)
    {"drop": true}                 never answer
    {"spoof_first": true, "A": [...]}  first send a reply with a wrong id, then the real one 20 ms later
    {"whoami": true}               one A record: the address the query came from
Names not in the zone: NXDOMAIN. Prints "ready" when listening; stops when stdin closes.
"""
import argparse
import heapq
import json
import select
import socket
import struct
import sys
import time

TYPES = {"A": 1, "AAAA": 28, "CNAME": 5}


def read_name(buf: bytes, off: int):
    labels = []
    while True:
        n = buf[off]
        if n == 0:
            return ".".join(labels).lower(), off + 1
        if n & 0xC0:
            raise ValueError("compression in a question")
        labels.append(buf[off + 1 : off + 1 + n].decode("ascii"))
        off += 1 + n


def enc_name(name: str) -> bytes:
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rr(name: bytes, rtype: int, rdata: bytes) -> bytes:
    return name + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata


def rdata_for(rtype: int, value: str) -> bytes:
    if rtype == 1:
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == 28:
        return socket.inet_pton(socket.AF_INET6, value)
    return enc_name(value)


def answer(zone: dict, query: bytes, src: str):
    """-> (reply bytes or None to drop, delay seconds, spoof-first)"""
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    name, off = read_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off : off + 4])
    question = query[12 : off + 4]
    entry = zone.get(name)
    rcode, answers = 0, []
    if entry is None:
        rcode = 3
    elif entry.get("drop"):
        return None, 0.0, False
    elif "rcode" in entry:
        rcode = int(entry["rcode"])
    elif entry.get("whoami"):
        if qtype == 1:
            answers.append(rr(b"\xc0\x0c", 1, socket.inet_pton(socket.AF_INET, src)))
    else:
        owner, cur = b"\xc0\x0c", entry
        for _ in range(8):  # follow CNAMEs inside the zone
            if "CNAME" in cur:
                answers.append(rr(owner, 5, enc_name(cur["CNAME"])))
                owner = enc_name(cur["CNAME"])
                cur = zone.get(cur["CNAME"], {})
                continue
            for tname, tval in TYPES.items():
                if tval == qtype and tname in cur:
                    for v in cur[tname]:
                        answers.append(rr(owner, qtype, rdata_for(qtype, v)))
            break
    rd = flags & 0x0100
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, len(answers), 0, 0)  # QR AA RD RA
    delay = (entry or {}).get("delay_ms", 0) / 1000.0
    return hdr + question + b"".join(answers), delay, bool((entry or {}).get("spoof_first"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", required=True)
    args = ap.parse_args()
    zone = {k.lower().rstrip("."): v for k, v in json.loads(args.zone).items()}
    fam = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((args.listen, args.port))
    due: list = []
    tie = 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        readable, _, _ = select.select([sock, sys.stdin], [], [], timeout)
        if sys.stdin in readable and not sys.stdin.buffer.read1(1):
            return
        if sock in readable:
            query, addr = sock.recvfrom(4096)
            try:
                reply, delay, spoof = answer(zone, query, addr[0])
            except Exception as e:  # a malformed query: ignore it, as a real server would
                print(f"bad query: {e}", file=sys.stderr, flush=True)
                reply = None
            if reply is not None:
                now = time.monotonic()
                if spoof:
                    wrong = struct.pack("!H", struct.unpack("!H", reply[:2])[0] ^ 0x5A5A) + reply[2:]
                    tie += 1
                    heapq.heappush(due, (now, tie, wrong, addr))
                    delay = max(delay, 0.02)
                tie += 1
                heapq.heappush(due, (now + delay, tie, reply, addr))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, pkt, dst = heapq.heappop(due)
            try:
                sock.sendto(pkt, dst)
            except OSError as e:  # no route back to that source (a test of a wrongly bound client)
                print(f"send to {dst}: {e}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

#!/usr/bin/env python3
"""Userspace ICMP echo responder with injected latency, for test namespaces (this kernel has no netem).

Run inside a namespace whose kernel does not answer pings (net.ipv4.icmp_echo_ignore_all=1):
    ip netns exec NS python3 echo-responder.py --delay-ms 50 [--jitter-ms 10] [--seed 1]
Each echo request is answered after delay + uniform(-jitter, +jitter) ms (never below 0), measured
from its arrival; --log prints "<icmp id> <seq> <delay ms>" for each, so a test can compare every
measured RTT with the delay really injected into that echo. Replies wait in a heap ordered by due time, so a slow reply never holds up another
request: echoes 20 ms apart with 50 ms delay are all in flight at once. Prints "ready" when listening.
"""
import argparse
import heapq
import random
import select
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--log", action="store_true", help='print "<id> <seq> <delay ms>" per request')
    args = ap.parse_args()
    rng = random.Random(args.seed)

    # A raw ICMP socket receives a copy of every ICMP packet for this namespace (with its IP header);
    # what it sends gets its IP header from the kernel.
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    due: list = []  # (due_monotonic, tie, packet, address)
    tie = 0
    print("ready", flush=True)
    while True:
        timeout = None
        if due:
            timeout = max(0.0, due[0][0] - time.monotonic())
        readable, _, _ = select.select([sock, sys.stdin], [], [], timeout)
        now = time.monotonic()
        if sys.stdin in readable and not sys.stdin.buffer.read1(1):
            return  # the test closed our stdin: stop
        if sock in readable:
            pkt, addr = sock.recvfrom(65535)
            ihl = (pkt[0] & 0x0F) * 4
            icmp = pkt[ihl:]
            if len(icmp) >= 8 and icmp[0] == 8 and icmp[1] == 0:  # echo request
                reply = bytearray(icmp)
                reply[0] = 0  # echo reply; id, sequence and payload (ping's timestamp) unchanged
                reply[2:4] = b"\0\0"
                reply[2:4] = struct.pack("!H", checksum(bytes(reply)))
                delay = max(0.0, args.delay_ms + (rng.uniform(-args.jitter_ms, args.jitter_ms) if args.jitter_ms else 0.0))
                if args.log:
                    ident, seq = struct.unpack("!HH", icmp[4:8])
                    print(f"{ident} {seq} {delay:.3f}", flush=True)
                tie += 1
                heapq.heappush(due, (now + delay / 1000.0, tie, bytes(reply), addr[0]))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, reply, dst = heapq.heappop(due)
            try:
                sock.sendto(reply, (dst, 0))
            except OSError as e:  # no route back to that source: the echo is lost, as on a real link
                print(f"send to {dst}: {e}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

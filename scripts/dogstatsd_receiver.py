#!/usr/bin/env python3
"""A tiny DogStatsD stand-in for the demo: prints every received line, decoded, to stdout.

usage: dogstatsd_receiver.py PORT_FILE   (binds 127.0.0.1:0 and writes the port to PORT_FILE)
"""
import socket
import sys


def decode(line):
    head, _, rest = line.partition("|")
    name, _, values = head.partition(":")
    kind, _, tags = rest.partition("|#")
    kinds = {"g": "gauge", "c": "count", "h": "histogram"}
    shown = values if len(values) < 40 else values[:37] + "..."
    tags = ",".join(t for t in tags.split(",") if not t.startswith("expvar_url:"))
    return f"{kinds.get(kind, kind):<9} {name:<42} {shown:>20}  {tags}"


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(sys.argv[1], "w") as f:
        f.write(str(sock.getsockname()[1]))
    while True:
        data, _ = sock.recvfrom(65536)
        for line in data.decode(errors="replace").splitlines():
            print(decode(line), flush=True)


if __name__ == "__main__":
    main()

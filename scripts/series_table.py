#!/usr/bin/env python3
"""Prints `expvar-collector check` JSON lines as a table, one row per series and run."""
import json
import sys


def number(value):
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4f}"


def main():
    rows = [json.loads(line) for line in sys.stdin if line.strip()]
    if not rows:
        print("(no series)")
        return
    width = max(len(r["name"]) for r in rows)
    print(f"{'run':>3}  {'name':<{width}}  {'type':<5}  {'value':>16}  tags")
    for r in rows:
        tags = ",".join(t for t in r["tags"] if not t.startswith("expvar_url:"))
        print(f"{r['run']:>3}  {r['name']:<{width}}  {r['type']:<5}  {number(r['value']):>16}  {tags}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks the source layout that docs/ARCHITECTURE.md describes, so it cannot drift:

- every lib/ folder includes only the folders its row of ALLOWED names (data flows one way, and
  the folder include graph has no cycle);
- no lib/ or cmd/ file is longer than 450 lines;
- nothing DogStatsD-specific (the word "statsd") leaks into the stages before the sinks;
- every public header starts with a comment saying what the component does;
- no helper (a free function at namespace scope) is defined under the same name in two files:
  shared helpers live once in lib/common/ (or come from Boost); REPEATS_ALLOWED lists the
  exceptions, each with the reason it differs.

Usage: layout_check.py SOURCE_DIR. Prints every violation; exits 1 when there is one.
"""
import pathlib
import re
import sys

# folder -> the lib/ folders it may include (besides itself). Keep in step with
# docs/ARCHITECTURE.md.
ALLOWED = {
    "pipeline": set(),
    "common": set(),
    "http": {"common"},
    "config": {"pipeline", "common"},
    "check": {"pipeline", "common", "http"},
    "resolve": {"pipeline", "common", "http"},
    "discovery": {"pipeline", "common", "config", "resolve"},
    "discovery/kube": {"pipeline", "common", "http", "discovery"},
    "schedule": {"pipeline", "common", "check", "http"},
    "sink": {"pipeline", "common"},
    "admin": {"common"},
    "cli": {"pipeline", "common", "http", "config", "check", "resolve", "discovery",
            "discovery/kube", "schedule", "sink", "admin"},
    "cmd/expvar-collector": {"cli"},
}
NO_STATSD = ["check", "config", "http", "resolve", "discovery", "discovery/kube", "schedule"]
MAX_LINES = 450
# name -> why the copies differ. At most five.
REPEATS_ALLOWED = {}
# A definition at column 0: return type, then Name(...) {, not a member (no Class::Name).
DEFINITION = re.compile(r"^[\w:<>,*&][\w:<>,*& ]*?[\s*&]([A-Z]\w*)\([^;{}]*\)\s*(?:const\s*)?\{",
                        re.M)
INCLUDE = re.compile(r'^#include "([a-z_/]+)/[a-z_0-9]+\.h"', re.M)


def folder_of(path, root):
    rel = path.parent.relative_to(root)
    parts = rel.parts
    return "/".join(parts[1:]) if parts[0] == "lib" else "/".join(parts)


def main():
    root = pathlib.Path(sys.argv[1])
    problems = []
    files = sorted(list((root / "lib").rglob("*.h")) + list((root / "lib").rglob("*.cc")) +
                   list((root / "cmd").rglob("*.cc")))
    edges = {}
    for path in files:
        folder = folder_of(path, root)
        text = path.read_text()
        rel = path.relative_to(root)
        if folder not in ALLOWED:
            problems.append(f"{rel}: folder {folder} has no row in ALLOWED")
            continue
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_LINES})")
        for target in INCLUDE.findall(text):
            if target == folder:
                continue
            edges.setdefault(folder, set()).add(target)
            if target not in ALLOWED[folder]:
                problems.append(f"{rel}: includes {target}/, which {folder}/ may not")
        if folder in NO_STATSD and "statsd" in text.lower():
            problems.append(f"{rel}: mentions statsd; DogStatsD belongs in lib/sink/ only")
        if path.suffix == ".h" and not text.startswith("//"):
            problems.append(f"{rel}: a header starts with a comment saying what it does")
    problems += cycles(edges)
    problems += repeated_helpers(files, root)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def repeated_helpers(files, root):
    """Helper names defined in more than one file, beyond REPEATS_ALLOWED."""
    where = {}
    for path in files:
        for match in DEFINITION.finditer(path.read_text()):
            where.setdefault(match.group(1), set()).add(str(path.relative_to(root)))
    return [f"helper {name} is defined in {len(paths)} files: {', '.join(sorted(paths))}"
            for name, paths in sorted(where.items())
            if len(paths) > 1 and name not in REPEATS_ALLOWED]


def cycles(edges):
    """Every include cycle between folders, as a message."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append("include cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


if __name__ == "__main__":
    sys.exit(main())

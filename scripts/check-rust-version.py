#!/usr/bin/env python3
"""Checks that the declared rust-version holds for the lockfile.

Every workspace member must declare the workspace's rust-version, and no package in Cargo.lock
(on any platform, the loom build's included) may need a newer Rust. The workspace's own code is
held to the same version by clippy's `incompatible_msrv` lint, which reads rust-version.

    cargo metadata --format-version 1 --locked | python3 scripts/check-rust-version.py
"""
import json
import sys


def version(text):
    """"1.89" and "1.89.0" alike, as (1, 89, 0)."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.load(sys.stdin)
    members = set(meta["workspace_members"])
    declared = {p["name"]: p.get("rust_version") for p in meta["packages"] if p["id"] in members}
    versions = set(declared.values())
    if len(versions) != 1 or None in versions:
        print(f"rust-version differs between workspace members: {declared}")
        return 1
    ours = versions.pop()
    needs = [
        (version(p["rust_version"]), f'{p["name"]} {p["version"]}')
        for p in meta["packages"]
        if p["id"] not in members and p.get("rust_version")
    ]
    need, who = max(needs, default=((0, 0, 0), "nothing"))
    need_text = ".".join(map(str, need[:2] if need[2:] == (0,) else need))
    if need > version(ours):
        print(f"rust-version is {ours}, but {who} in Cargo.lock needs {need_text}: raise it, or "
              f"pin an older {who.split()[0]} (the workspace resolver prefers versions that fit)")
        return 1
    print(f"rust-version {ours}; the most demanding dependency, {who}, needs {need_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

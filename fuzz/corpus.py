#!/usr/bin/env python3
"""Build the per-target fuzzing corpora that `.ci/fuzz` starts from.

    corpus.py SEEDS_DIR SHARED_DATA_DIR OUT_DIR TARGET=MAX_LEN ...

For every TARGET named, OUT_DIR/TARGET/ gets the checked-in seeds of SEEDS_DIR/TARGET/ plus
real data taken from SHARED_DATA_DIR (the project's ../shared/data): single-package slices of the
real RPM databases, a deterministic sample of the OSV advisories of every ecosystem, the real
Alpine `installed` and secdb files, and version pairs from OSV ranges and secfixes. No file
longer than that target's MAX_LEN is written (libFuzzer would cut it, and a cut seed is mostly a
parse error). A missing SHARED_DATA_DIR leaves only the checked-in seeds and says so.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpmdb_seeds  # noqa: E402

OSV_ECOSYSTEMS = ["go", "crates.io", "PyPI"]
OSV_PER_ECOSYSTEM = 40


def main():
    seeds, shared, out = sys.argv[1:4]
    limits = dict((k, int(v)) for k, v in (a.split("=", 1) for a in sys.argv[4:]))
    counts = {t: 0 for t in limits}

    def put(target, name, data):
        if target not in limits or len(data) > limits[target]:
            return
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name.replace("/", "_")), "wb") as f:
            f.write(data)
        counts[target] += 1

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    for t in limits:
        os.makedirs(os.path.join(out, t), exist_ok=True)
        src = os.path.join(seeds, t)
        if os.path.isdir(src):
            for name in sorted(os.listdir(src)):
                p = os.path.join(src, name)
                if os.path.isfile(p):
                    put(t, "seed-" + name, read(p))

    if not os.path.isdir(shared):
        print("corpus: %s missing, checked-in seeds only" % shared, file=sys.stderr)
    else:
        rpm_targets = [t for t in ("ospkg_rpm_ndb", "ospkg_rpm_bdb", "ospkg_rpm_header") if t in limits]
        if rpm_targets:
            for target, name, data in rpmdb_seeds.all_seeds(shared):
                put(target, name, data)

        apk = os.path.join(shared, "alpine-rootfs-3.14/lib/apk/db/installed")
        if os.path.isfile(apk):
            put("ospkg_apk", "shared-alpine-3.14-installed", read(apk))

        versions = set()
        for eco in OSV_ECOSYSTEMS:
            d = os.path.join(shared, "osv", eco)
            if not os.path.isdir(d):
                continue
            names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
            step = max(1, len(names) // OSV_PER_ECOSYSTEM)
            for n in names[::step]:
                data = read(os.path.join(d, n))
                put("feed_osv", "shared-%s-%s" % (eco, n), data)
                versions |= osv_versions(data)
        samples = os.path.join(shared, "osv", "samples")
        for root, _, files in sorted(os.walk(samples)):
            for n in sorted(files):
                if n.endswith(".json"):
                    data = read(os.path.join(root, n))
                    put("feed_osv", "shared-sample-" + n, data)
                    versions |= osv_versions(data)

        secdb = os.path.join(shared, "alpine-secdb")
        for root, _, files in sorted(os.walk(secdb)):
            for n in sorted(files):
                data = read(os.path.join(root, n))
                versions |= secdb_versions(data)
                if "feed_alpine_secdb" in limits:
                    size = limits["feed_alpine_secdb"] // 2
                    for i, part in enumerate(secdb_slices(data, size)):
                        name = "shared-%s-%s-part%02d" % (os.path.basename(root), n, i)
                        put("feed_alpine_secdb", name, part)

        for i, pair in enumerate(sorted(versions)[:400]):
            put("version_compare", "shared-pair%03d" % i, ("%s\t%s" % pair).encode())

    print("corpus: " + " ".join("%s=%d" % kv for kv in sorted(counts.items())))


def osv_versions(data):
    """(introduced, fixed) pairs of the advisory's ranges."""
    try:
        doc = json.loads(data)
        out = set()
        for a in doc.get("affected", []):
            for r in a.get("ranges", []):
                ev = [list(e.values())[0] for e in r.get("events", []) if e]
                for x, y in zip(ev, ev[1:]):
                    if isinstance(x, str) and isinstance(y, str) and r.get("type") != "GIT":
                        out.add((x, y))
        return out
    except (ValueError, AttributeError, TypeError):
        return set()


def secdb_slices(data, size):
    """The file's header (release, repository) followed by consecutive runs of its package
    entries, each slice about `size` bytes: whole real records, small enough to mutate."""
    lines = data.split(b"\n")
    starts = [i for i, l in enumerate(lines) if l.startswith(b"  - pkg:")]
    if not starts:
        return [data]
    head = b"\n".join(lines[:starts[0]]) + b"\n"
    starts.append(len(lines))
    out, cur = [], b""
    for a, b in zip(starts, starts[1:]):
        entry = b"\n".join(lines[a:b]) + b"\n"
        if cur and len(head) + len(cur) + len(entry) > size:
            out.append(head + cur)
            cur = b""
        cur += entry
    if cur:
        out.append(head + cur)
    return out


def secdb_versions(data):
    """Consecutive fixed versions of each package in a secdb YAML file (no YAML library needed:
    the versions are the keys indented under `secfixes:`)."""
    out = set()
    prev = None
    for line in data.decode("utf-8", "replace").splitlines():
        s = line.strip()
        if s.startswith("name:"):
            prev = None
        elif line.startswith("        ") and not line.startswith("          ") and s.endswith(":"):
            v = s[:-1].strip("'\"")
            if prev:
                out.add((prev, v))
            prev = v
    return out


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The PyPI advisory oracle of tests/langpkg.rs, written with `packaging` alone.

Usage: pypi_oracle.py OSV_DIR INSTALLED_JSON

INSTALLED_JSON is a list of [name, version] pairs: the PyPI packages of the image (as the
installed metadata names them). For every OSV advisory (*.json) in OSV_DIR that is not withdrawn,
every `affected` entry of ecosystem PyPI whose package name is, after PEP 503 normalisation
(packaging.utils.canonicalize_name), one of the installed names, decides whether the installed
version is affected, following the OSV schema's evaluation rules:

- the version is affected if it equals (packaging.version.Version equality) a version of the
  entry's `versions` list;
- or if one ECOSYSTEM (or SEMVER) range leaves it affected: the range's `introduced`, `fixed`
  and `last_affected` events are sorted by Version (`introduced: "0"` first) and walked:
  introduced <= v sets affected, fixed <= v clears it, last_affected < v clears it; `limit`
  events bound the range (v must be below at least one, "*" is unbounded);
- GIT ranges are not evaluated (commit graphs are not versions).

Prints one JSON object: `findings` (sorted [advisory id, "pkg:pypi/<normalised name>@<version>"]
pairs), `advisories_naming_installed` (how many advisories name an installed package at all),
`withdrawn_naming_installed` (withdrawn advisories naming one, skipped) and `invalid_versions`
(event or list versions `packaging` cannot parse, each skipped, with its advisory).
"""

import json
import os
import sys

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def parse(v, adv, invalid):
    try:
        return Version(v)
    except InvalidVersion:
        invalid.add((adv, v))
        return None


def in_range(version, events, adv, invalid):
    limits = [e["limit"] for e in events if "limit" in e]
    if limits:
        below = False
        for lim in limits:
            if "*" in lim:
                below = True
                break
            lv = parse(lim, adv, invalid)
            if lv is not None and version < lv:
                below = True
                break
        if not below:
            return False
    timeline = []
    for e in events:
        for kind in ("introduced", "fixed", "last_affected"):
            if kind in e:
                raw = e[kind]
                if kind == "introduced" and raw == "0":
                    timeline.append((0, None, kind))
                    continue
                pv = parse(raw, adv, invalid)
                if pv is not None:
                    timeline.append((1, pv, kind))
    timeline.sort(key=lambda t: (t[0], t[1]) if t[1] is not None else (t[0],))
    affected = False
    for _, pv, kind in timeline:
        if kind == "introduced":
            if pv is None or version >= pv:
                affected = True
        elif kind == "fixed":
            if version >= pv:
                affected = False
        elif kind == "last_affected":
            if version > pv:
                affected = False
    return affected


def main():
    osv_dir, installed_path = sys.argv[1], sys.argv[2]
    with open(installed_path) as f:
        installed = {}
        for name, version in json.load(f):
            installed.setdefault(canonicalize_name(name), set()).add(version)
    findings = set()
    naming = set()
    withdrawn = set()
    invalid = set()
    for fname in sorted(os.listdir(osv_dir)):
        if not fname.endswith(".json"):
            continue
        with open(os.path.join(osv_dir, fname)) as f:
            adv = json.load(f)
        aid = adv["id"]
        for aff in adv.get("affected") or []:
            pkg = aff.get("package") or {}
            if pkg.get("ecosystem") != "PyPI":
                continue
            name = canonicalize_name(pkg.get("name", ""))
            if name not in installed:
                continue
            if adv.get("withdrawn"):
                withdrawn.add(aid)
                continue
            naming.add(aid)
            for raw in installed[name]:
                version = parse(raw, aid, invalid)
                if version is None:
                    continue
                hit = False
                for listed in aff.get("versions") or []:
                    lv = parse(listed, aid, invalid)
                    if lv is not None and lv == version:
                        hit = True
                for rng in aff.get("ranges") or []:
                    if rng.get("type") in ("ECOSYSTEM", "SEMVER") and in_range(
                        version, rng.get("events") or [], aid, invalid
                    ):
                        hit = True
                if hit:
                    findings.add((aid, f"pkg:pypi/{name}@{raw}"))
    json.dump(
        {
            "findings": sorted([list(p) for p in findings]),
            "advisories_naming_installed": len(naming),
            "withdrawn_naming_installed": sorted(withdrawn),
            "invalid_versions": sorted([list(p) for p in invalid]),
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()

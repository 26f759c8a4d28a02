#!/usr/bin/env python3
"""Small RPM database seeds cut from the real databases in ../shared/data/rpmdb.

The real files are too big to fuzz whole (NDB 1.3 MB, BerkeleyDB 92 KB) and the parsers stop at
the first bad record, so a fuzzer seeded with them spends its time copying bytes. This script
keeps their real framing (the NDB header and slot page, the BerkeleyDB metadata, hash and
overflow page headers) and real RPM header blobs, but carries only one or two packages per file:

    rpmdb_seeds.py SHARED_DATA_DIR OUT_DIR [--max-len N] [--few]

writes OUT_DIR/ospkg_rpm_ndb/, OUT_DIR/ospkg_rpm_bdb/ and OUT_DIR/ospkg_rpm_header/, every file at
most N bytes (default 65536); `--few` writes only the seeds checked in under fuzz/seeds/
(`rpmdb_seeds.py ../shared/data fuzz/seeds --few` regenerates them byte for byte). `corpus.py`
uses `all_seeds` for CI's larger corpus.
"""

import argparse
import os
import sqlite3
import struct
import sys

NDB_PAGE = 4096
NDB_BLK = 16


def ndb_blobs(ndb):
    """(pkgidx, blob bytes incl. 16-byte head and 12-byte tail, block count) per used slot."""
    slotnpages = struct.unpack_from("<I", ndb, 12)[0]
    out = []
    for off in range(32, slotnpages * NDB_PAGE, 16):
        magic, idx, blkoff, blkcnt = struct.unpack_from("<4sIII", ndb, off)
        assert magic == b"Slot", off
        if idx:
            start = blkoff * NDB_BLK
            out.append((idx, ndb[start:start + blkcnt * NDB_BLK], blkcnt))
    return out


def ndb_header_blob(blob):
    """The RPM header inside an NDB blob."""
    length = struct.unpack_from("<I", blob, 12)[0]
    return blob[16:16 + length]


def make_ndb(ndb, picked):
    """The real header page, every slot freed except those of `picked`, their blobs packed."""
    slotnpages = struct.unpack_from("<I", ndb, 12)[0]
    head = bytearray(ndb[:slotnpages * NDB_PAGE])
    keep = {idx for idx, _, _ in picked}
    nextblk = len(head) // NDB_BLK
    body = bytearray()
    by_idx = {idx: (blob, cnt) for idx, blob, cnt in picked}
    for off in range(32, len(head), 16):
        idx = struct.unpack_from("<I", head, off + 4)[0]
        if idx in keep:
            blob, cnt = by_idx[idx]
            struct.pack_into("<III", head, off + 4, idx, nextblk, cnt)
            body += blob
            nextblk += cnt
        elif idx:
            struct.pack_into("<III", head, off + 4, 0, 0, 0)
    return bytes(head + body)


def make_bdb(template, headers, page_size=4096, big_endian=False):
    """A hash `Packages` shaped like the real one: metadata page, a hash page holding rpm's
    inline record 0, one hash page per header pointing to an overflow chain of that header."""
    e = ">" if big_endian else "<"
    ps = page_size
    tmpl_ps = struct.unpack_from("<I", template, 20)[0]
    meta = bytearray(template[:min(ps, 512)].ljust(ps, b"\0"))
    # magic, version and page size, in the chosen byte order (the rest of the real page is kept)
    magic, version, _ = struct.unpack_from("<III", template, 12)
    struct.pack_into(e + "III", meta, 12, magic, version, ps)
    # inline record 0 page, copied from the real page 1 (key/data offsets at the page end)
    real1 = template[tmpl_ps:2 * tmpl_ps]
    pages = []

    def hash_page(pgno, items):
        p = bytearray(ps)
        struct.pack_into(e + "IIII", p, 8, pgno, 0, 0, 0)
        p[25] = 13
        offs = []
        end = ps
        for it in items:
            end -= len(it)
            p[end:end + len(it)] = it
            offs.append(end)
        struct.pack_into(e + "H", p, 20, len(items))
        struct.pack_into(e + "H", p, 22, end)
        for i, o in enumerate(offs):
            struct.pack_into(e + "H", p, 26 + 2 * i, o)
        return p

    # record 0: key 0x01 00000000 / data 0x01 01000000 (as in the real file)
    r1_items = [real1[4091:4096], real1[4086:4091]]
    pages.append(hash_page(1, r1_items))
    first_free = 2 + len(headers)
    chains = []
    for n, hdr in enumerate(headers):
        key = b"\x01" + struct.pack(e + "I", n + 1)
        off = bytearray(12)
        off[0] = 3
        struct.pack_into(e + "II", off, 4, first_free, len(hdr))
        pages.append(hash_page(2 + n, [key, bytes(off)]))
        room = ps - 26
        chunks = [hdr[i:i + room] for i in range(0, len(hdr), room)]
        chains.append((first_free, chunks))
        first_free += len(chunks)
    for start, chunks in chains:
        for i, c in enumerate(chunks):
            pgno = start + i
            p = bytearray(ps)
            nxt = pgno + 1 if i + 1 < len(chunks) else 0
            prev = pgno - 1 if i else 0
            struct.pack_into(e + "IIIHH", p, 8, pgno, prev, nxt, 1, len(c))
            p[25] = 7
            p[26:26 + len(c)] = c
            pages.append(p)
    struct.pack_into(e + "I", meta, 32, len(pages))  # last page number
    return bytes(meta) + b"".join(bytes(p) for p in pages)


def load(shared_data):
    rpmdb = os.path.join(shared_data, "rpmdb")
    with open(os.path.join(rpmdb, "sle15-bci/Packages.db"), "rb") as f:
        ndb = f.read()
    with open(os.path.join(rpmdb, "libuuid/Packages"), "rb") as f:
        bdb = f.read()
    path = os.path.join(rpmdb, "cbl-mariner-2.0/rpmdb.sqlite")
    con = sqlite3.connect("file:%s?mode=ro&immutable=1" % path, uri=True)
    sq = sorted((len(b), h, bytes(b)) for h, b in con.execute("select hnum, blob from Packages"))
    con.close()
    blobs = sorted(ndb_blobs(ndb), key=lambda t: (len(t[1]), t[0]))
    return ndb, bdb, sq, blobs


def few_seeds(shared_data):
    """The handful checked in under fuzz/seeds: (target, file name, bytes)."""
    ndb, bdb, sq, blobs = load(shared_data)
    small = blobs[:2]
    yield "ospkg_rpm_ndb", "sle15-ndb-1pkg", make_ndb(ndb, small[:1])
    yield "ospkg_rpm_ndb", "sle15-ndb-2pkg", make_ndb(ndb, small)
    yield "ospkg_rpm_bdb", "bdb-le-4k-1pkg", make_bdb(bdb, [sq[0][2]])
    yield "ospkg_rpm_bdb", "bdb-be-1k-2pkg", make_bdb(bdb, [sq[0][2], ndb_header_blob(small[0][1])], 1024, True)
    yield "ospkg_rpm_bdb", "bdb-le-512-1pkg", make_bdb(bdb, [ndb_header_blob(small[0][1])], 512)
    yield "ospkg_rpm_header", "mariner-hnum%d" % sq[0][1], sq[0][2]
    yield "ospkg_rpm_header", "sle15-ndb-pkg%d" % small[0][0], ndb_header_blob(small[0][1])


def all_seeds(shared_data):
    """Every package of the real databases, one (or two) per file: (target, file name, bytes)."""
    ndb, bdb, sq, blobs = load(shared_data)
    for idx, blob, cnt in blobs:
        yield "ospkg_rpm_ndb", "shared-sle15-ndb-pkg%d" % idx, make_ndb(ndb, [(idx, blob, cnt)])
        yield "ospkg_rpm_header", "shared-sle15-pkg%d" % idx, ndb_header_blob(blob)
    for i in range(0, len(blobs) - 1, 2):
        yield "ospkg_rpm_ndb", "shared-sle15-ndb-pair%d" % i, make_ndb(ndb, blobs[i:i + 2])
    for n, (_, h, hdr) in enumerate(sq):
        yield "ospkg_rpm_header", "shared-mariner-hnum%d" % h, hdr
        ps, be = [(4096, False), (1024, True), (512, False), (8192, False)][n % 4]
        name = "shared-mariner-bdb-hnum%d-%d%s" % (h, ps, "be" if be else "le")
        yield "ospkg_rpm_bdb", name, make_bdb(bdb, [hdr], ps, be)
    yield "ospkg_rpm_bdb", "shared-libuuid-Packages", bdb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shared_data")
    ap.add_argument("out")
    ap.add_argument("--max-len", type=int, default=65536)
    ap.add_argument("--few", action="store_true", help="only the handful checked in under fuzz/seeds")
    a = ap.parse_args()
    written = {}
    for target, name, data in (few_seeds if a.few else all_seeds)(a.shared_data):
        if len(data) > a.max_len:
            continue
        d = os.path.join(a.out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        written[target] = written.get(target, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(written.items())))


if __name__ == "__main__":
    sys.exit(main())

-- buildledger schema v13: Go symbols, for symbol-level reachability.
--
-- go_imports: the packages and symbols a Go advisory names
-- (`affected[].ecosystem_specific.imports`), as the rules engine extracted
-- them at import; NULL for advisories stored before v13 (read from `body`).
ALTER TABLE advisories ADD COLUMN go_imports TEXT;
-- One row per distinct symbol set (identical binaries share it): its
-- fingerprint is the SHA-256 of the canonical package/symbol listing.
CREATE TABLE go_symbol_sets (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    inline_trees INTEGER NOT NULL,
    symbols INTEGER NOT NULL
);
-- A set's symbols, one row per package (space-separated symbols), so a
-- check reads only the packages an advisory names.
CREATE TABLE go_symbols (
    set_id INTEGER NOT NULL,
    package TEXT NOT NULL,
    symbols TEXT NOT NULL,
    PRIMARY KEY (set_id, package)
) WITHOUT ROWID;
-- The Go executables our indexer read in an image: where, for which
-- platform, which module purls they carry, and their symbol set (NULL with
-- `error` when the table could not be read). Replaced by each scan.
CREATE TABLE go_binaries (
    image_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    goos TEXT,
    goarch TEXT,
    modules TEXT NOT NULL,
    set_id INTEGER,
    error TEXT,
    trust TEXT NOT NULL,
    scanned_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, path)
) WITHOUT ROWID;

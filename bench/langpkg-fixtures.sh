#!/usr/bin/env bash
# Builds the language-package fixtures for scan-bench (crates/buildledger-bench/src/scan.rs):
# three OCI layouts, one image each, tagged `latest`, under OUT_DIR:
#
#   node-modules-oci  /srv/app: package.json, package-lock.json and a real node_modules of
#                     >= 1,000 packages (npm install --ignore-scripts of react-scripts@5.0.1)
#   fat-jar-oci       /app/app.jar: a Spring-Boot-style fat JAR whose BOOT-INF/lib/ holds
#                     >= 100 real JARs with META-INF/maven/**/pom.properties (from Debian's
#                     lib*-java packages), stored uncompressed, plus a small BOOT-INF/classes/
#   node-runtime-oci  /usr/local/bin/node (this machine's node binary, ~100 MB) plus a small
#                     /srv/app/node_modules (a few packages)
#
# usage: bench/langpkg-fixtures.sh OUT_DIR
#
# Idempotent: an image whose layout already exists is skipped (its counts are still printed)
# unless FRESH=1. No docker daemon: each image is one layer made with GNU tar (sorted, owner
# 0:0, fixed mtime) and added with `umoci raw add-layer`, then `umoci config` and `umoci gc`.
# Needs umoci, npm/node, jq, zip/unzip, GNU tar; javac is optional. If fewer than MIN_JARS
# (100) usable JARs are on the machine, a handful of Debian lib*-java packages is installed
# with apt-get (as root; waits for and retries a locked dpkg).
#
# Environment: FRESH=1 rebuilds everything; REACT_SCRIPTS (default 5.0.1); NODE_BIN (default:
# the node on PATH); MIN_NPM_PKGS (1000); MIN_JARS (100); SOURCE_DATE_EPOCH (mtime of every
# layer entry, default 1700000000).
set -euo pipefail

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi

for tool in umoci npm node jq zip unzip tar gzip; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
done

OUT=$(realpath -m "$1")
mkdir -p "$OUT"
FRESH=${FRESH:-0}
REACT_SCRIPTS=${REACT_SCRIPTS:-5.0.1}
MIN_NPM_PKGS=${MIN_NPM_PKGS:-1000}
MIN_JARS=${MIN_JARS:-100}
EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
NODE_BIN=${NODE_BIN:-$(readlink -f "$(command -v node)")}
# Debian packages that bring JARs carrying pom.properties, installed when too few are present.
JAVA_PKGS=(
    libjackson2-core-java libjackson2-databind-java libjackson2-annotations-java
    libjackson2-dataformat-xml-java liblog4j2-java libcommons-codec-java
    libcommons-compress-java libcommons-text-java libcommons-collections4-java
    libcommons-pool2-java libcommons-math3-java libhttpclient5-java libnetty-java
    libjetty9-java libbyte-buddy-java libspring-context-java libspring-web-java
)

# Scratch space (staging rootfs, layer tar) lives beside the layouts but is removed on exit;
# scan-bench only looks at subdirectories holding index.json and oci-layout.
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { echo "[langpkg-fixtures] $*" >&2; }

# have_layout NAME: the layout exists with a `latest` tag.
have_layout() {
    [[ -f $OUT/$1/oci-layout && -f $OUT/$1/index.json ]] &&
        umoci ls --layout "$OUT/$1" 2>/dev/null | grep -qx latest
}

# layer_blobs LAYOUT: paths of the layer blobs of the image tagged latest.
layer_blobs() {
    local l=$1 m
    m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest") | .digest' "$l/index.json" | head -n1)
    jq -r '.layers[].digest' "$l/blobs/${m/://}" | while read -r d; do echo "$l/blobs/${d/://}"; done
}

# build_image NAME ROOTFS [umoci config flags...]: one-layer image NAME:latest from the
# contents of ROOTFS, made in a temporary layout and moved into place when complete.
build_image() {
    local name=$1 rootfs=$2
    shift 2
    local tmp="$OUT/.$name.tmp" layer="$WORK/$name-layer.tar"
    rm -rf "$tmp"
    umoci init --layout "$tmp"
    umoci new --image "$tmp:latest"
    # Entries named without a leading "./" (as docker build writes them), parents included.
    local top=()
    mapfile -t top < <(cd "$rootfs" && ls -A)
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
        -C "$rootfs" -cf "$layer" "${top[@]}"
    umoci raw add-layer --image "$tmp:latest" \
        --history.created_by "langpkg-fixtures.sh: $name" "$layer"
    rm -f "$layer"
    umoci config --image "$tmp:latest" --os linux --architecture amd64 \
        --history.created_by "langpkg-fixtures.sh: config" "$@"
    umoci gc --layout "$tmp"
    rm -rf "${OUT:?}/$name"
    mv "$tmp" "$OUT/$name"
    log "$name: $(du -sh "$OUT/$name" | cut -f1) layout at $OUT/$name"
}

# npm_count: reads tar/find paths on stdin, counts package.json files directly under
# node_modules/NAME or node_modules/@scope/NAME (nested node_modules included).
npm_count() {
    grep -cE '(^|/)node_modules/(@[^/]+/)?[^/@.][^/]*/package\.json$' || true
}

layout_npm_count() {
    local b
    for b in $(layer_blobs "$OUT/$1"); do tar -tzf "$b"; done | npm_count
}

npm_app() { # npm_app DIR PKG...: /srv/app with node_modules and package-lock.json
    local dir=$1
    shift
    mkdir -p "$dir"
    cat >"$dir/package.json" <<'EOF'
{
  "name": "langpkg-fixture-app",
  "version": "1.0.0",
  "private": true
}
EOF
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --no-update-notifier \
        --loglevel=error "$@" >&2)
    [[ -f $dir/package-lock.json ]] || { echo "$0: npm wrote no package-lock.json" >&2; exit 1; }
}

# ---------------------------------------------------------------- node-modules-oci
if [[ $FRESH == 1 ]] || ! have_layout node-modules-oci; then
    log "node-modules-oci: npm install react-scripts@$REACT_SCRIPTS"
    root="$WORK/node-modules-rootfs"
    npm_app "$root/srv/app" "react-scripts@$REACT_SCRIPTS"
    n=$(find "$root/srv/app" -name package.json | npm_count)
    if ((n < MIN_NPM_PKGS)); then
        echo "$0: node_modules has $n packages, fewer than $MIN_NPM_PKGS" >&2
        exit 1
    fi
    build_image node-modules-oci "$root" --config.workingdir /srv/app \
        --config.env NODE_ENV=production --config.cmd npm --config.cmd start
    rm -rf "$root"
else
    log "node-modules-oci: exists (FRESH=1 rebuilds)"
fi
echo "node-modules-oci: $(layout_npm_count node-modules-oci) npm packages (node_modules/**/package.json)"

# ---------------------------------------------------------------- fat-jar-oci
# Candidate JARs: the real files behind /usr/share/java and /usr/share/maven-repo that carry
# exactly one META-INF/maven/G/A/pom.properties (shaded JARs carrying several are left out so
# that one nested JAR is one Maven package), one per groupId:artifactId. Writes
# "GROUP ARTIFACT VERSION PATH" lines to $1.
select_jars() {
    local list=$1 j poms props g a v
    : >"$list"
    find /usr/share/java /usr/share/maven-repo -name '*.jar' \( -type f -o -type l \) \
        -exec readlink -f {} + 2>/dev/null | sort -u | while read -r j; do
        [[ -f $j ]] || continue
        poms=$(unzip -Z1 "$j" 2>/dev/null | grep -E '^META-INF/maven/[^/]+/[^/]+/pom\.properties$' || true)
        [[ -n $poms && $(wc -l <<<"$poms") -eq 1 ]] || continue
        props=$(unzip -p "$j" "$poms" 2>/dev/null | tr -d '\r')
        g=$(sed -n 's/^groupId=//p' <<<"$props" | head -n1)
        a=$(sed -n 's/^artifactId=//p' <<<"$props" | head -n1)
        v=$(sed -n 's/^version=//p' <<<"$props" | head -n1)
        [[ -n $g && -n $a && -n $v ]] || continue
        echo "$g $a $v $j"
    done | sort -u -k1,2 >"$list"
}

apt_install_java() {
    local try
    for try in 1 2 3 4 5; do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
            --no-install-recommends "${JAVA_PKGS[@]}" >&2; then
            return 0
        fi
        log "apt-get install failed (try $try); apt-get update and retry in 30 s"
        sleep 30
        apt-get -o DPkg::Lock::Timeout=600 update >&2 || true
    done
    echo "$0: could not install ${JAVA_PKGS[*]}" >&2
    exit 1
}

layout_jar_count() {
    local b jar="$WORK/count-app.jar"
    for b in $(layer_blobs "$OUT/$1"); do
        tar -xzOf "$b" app/app.jar 2>/dev/null || true
    done >"$jar"
    unzip -Z1 "$jar" 2>/dev/null | grep -cE '^BOOT-INF/lib/[^/]+\.jar$' || true
    rm -f "$jar"
}

if [[ $FRESH == 1 ]] || ! have_layout fat-jar-oci; then
    jars="$WORK/jars.txt"
    select_jars "$jars"
    if (($(wc -l <"$jars") < MIN_JARS)); then
        log "fat-jar-oci: only $(wc -l <"$jars") usable JARs; installing Debian lib*-java packages"
        apt_install_java
        select_jars "$jars"
    fi
    if (($(wc -l <"$jars") < MIN_JARS)); then
        echo "$0: only $(wc -l <"$jars") JARs with pom.properties, fewer than $MIN_JARS" >&2
        exit 1
    fi
    stage="$WORK/fat-jar"
    rm -rf "$stage"
    mkdir -p "$stage/META-INF/maven/com.example/langpkg-fixture-app" \
        "$stage/BOOT-INF/lib" "$stage/BOOT-INF/classes/com/example"
    : >"$stage/BOOT-INF/classpath.idx"
    while read -r g a v j; do
        cp "$j" "$stage/BOOT-INF/lib/$a-$v.jar"
        echo "- \"BOOT-INF/lib/$a-$v.jar\"" >>"$stage/BOOT-INF/classpath.idx"
    done <"$jars"
    cat >"$stage/META-INF/MANIFEST.MF" <<'EOF'
Manifest-Version: 1.0
Main-Class: org.springframework.boot.loader.JarLauncher
Start-Class: com.example.App
Spring-Boot-Version: 2.7.18
Spring-Boot-Classes: BOOT-INF/classes/
Spring-Boot-Lib: BOOT-INF/lib/
Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx
Build-Jdk-Spec: 17
Created-By: langpkg-fixtures.sh

EOF
    cat >"$stage/META-INF/maven/com.example/langpkg-fixture-app/pom.properties" <<'EOF'
artifactId=langpkg-fixture-app
groupId=com.example
version=1.0.0
EOF
    printf 'spring.application.name=langpkg-fixture-app\nserver.port=8080\n' \
        >"$stage/BOOT-INF/classes/application.properties"
    cat >"$WORK/App.java" <<'EOF'
package com.example;

public final class App {
    public static void main(String[] args) {
        System.out.println("langpkg-fixture-app");
    }
}
EOF
    if command -v javac >/dev/null; then
        javac -d "$stage/BOOT-INF/classes" "$WORK/App.java"
    else
        cp "$WORK/App.java" "$stage/BOOT-INF/classes/com/example/App.java"
    fi
    find "$stage" -exec touch -h -d "@$EPOCH" {} +
    root="$WORK/fat-jar-rootfs"
    mkdir -p "$root/app"
    # Manifest first, then the rest deflated; the nested JARs stored (zip -0), as Spring Boot does.
    (cd "$stage" && zip -q -X -D "$root/app/app.jar" META-INF/MANIFEST.MF &&
        zip -q -X -r "$root/app/app.jar" META-INF BOOT-INF/classes BOOT-INF/classpath.idx &&
        { echo BOOT-INF/lib/; find BOOT-INF/lib -name '*.jar' | LC_ALL=C sort; } |
        zip -q -X -0 "$root/app/app.jar" -@)
    log "fat-jar-oci: app.jar $(du -h "$root/app/app.jar" | cut -f1)"
    build_image fat-jar-oci "$root" --config.workingdir /app \
        --config.entrypoint java --config.entrypoint -jar --config.entrypoint /app/app.jar
    rm -rf "$root" "$stage"
else
    log "fat-jar-oci: exists (FRESH=1 rebuilds)"
fi
echo "fat-jar-oci: $(layout_jar_count fat-jar-oci) JARs in BOOT-INF/lib (each with one pom.properties), plus the app's own pom.properties"

# ---------------------------------------------------------------- node-runtime-oci
if [[ $FRESH == 1 ]] || ! have_layout node-runtime-oci; then
    log "node-runtime-oci: $NODE_BIN ($(node --version)) and a small node_modules"
    root="$WORK/node-runtime-rootfs"
    mkdir -p "$root/usr/local/bin"
    cp "$NODE_BIN" "$root/usr/local/bin/node"
    chmod 0755 "$root/usr/local/bin/node"
    npm_app "$root/srv/app" ms@2.1.3 debug@4.3.7 semver@7.6.3 lodash@4.17.21
    build_image node-runtime-oci "$root" --config.workingdir /srv/app \
        --config.env PATH=/usr/local/bin:/usr/bin:/bin \
        --config.entrypoint /usr/local/bin/node --config.cmd index.js
    rm -rf "$root"
else
    log "node-runtime-oci: exists (FRESH=1 rebuilds)"
fi
node_size=$(for b in $(layer_blobs "$OUT/node-runtime-oci"); do tar -tvzf "$b"; done |
    awk '$NF == "usr/local/bin/node" { printf "%.1f MB", $3 / 1e6 }')
echo "node-runtime-oci: $(layout_npm_count node-runtime-oci) npm packages, /usr/local/bin/node ${node_size:-missing}"

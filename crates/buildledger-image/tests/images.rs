//! Real images built on this machine (debootstrap, umoci, skopeo,
//! docker-registry) compared against `umoci unpack` + `find` and
//! `skopeo inspect` as oracles.

mod common;

use std::path::Path;
use std::process::Command;

use buildledger_image::{
    EntryKind, ImageError, NoProgress, OpenOptions, SourceSpec, open, parse_source,
};
use common::*;

fn walk(
    spec: &SourceSpec,
    opts: &OpenOptions,
    want: &[&str],
) -> (
    buildledger_image::ImageMeta,
    Collect,
    buildledger_image::WalkStats,
) {
    let mut img = open(spec, opts).unwrap_or_else(|e| panic!("open {spec:?}: {e}"));
    let mut c = Collect {
        want: want.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let stats = img.walk(&mut c, &mut NoProgress).unwrap();
    (img.meta().clone(), c, stats)
}

/// The squashed view must equal the unpacked rootfs, and the content of a
/// few files must equal the files umoci wrote.
fn check_against_unpacked(
    f: &Fixtures,
    spec: &SourceSpec,
    opts: &OpenOptions,
) -> buildledger_image::ImageMeta {
    let want = [
        "usr/lib/os-release",
        "usr/share/doc/NEWS",
        "etc/default/buildledger",
        "var/lib/dpkg/status",
    ];
    let (meta, c, stats) = walk(spec, opts, &want);
    assert!(
        c.warnings.is_empty(),
        "{spec:?}: unexpected warnings {:?}",
        c.warnings
    );
    let oracle = find_listing(&f.unpacked);
    assert_same_listing(&c.listing(), &oracle, &format!("{spec:?}"));
    for w in want {
        let expected = std::fs::read(f.unpacked.join(w)).unwrap();
        assert_eq!(
            c.contents.get(w),
            Some(&expected),
            "{spec:?}: content of {w}"
        );
    }
    // The modifications of the upper layers.
    let l = c.listing();
    assert!(!l.contains_key("etc/motd"), "whiteout of etc/motd ignored");
    assert!(
        !l.contains_key("etc/default/useradd"),
        "opaque etc/default leaked lower files"
    );
    assert!(
        !l.contains_key("usr/share/doc/bash"),
        "whiteout of usr/share/doc ignored"
    );
    assert_eq!(stats.visible as usize, c.entries.len());
    assert!(stats.entries >= stats.visible);
    meta
}

fn skopeo_inspect(spec: &str, extra: &[&str]) -> serde_json::Value {
    let out = run(Command::new("skopeo").arg("inspect").args(extra).arg(spec));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn oci_layout_matches_umoci_unpack_and_skopeo_inspect() {
    let Some(f) = fixtures() else { return };
    let spec = parse_source(&format!("oci:{}:deb", f.oci.display())).unwrap();
    let meta = check_against_unpacked(f, &spec, &OpenOptions::default());
    let insp = skopeo_inspect(&format!("oci:{}:deb", f.oci.display()), &[]);
    assert_eq!(meta.manifest_digest.as_deref(), insp["Digest"].as_str());
    let layers: Vec<&str> = insp["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        meta.layers
            .iter()
            .map(|l| l.digest.as_str())
            .collect::<Vec<_>>(),
        layers
    );
    assert_eq!(
        meta.platform.as_deref(),
        Some(
            format!(
                "{}/{}",
                insp["Os"].as_str().unwrap(),
                insp["Architecture"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(meta.layers.len(), 5);
    assert!(meta.config.is_some());
    // Without a ref the only image is chosen; a wrong ref lists the choices.
    let only = open(
        &parse_source(&format!("oci:{}", f.oci.display())).unwrap(),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(only.meta().manifest_digest, meta.manifest_digest);
    let err = open(
        &parse_source(&format!("oci:{}:nope", f.oci.display())).unwrap(),
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ImageError::NoSuchImage { available, .. } if available == &vec!["deb".to_string()]),
        "{err}"
    );
}

#[test]
fn legacy_docker_archive_matches() {
    let Some(f) = fixtures() else { return };
    let spec = parse_source(&format!("docker-archive:{}", f.archive.display())).unwrap();
    let meta = check_against_unpacked(f, &spec, &OpenOptions::default());
    let (_, m) = layout_manifest(&f.oci);
    let cfg = read_json(&blob_path(&f.oci, m["config"]["digest"].as_str().unwrap()));
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(meta.diff_ids, diff_ids);
    assert!(
        meta.repo_tags.iter().any(|t| t.ends_with("deb:latest")),
        "{:?}",
        meta.repo_tags
    );
    let insp = skopeo_inspect(&format!("docker-archive:{}", f.archive.display()), &[]);
    assert_eq!(
        meta.layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>(),
        insp["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn docker25_archive_with_embedded_oci_layout_matches() {
    let Some(f) = fixtures() else { return };
    let spec = parse_source(&format!("docker-archive:{}", f.archive25.display())).unwrap();
    let meta = check_against_unpacked(f, &spec, &OpenOptions::default());
    let (d, _) = layout_manifest(&f.oci);
    assert_eq!(meta.manifest_digest.as_deref(), Some(d.as_str()));
    assert_eq!(meta.repo_tags, vec!["buildledger/deb:25".to_string()]);
}

#[test]
fn zstd_and_uncompressed_layouts_match() {
    let Some(f) = fixtures() else { return };
    let meta = check_against_unpacked(
        f,
        &SourceSpec::Oci {
            dir: f.zstd.clone(),
            reference: Some("deb".into()),
        },
        &OpenOptions::default(),
    );
    assert!(
        meta.layers.iter().all(|l| l.media_type.ends_with("zstd")),
        "{:?}",
        meta.layers
    );
    let meta = check_against_unpacked(
        f,
        &SourceSpec::Oci {
            dir: f.plain.clone(),
            reference: Some("deb".into()),
        },
        &OpenOptions::default(),
    );
    assert!(meta.layers.iter().all(|l| l.media_type.ends_with(".tar")));
}

#[test]
fn dir_source_matches_find_and_survives_symlink_loops() {
    let Some(f) = fixtures() else { return };
    let (_, c, _) = walk(
        &SourceSpec::Dir(f.unpacked.clone()),
        &OpenOptions::default(),
        &["usr/lib/os-release"],
    );
    assert_same_listing(&c.listing(), &find_listing(&f.unpacked), "dir:");
    assert_eq!(
        c.contents["usr/lib/os-release"],
        std::fs::read(f.unpacked.join("usr/lib/os-release")).unwrap()
    );

    let d = f.work.join("loops");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("b", d.join("a")).unwrap();
    std::os::unix::fs::symlink("a", d.join("b")).unwrap();
    std::os::unix::fs::symlink(".", d.join("sub/self")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    std::fs::write(d.join("sub/file"), b"x").unwrap();
    let (_, c, _) = walk(
        &parse_source(&format!("dir:{}", d.display())).unwrap(),
        &OpenOptions::default(),
        &["a", "sub/self"],
    );
    assert_same_listing(&c.listing(), &find_listing(&d), "dir: with loops");
    assert_eq!(c.listing()["sub/self"].0, EntryKind::Symlink);

    let (_, c, _) = walk(
        &parse_source(&format!("file:{}", d.join("sub/file").display())).unwrap(),
        &OpenOptions::default(),
        &["file"],
    );
    assert_eq!(c.entries.len(), 1);
    assert_eq!(c.contents["file"], b"x");
}

fn copy_layout(src: &Path, dst: &Path) {
    let _ = std::fs::remove_dir_all(dst);
    run(Command::new("cp").arg("-a").arg(src).arg(dst));
}

fn layer_blob(layout: &Path, i: usize) -> (String, std::path::PathBuf) {
    let (_, m) = layout_manifest(layout);
    let d = m["layers"][i]["digest"].as_str().unwrap().to_string();
    let p = blob_path(layout, &d);
    (d, p)
}

fn walk_err(spec: &SourceSpec, opts: &OpenOptions) -> (ImageError, Collect) {
    let mut c = Collect::default();
    let err = open(spec, opts)
        .unwrap_or_else(|e| panic!("open {spec:?}: {e}"))
        .walk(&mut c, &mut NoProgress)
        .expect_err("the walk must fail");
    (err, c)
}

fn oci(dir: &Path) -> SourceSpec {
    SourceSpec::Oci {
        dir: dir.to_path_buf(),
        reference: None,
    }
}

#[test]
fn truncated_gzip_layer_is_an_error_naming_the_layer() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("trunc");
    copy_layout(&f.oci, &dst);
    let (d, p) = layer_blob(&dst, 0);
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    assert!(
        matches!(&err, ImageError::Layer { layer, message } if *layer == d && message.contains("unreadable")),
        "{err}"
    );
}

#[test]
fn corrupt_zstd_layer_is_an_error() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("badzstd");
    copy_layout(&f.zstd, &dst);
    let (d, p) = layer_blob(&dst, 0);
    let mut b = std::fs::read(&p).unwrap();
    let mid = b.len() / 2;
    for x in &mut b[mid..mid + 4096] {
        *x ^= 0x5a;
    }
    std::fs::write(&p, &b).unwrap();
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    assert!(
        matches!(&err, ImageError::Layer { layer, .. } if *layer == d),
        "{err}"
    );
}

#[test]
fn blob_digest_mismatch_is_an_error_naming_expected_and_actual() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("mismatch");
    copy_layout(&f.oci, &dst);
    let (d, p) = layer_blob(&dst, 4);
    // Same tar, recompressed by gzip(1): valid, same diff ID, other digest.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc {0} | gzip -1 -n > {0}.new && mv {0}.new {0}",
            p.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    let actual = sha256_digest(&std::fs::read(&p).unwrap());
    let (err, c) = walk_err(&oci(&dst), &OpenOptions::default());
    match &err {
        ImageError::DigestMismatch {
            expected,
            actual: got,
            ..
        } => {
            assert_eq!(*expected, d);
            assert!(got.starts_with(&actual), "{got}");
        }
        other => panic!("expected a digest mismatch, got {other}"),
    }
    // The top layer was read (and shown) before its digest could be known.
    assert!(c.entries.iter().any(|e| e.path == "usr/share/doc/NEWS"));
}

/// Issue 9 (2): one byte appended to a layer blob.
#[test]
fn appended_byte_is_a_digest_mismatch() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("appended");
    copy_layout(&f.oci, &dst);
    let (d, p) = layer_blob(&dst, 2);
    let mut b = std::fs::read(&p).unwrap();
    b.push(0);
    std::fs::write(&p, &b).unwrap();
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    // gzip may see the byte as trailing garbage (unreadable) or ignore it
    // (digest mismatch): either way it is an error about that layer.
    let text = err.to_string();
    assert!(
        matches!(&err, ImageError::DigestMismatch { expected, .. } if *expected == d)
            || matches!(&err, ImageError::Layer { layer, .. } if *layer == d),
        "{text}"
    );
}

/// Issue 9 (2): the manifest names a blob the layout does not have.
#[test]
fn missing_layer_blob_is_an_error_in_layouts_and_archives() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("missing");
    copy_layout(&f.oci, &dst);
    let (d, p) = layer_blob(&dst, 1);
    std::fs::remove_file(&p).unwrap();
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    assert!(
        matches!(&err, ImageError::BlobNotFound { digest, .. } if *digest == d),
        "{err}"
    );
    assert!(!err.is_runtime());
    // The same layout inside a Docker >= 25 archive, without that blob.
    let tar = f.work.join("missing.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&dst)
        .arg("-cf")
        .arg(&tar)
        .args(["oci-layout", "index.json", "blobs"]));
    let (err, _) = walk_err(
        &SourceSpec::DockerArchive { file: tar },
        &OpenOptions::default(),
    );
    assert!(
        matches!(&err, ImageError::BlobNotFound { digest, .. } if digest.contains(&d[7..])),
        "{err}"
    );
}

/// Issue 9 (2): the config's diff ID does not match the layer's tar.
#[test]
fn diff_id_mismatch_is_an_error() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("diffid");
    copy_layout(&f.oci, &dst);
    let (md, mut m) = layout_manifest(&dst);
    let cd = m["config"]["digest"].as_str().unwrap().to_string();
    let mut cfg = read_json(&blob_path(&dst, &cd));
    let wrong = format!("sha256:{}", "ab".repeat(32));
    cfg["rootfs"]["diff_ids"][3] = wrong.clone().into();
    let cb = serde_json::to_vec(&cfg).unwrap();
    m["config"]["digest"] = write_blob(&dst, &cb).into();
    m["config"]["size"] = cb.len().into();
    let mb = serde_json::to_vec(&m).unwrap();
    let mh = write_blob(&dst, &mb);
    let mut idx = read_json(&dst.join("index.json"));
    assert_eq!(idx["manifests"][0]["digest"].as_str(), Some(md.as_str()));
    idx["manifests"][0]["digest"] = mh.into();
    idx["manifests"][0]["size"] = mb.len().into();
    let idx = serde_json::to_vec(&idx).unwrap();
    std::fs::write(dst.join("index.json"), idx).unwrap();
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    assert!(
        matches!(&err, ImageError::DigestMismatch { expected, .. } if *expected == wrong),
        "{err}"
    );
}

/// A FIFO where a blob should be must not hang the reader.
#[test]
fn fifo_blob_is_refused_without_blocking() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("fifo");
    copy_layout(&f.oci, &dst);
    let (_, p) = layer_blob(&dst, 0);
    std::fs::remove_file(&p).unwrap();
    run(Command::new("mkfifo").arg(&p));
    let (err, _) = walk_err(&oci(&dst), &OpenOptions::default());
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(!err.is_runtime());
}

#[test]
fn corrupt_manifest_and_config_are_errors() {
    let Some(f) = fixtures() else { return };
    let dst = f.work.join("badcfg");
    copy_layout(&f.oci, &dst);
    let (_, m) = layout_manifest(&dst);
    let cp = blob_path(&dst, m["config"]["digest"].as_str().unwrap());
    let mut b = std::fs::read(&cp).unwrap();
    b[0] = b'[';
    std::fs::write(&cp, b).unwrap();
    let err = open(
        &SourceSpec::Oci {
            dir: dst.clone(),
            reference: None,
        },
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    std::fs::write(dst.join("index.json"), b"{\"manifests\": 7}").unwrap();
    let err = open(
        &SourceSpec::Oci {
            dir: dst,
            reference: None,
        },
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::Malformed { .. }), "{err}");
}

#[test]
fn multi_arch_layout_resolves_platform() {
    let Some(f) = fixtures() else { return };
    for arch in ["amd64", "arm64"] {
        let opts = OpenOptions {
            platform: Some(format!("linux/{arch}")),
            ..Default::default()
        };
        let (meta, c, _) = walk(
            &SourceSpec::Oci {
                dir: f.multi.clone(),
                reference: Some("multi".into()),
            },
            &opts,
            &["arch.txt"],
        );
        assert_eq!(c.contents["arch.txt"], arch.as_bytes());
        assert_eq!(
            meta.platform.as_deref(),
            Some(format!("linux/{arch}").as_str())
        );
        assert!(meta.index_digest.is_some());
    }
    let opts = OpenOptions {
        platform: Some("linux/s390x".into()),
        ..Default::default()
    };
    let err = open(
        &SourceSpec::Oci {
            dir: f.multi.clone(),
            reference: Some("multi".into()),
        },
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ImageError::NoSuchPlatform { available, .. } if available.len() == 2),
        "{err}"
    );
    let err = open(
        &SourceSpec::Oci {
            dir: f.multi.clone(),
            reference: None,
        },
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ImageError::NoSuchImage { available, .. } if available.len() == 3),
        "{err}"
    );
}

fn push(src: &str, dst: &str, creds: Option<&str>) {
    let mut extra = vec!["--all", "--dest-tls-verify=false"];
    if let Some(cr) = creds {
        extra.extend(["--dest-creds", cr]);
    }
    skopeo_copy(&extra, src, dst);
}

#[test]
fn registry_by_tag_digest_and_platform() {
    let Some(f) = fixtures() else { return };
    let Some(reg) = start_registry(&f.work, "registry-anon", None) else {
        return;
    };
    let host = format!("127.0.0.1:{}", reg.port);
    push(
        &format!("oci:{}:deb", f.oci.display()),
        &format!("docker://{host}/buildledger/deb:v1"),
        None,
    );
    let insecure = OpenOptions {
        insecure: true,
        ..Default::default()
    };
    let by_tag = check_against_unpacked(
        f,
        &parse_source(&format!("registry:{host}/buildledger/deb:v1")).unwrap(),
        &insecure,
    );
    let insp = skopeo_inspect(
        &format!("docker://{host}/buildledger/deb:v1"),
        &["--tls-verify=false"],
    );
    assert_eq!(by_tag.manifest_digest.as_deref(), insp["Digest"].as_str());
    let digest = insp["Digest"].as_str().unwrap();
    let by_digest = check_against_unpacked(
        f,
        &parse_source(&format!("registry:{host}/buildledger/deb@{digest}")).unwrap(),
        &insecure,
    );
    assert_eq!(by_digest.manifest_digest.as_deref(), Some(digest));
    // HTTPS is the default: a plain-HTTP registry fails with an error, not a hang or panic.
    assert!(
        open(
            &parse_source(&format!("registry:{host}/buildledger/deb:v1")).unwrap(),
            &OpenOptions::default()
        )
        .is_err()
    );
    // insecure is refused for non-loopback hosts.
    let err = open(
        &parse_source("registry:example.invalid/x:y").unwrap(),
        &insecure,
    )
    .unwrap_err();
    assert!(matches!(err, ImageError::BadSource { .. }), "{err}");

    push(
        &format!("oci:{}:multi", f.multi.display()),
        &format!("docker://{host}/buildledger/multi:v1"),
        None,
    );
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{host}/buildledger/multi:v1")));
    let index: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let index_digest = sha256_digest(raw.as_bytes());
    for arch in ["amd64", "arm64"] {
        let opts = OpenOptions {
            insecure: true,
            platform: Some(format!("linux/{arch}")),
            ..Default::default()
        };
        let (meta, c, _) = walk(
            &parse_source(&format!("registry:{host}/buildledger/multi:v1")).unwrap(),
            &opts,
            &["arch.txt"],
        );
        assert_eq!(c.contents["arch.txt"], arch.as_bytes());
        assert_eq!(meta.index_digest.as_deref(), Some(index_digest.as_str()));
        let expected = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .unwrap()["digest"]
            .as_str()
            .unwrap();
        assert_eq!(meta.manifest_digest.as_deref(), Some(expected));
    }
    drop(reg);
}

#[test]
fn registry_basic_auth() {
    let Some(f) = fixtures() else { return };
    let Some(reg) = start_registry(&f.work, "registry-auth", Some(("ledger", "s3cret"))) else {
        return;
    };
    let host = format!("127.0.0.1:{}", reg.port);
    push(
        &format!("oci:{}:amd64", f.multi.display()),
        &format!("docker://{host}/priv/small:1"),
        Some("ledger:s3cret"),
    );
    let spec = parse_source(&format!("registry:{host}/priv/small:1")).unwrap();
    let good = OpenOptions {
        insecure: true,
        username: Some("ledger".into()),
        password: Some("s3cret".into()),
        ..Default::default()
    };
    let (_, c, _) = walk(&spec, &good, &["arch.txt"]);
    assert_eq!(c.contents["arch.txt"], b"amd64");
    let bad = OpenOptions {
        password: Some("wrong".into()),
        ..good.clone()
    };
    let err = open(&spec, &bad).unwrap_err();
    assert!(
        matches!(err, ImageError::Auth { .. }),
        "wrong password gave: {err}"
    );
    assert!(
        err.to_string().contains("401") || err.to_string().to_lowercase().contains("auth"),
        "{err}"
    );
    let anon = OpenOptions {
        insecure: true,
        ..Default::default()
    };
    let err = open(&spec, &anon).unwrap_err();
    assert!(
        matches!(err, ImageError::Auth { .. }),
        "anonymous gave: {err}"
    );
    drop(reg);
}

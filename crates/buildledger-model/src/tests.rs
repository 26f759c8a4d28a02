use std::collections::BTreeMap;

use super::*;

#[test]
fn digest_parse_and_normalise() {
    let hex = "A".repeat(64);
    let d = Digest::parse(&format!("sha256:{hex}")).unwrap();
    assert_eq!(d.as_str(), format!("sha256:{}", "a".repeat(64)));
    assert_eq!(d.hex(), "a".repeat(64));
    assert!(
        Digest::parse("sha256:abc")
            .unwrap_err()
            .message
            .contains("64 hex digits")
    );
    assert!(
        Digest::parse("md5:abc")
            .unwrap_err()
            .message
            .contains("unsupported digest algorithm")
    );
    assert!(
        Digest::parse(&format!("sha256:{}g", "a".repeat(63)))
            .unwrap_err()
            .message
            .contains("'g'")
    );
    assert!(Digest::parse("nothing").is_err());
}

#[test]
fn purl_parts() {
    let p = Purl::parse("pkg:golang/golang.org/x/net@v0.0.0-20191109021931-daa7c04131f5").unwrap();
    assert_eq!(p.package(), "pkg:golang/golang.org/x/net");
    assert_eq!(p.version(), Some("v0.0.0-20191109021931-daa7c04131f5"));
    assert_eq!(p.ty(), "golang");
    let q =
        Purl::parse("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12").unwrap();
    assert_eq!(q.package(), "pkg:deb/debian/libc6");
    assert_eq!(q.version(), Some("2.36-9+deb12u4"));
    assert!(Purl::parse("golang.org/x/net").is_err());
    assert!(Purl::parse("pkg:").is_err());
    let g = Purl::from_parts("golang", None, "golang.org/x/net", Some("v0.1.0")).unwrap();
    assert_eq!(
        g,
        Purl::parse("pkg:golang/golang.org/x/net@v0.1.0").unwrap()
    );
    let n = Purl::from_parts("npm", None, "@scope/pkg", Some("1.0.0")).unwrap();
    assert_eq!(n, Purl::parse("pkg:npm/%40scope/pkg@1.0.0").unwrap());
    let r = Purl::from_parts("cargo", None, "serde", Some("1.0.200")).unwrap();
    assert_eq!(r.as_str(), "pkg:cargo/serde@1.0.200");
}

#[test]
fn toolchain_forms() {
    for s in ["go@1.13.4", "go 1.13.4", "go1.13.4", "GO@go1.13.4"] {
        let t = Toolchain::parse(s).unwrap();
        assert_eq!(
            (t.name.as_str(), t.version.as_str()),
            ("go", "1.13.4"),
            "{s}"
        );
    }
    assert_eq!(
        Toolchain::parse("rustc@1.95.0").unwrap().to_string(),
        "rustc@1.95.0"
    );
    assert!(Toolchain::parse("go").is_err());
    assert!(Toolchain::parse("@1.2").is_err());
}

#[test]
fn stability_from_version() {
    assert_eq!(Stability::from_version("v1beta2"), Some(Stability::Beta));
    assert_eq!(Stability::from_version("v1alpha1"), Some(Stability::Alpha));
    assert_eq!(Stability::from_version("v2"), Some(Stability::Stable));
    assert_eq!(Stability::from_version("v1beta"), Some(Stability::Beta));
    assert_eq!(Stability::from_version("v1gamma"), None);
    assert_eq!(Stability::from_version("latest"), None);
    assert_eq!(Stability::parse("GA").unwrap(), Stability::Stable);
    assert!(Stability::parse("gold").is_err());
}

#[test]
fn record_json_errors_name_the_field() {
    let d = "a".repeat(64);
    let bad = format!(
        r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"components":[{{"purl":"pkg:cargo/serde@1"}},{{"purl":"nope"}}]}}"#
    );
    let e = BuildRecord::from_json(bad.as_bytes()).unwrap_err();
    assert_eq!(e.field, "components[1].purl", "{e}");
    assert!(e.message.contains("not a valid package URL"), "{e}");

    let bad = r#"{"subjects":[{"digest":"sha256:12"}]}"#;
    let e = BuildRecord::from_json(bad.as_bytes()).unwrap_err();
    assert_eq!(e.field, "subjects[0].digest", "{e}");

    let bad = format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"source":{{"commit":"xyz"}}}}"#);
    assert_eq!(
        BuildRecord::from_json(bad.as_bytes()).unwrap_err().field,
        "source.commit"
    );

    let bad = r#"{"subjects":[]}"#;
    assert_eq!(
        BuildRecord::from_json(bad.as_bytes()).unwrap_err().field,
        "subjects"
    );

    let bad = format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"colour":"red"}}"#);
    let e = BuildRecord::from_json(bad.as_bytes()).unwrap_err();
    assert!(e.message.contains("unknown field"), "{e}");

    let bad = format!(
        r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"components":[{{"purl":"pkg:cargo/serde"}}]}}"#
    );
    let e = BuildRecord::from_json(bad.as_bytes()).unwrap_err();
    assert_eq!(e.field, "components[0].purl");
}

#[test]
fn record_round_trip() {
    let d = Digest::parse(&format!("sha256:{}", "b".repeat(64))).unwrap();
    let mut r = BuildRecord::new(vec![Subject {
        digest: d,
        media_type: None,
        platform: Some("linux/amd64".into()),
        references: vec!["registry.example/app:1.0".into()],
        manifests: vec![],
    }]);
    r.toolchains.push(Toolchain::parse("go1.13.4").unwrap());
    r.components.push(Component {
        purl: Purl::parse("pkg:golang/golang.org/x/net@v0.1.0").unwrap(),
        hashes: BTreeMap::from([("h1".to_string(), "abc=".to_string())]),
        scope: Scope::Runtime,
        location: None,
    });
    r.apis.push(ApiEntry {
        kind: ApiKind::Http,
        name: "GET /v1beta1/widgets".into(),
        version: Some("v1beta1".into()),
        stability: Stability::Beta,
    });
    // What the ledger writes carries origin and trust; a submitted document
    // must not, so the round trip drops them first.
    let mut v = serde_json::to_value(&r).unwrap();
    for f in LEDGER_FIELDS {
        v.as_object_mut().unwrap().remove(*f);
    }
    let back = BuildRecord::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(back, r);
}

/// Issue 9, item 1: a document can never claim trust, origin or a record
/// time, on any deserialisation path.
#[test]
fn ledger_fields_are_never_read_from_input() {
    let d = "c".repeat(64);
    let forged = [
        (
            "trust",
            format!(
                r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"trust":{{"state":"verified","key_id":"x"}}}}"#
            ),
        ),
        (
            "origin",
            format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"origin":"attestation"}}"#),
        ),
        (
            "origin",
            format!(
                r#"{{"origin":"indexer","subjects":[{{"digest":"sha256:{d}"}}],"trust":{{"state":"observed"}}}}"#
            ),
        ),
        (
            "record_time",
            format!(
                r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"record_time":"2001-01-01T00:00:00Z"}}"#
            ),
        ),
    ];
    for (field, doc) in &forged {
        let e = BuildRecord::from_json(doc.as_bytes()).unwrap_err();
        assert_eq!(e.field, *field, "{doc}: {e}");
        assert!(e.message.contains("set by the ledger"), "{e}");
        // Plain serde, which a careless caller might use, cannot set them either.
        let any: Result<BuildRecord, _> = serde_json::from_str(doc);
        assert!(any.is_err(), "{doc} deserialised");
    }
    // A nested `trust` (e.g. in a label value) is just data.
    let ok =
        format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"labels":{{"trust":"verified"}}}}"#);
    let r = BuildRecord::from_json(ok.as_bytes()).unwrap();
    assert_eq!(r.origin, Origin::Ci);
    assert_eq!(r.trust.state, TrustState::Unverified);
}

/// Origin and trust must agree, whoever built the record in code.
#[test]
fn impossible_trust_is_refused() {
    let d = Digest::parse(&format!("sha256:{}", "d".repeat(64))).unwrap();
    let base = BuildRecord::new(vec![Subject {
        digest: d,
        media_type: None,
        platform: None,
        references: vec![],
        manifests: vec![],
    }]);
    let cases = [
        (Origin::Ci, TrustState::Verified, Some("k"), false),
        (Origin::Ci, TrustState::Observed, None, false),
        (Origin::Sbom, TrustState::Verified, Some("k"), false),
        (Origin::Attestation, TrustState::Verified, None, false),
        (Origin::Attestation, TrustState::Observed, None, false),
        (Origin::Indexer, TrustState::Verified, Some("k"), false),
        (Origin::Indexer, TrustState::Unverified, Some("k"), false),
        (Origin::Ci, TrustState::Unverified, None, true),
        (Origin::Sbom, TrustState::Unverified, None, true),
        (Origin::Attestation, TrustState::Verified, Some("k"), true),
        (Origin::Attestation, TrustState::Unverified, None, true),
        (Origin::Indexer, TrustState::Observed, None, true),
        (Origin::Indexer, TrustState::Unverified, None, true),
    ];
    for (origin, state, key, ok) in cases {
        let mut r = base.clone();
        r.origin = origin;
        r.trust = Trust {
            state,
            key_id: key.map(String::from),
            reason: None,
        };
        assert_eq!(r.validate().is_ok(), ok, "{origin:?} {state:?} {key:?}");
        if !ok {
            assert_eq!(r.validate().unwrap_err().field, "trust");
        }
    }
}

#[test]
fn checked_in_schema_is_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/build-record.v1.json");
    let generated = serde_json::to_string_pretty(&build_record_schema()).unwrap() + "\n";
    if std::env::var_os("BUILDLEDGER_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with BUILDLEDGER_BLESS=1 to write it)",
            path.display()
        )
    });
    assert!(
        on_disk == generated,
        "schema/build-record.v1.json is out of date: run `BUILDLEDGER_BLESS=1 cargo test -p buildledger-model`"
    );
}

#[test]
fn match_keys() {
    let p = Purl::parse(
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
    )
    .unwrap();
    assert_eq!(p.qualifier("distro"), Some("debian-12"));
    assert_eq!(p.match_key(), "pkg:deb/debian/openssl");
    let p = Purl::parse("pkg:apk/alpine/musl-utils@1.1.22-r2?upstream=musl%401.1.22-r2").unwrap();
    assert_eq!(p.match_key(), "pkg:apk/alpine/musl");
    let p = Purl::parse("pkg:pypi/Zope.Interface@5.0").unwrap();
    assert_eq!(p.match_key(), "pkg:pypi/zope-interface");
    let p = Purl::parse("pkg:golang/golang.org/x/net@v0.1.0").unwrap();
    assert_eq!(p.match_key(), "pkg:golang/golang.org/x/net");
    let p = Purl::parse("pkg:nuget/Newtonsoft.Json@13.0.1").unwrap();
    assert_eq!(p.match_key(), "pkg:nuget/newtonsoft.json");
    let p = Purl::parse("pkg:composer/Symfony/Console@v5.4.0").unwrap();
    assert_eq!(p.match_key(), "pkg:composer/symfony/console");
}

/// NUL is refused everywhere, with the field named (PostgreSQL cannot store it).
#[test]
fn nul_in_any_string_is_bad_input() {
    let d = "e".repeat(64);
    for (doc, field) in [
        (
            format!(r#"{{"subjects":[{{"digest":"sha256:{d}","references":["a\u0000b"]}}]}}"#),
            "subjects[0].references[0]",
        ),
        (
            format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"source":{{"repo":"x\u0000"}}}}"#),
            "source.repo",
        ),
        (
            format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"labels":{{"k":"\u0000"}}}}"#),
            "labels.k",
        ),
        (
            format!(
                r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"apis":[{{"kind":"http","name":"GET /\u0000","stability":"stable"}}]}}"#
            ),
            "apis[0].name",
        ),
    ] {
        let e = BuildRecord::from_json(doc.as_bytes()).unwrap_err();
        assert_eq!(e.field, field, "{doc}: {e}");
        assert!(e.message.contains("NUL"), "{e}");
    }
    let ok = format!(r#"{{"subjects":[{{"digest":"sha256:{d}"}}],"labels":{{"k":"\u001b[31m"}}}}"#);
    assert!(
        BuildRecord::from_json(ok.as_bytes()).is_ok(),
        "ESC is data, escaped on output"
    );
}

#[test]
fn bad_percent_encoding_in_a_purl_is_refused() {
    for bad in [
        "pkg:golang/a%zz@1.0.0",
        "pkg:npm/%40scope/x@1%",
        "pkg:npm/x@1%2",
    ] {
        let e = Purl::parse(bad).unwrap_err();
        assert!(e.message.contains("percent-encoding"), "{bad}: {e}");
    }
    assert!(Purl::parse("pkg:npm/%40scope/pkg@2.0.0").is_ok());
}

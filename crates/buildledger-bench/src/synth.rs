//! The synthetic builds both `ledger-bench` and `server-bench` store: a
//! deterministic pool of base images, OS packages and Go modules, and
//! builds of ~200 components each drawn from it (the same seeds, so both
//! benches measure the same ledger). Included by both binaries with
//! `#[path]` (a bin target cannot share functions otherwise).
#![allow(dead_code)]

use std::collections::BTreeMap;

use buildledger_model::*;

/// Deterministic xorshift PRNG: the same builds on every run.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub(crate) struct Pool {
    pub(crate) bases: Vec<(Digest, Vec<Purl>)>,
    pub(crate) go_modules: Vec<Vec<Purl>>, // per module: its versions
    pub(crate) toolchains: Vec<String>,
}

pub(crate) fn digest_of(n: u64, salt: u64) -> Digest {
    let mut s = String::with_capacity(64);
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    for _ in 0..4 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(&format!("{x:016x}"));
    }
    Digest::parse(&format!("sha256:{s}")).expect("generated digest")
}

pub(crate) fn pool() -> Pool {
    let mut rng = Rng(0x5eed);
    // 12 base images (debian/alpine/distroless variants), each 60-140 OS packages
    // from a pool of 1,200 package names in 2-3 versions.
    let os_names: Vec<String> = (0..1200).map(|i| format!("lib{i:04}")).collect();
    let mut bases = Vec::new();
    for b in 0..12u64 {
        let n = 60 + rng.below(80);
        let mut purls = Vec::new();
        let distro = if b % 3 == 0 {
            ("apk", "alpine")
        } else {
            ("deb", "debian")
        };
        for _ in 0..n {
            let name = &os_names[rng.below(os_names.len())];
            let ver = format!(
                "{}.{}.{}-{}",
                1 + rng.below(3),
                rng.below(20),
                rng.below(10),
                1 + rng.below(3)
            );
            purls.push(Purl::from_parts(distro.0, Some(distro.1), name, Some(&ver)).expect("purl"));
        }
        purls.sort();
        purls.dedup();
        bases.push((digest_of(b, 0xba5e), purls));
    }
    // 2,000 Go modules, 1-4 versions each.
    let mut go_modules = Vec::new();
    for m in 0..2000 {
        let host = [
            "github.com",
            "golang.org/x",
            "k8s.io",
            "go.uber.org",
            "gopkg.in",
        ][m % 5];
        let path = format!("{host}/mod{m:04}");
        let nv = 1 + rng.below(4);
        let versions = (0..nv)
            .map(|v| {
                Purl::from_parts(
                    "golang",
                    None,
                    &path,
                    Some(&format!("v{}.{}.{v}", rng.below(3), rng.below(30))),
                )
                .expect("purl")
            })
            .collect();
        go_modules.push(versions);
    }
    let toolchains = (10..=24)
        .flat_map(|minor| (0..8).map(move |p| format!("1.{minor}.{p}")))
        .collect();
    Pool {
        bases,
        go_modules,
        toolchains,
    }
}

pub(crate) fn build(pool: &Pool, i: u64, rng: &mut Rng) -> BuildRecord {
    let (base_digest, base_purls) = &pool.bases[rng.below(pool.bases.len())];
    let mut r = BuildRecord::new(vec![Subject {
        digest: digest_of(i, 0x1a6e),
        media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
        platform: Some("linux/amd64".into()),
        references: vec![format!(
            "registry.example/team{}/svc{}:{}",
            i % 50,
            i % 900,
            i
        )],
        manifests: vec![],
    }]);
    r.source = Some(Source {
        repo: Some(format!("https://git.example/team{}/svc{}", i % 50, i % 900)),
        commit: Some(digest_of(i, 0xc0de).hex()[..40].to_string()),
        tag: Some(format!("v1.{}.{}", i % 40, i % 7)),
        dirty: Some(false),
    });
    r.builder = Some(Builder {
        id: "https://ci.example/builders/v2".into(),
        version: None,
    });
    r.images.push(UsedImage {
        digest: base_digest.clone(),
        role: ImageRole::Base,
        reference: None,
    });
    let go = &pool.toolchains[rng.below(pool.toolchains.len())];
    r.toolchains
        .push(Toolchain::new("go", go).expect("toolchain"));
    r.languages.push("go".into());
    for p in base_purls {
        r.components.push(Component {
            purl: p.clone(),
            hashes: BTreeMap::new(),
            scope: Scope::Runtime,
            location: None,
        });
    }
    // Go deps: enough to reach ~200 components in all; popular modules more often.
    let want = 200usize.saturating_sub(r.components.len()).max(40);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < want {
        let m = if rng.below(4) == 0 {
            rng.below(60)
        } else {
            rng.below(pool.go_modules.len())
        };
        if seen.insert(m) {
            let vs = &pool.go_modules[m];
            r.components.push(Component {
                purl: vs[rng.below(vs.len())].clone(),
                hashes: BTreeMap::new(),
                scope: Scope::Runtime,
                location: None,
            });
        }
    }
    r.components.push(Component {
        purl: Purl::from_parts("golang", None, "stdlib", Some(go)).expect("purl"),
        hashes: BTreeMap::new(),
        scope: Scope::Runtime,
        location: None,
    });
    if i.is_multiple_of(10) {
        r.apis.push(ApiEntry {
            kind: ApiKind::Http,
            name: "GET /v1beta1/items".into(),
            version: Some("v1beta1".into()),
            stability: Stability::Beta,
        });
    }
    r.apis.push(ApiEntry {
        kind: ApiKind::Http,
        name: "GET /v1/items".into(),
        version: Some("v1".into()),
        stability: Stability::Stable,
    });
    r
}

//! `BuildRecord` fixtures.

use std::collections::BTreeMap;

use buildledger_model::{BuildRecord, Component, Digest, Purl, Scope, Source, Subject, Toolchain};

/// A digest made by repeating `seed`'s hex digits (`"a1"` → `sha256:a1a1…`).
pub fn digest(seed: &str) -> Digest {
    let hex: String = seed.chars().cycle().take(64).collect();
    Digest::parse(&format!("sha256:{hex}")).expect("test digest")
}

/// A subject with [`digest`]`(seed)` and nothing else.
pub fn subject(seed: &str) -> Subject {
    Subject {
        digest: digest(seed),
        media_type: None,
        platform: None,
        references: vec![],
        manifests: vec![],
    }
}

/// Runtime components, one per purl, without hashes or location.
pub fn components(purls: &[&str]) -> Vec<Component> {
    purls
        .iter()
        .map(|p| Component {
            purl: Purl::parse(p).expect("test purl"),
            hashes: BTreeMap::new(),
            scope: Scope::Runtime,
            location: None,
        })
        .collect()
}

/// Toolchains parsed from `name@version` strings.
pub fn toolchains(specs: &[&str]) -> Vec<Toolchain> {
    specs
        .iter()
        .map(|t| Toolchain::parse(t).expect("test toolchain"))
        .collect()
}

/// A record of one subject [`digest`]`(seed)`, to be filled in with [`RecordBuilder`]'s methods.
pub fn record(seed: &str) -> RecordBuilder {
    RecordBuilder(BuildRecord::new(vec![subject(seed)]))
}

/// Builds a `BuildRecord` fixture; see [`record`].
pub struct RecordBuilder(BuildRecord);

impl RecordBuilder {
    /// The subject's media type.
    pub fn media_type(mut self, media_type: &str) -> Self {
        self.0.subjects[0].media_type = Some(media_type.into());
        self
    }

    /// Adds a reference (`registry/repo:tag`) to the subject.
    pub fn reference(mut self, reference: &str) -> Self {
        self.0.subjects[0].references.push(reference.into());
        self
    }

    /// The source: repository, commit, tag and dirty flag as given.
    pub fn source(
        mut self,
        repo: &str,
        commit: Option<&str>,
        tag: Option<&str>,
        dirty: Option<bool>,
    ) -> Self {
        self.0.source = Some(Source {
            repo: Some(repo.into()),
            commit: commit.map(String::from),
            tag: tag.map(String::from),
            dirty,
        });
        self
    }

    /// The toolchains (see [`toolchains`]).
    pub fn toolchains(mut self, specs: &[&str]) -> Self {
        self.0.toolchains = toolchains(specs);
        self
    }

    /// The components (see [`components`]).
    pub fn components(mut self, purls: &[&str]) -> Self {
        self.0.components = components(purls);
        self
    }

    /// The record.
    pub fn build(self) -> BuildRecord {
        self.0
    }
}

//! SPDX 2.2/2.3 JSON reading and SPDX 2.3 JSON writing.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ExportSubject, Format, Header, MAX_COMPONENTS, SUPPORTED_SPDX_VERSIONS, Sbom, SbomComponent,
    SbomError, Warnings, as_sha256_digest, check_components, cyclonedx::is_spdx_expression,
    digest_from_purl, from_slice, hex_len_for, is_hex_len, normalize_hash_alg,
};

/// `externalRefs` type under which the SPDX export keeps a purl that is not a
/// valid package URL (category `OTHER`); [`parse_spdx`] reads it as the purl.
pub const INVALID_PURL_REF_TYPE: &str = "buildledger-invalid-purl";

/// `externalRefs` type (category `OTHER`) of a component's alias purls (see
/// [`SbomComponent::aliases`]).
pub const ALIAS_PURL_REF_TYPE: &str = "buildledger-alias-purl";

const SPDX_PURPOSES: &[&str] = &[
    "APPLICATION",
    "FRAMEWORK",
    "LIBRARY",
    "CONTAINER",
    "OPERATING-SYSTEM",
    "DEVICE",
    "FIRMWARE",
    "SOURCE",
    "ARCHIVE",
    "FILE",
    "INSTALL",
    "OTHER",
];

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Doc {
    documentDescribes: Option<Vec<String>>,
    packages: Option<Vec<Package>>,
    relationships: Option<Vec<Relationship>>,
    hasExtractedLicensingInfos: Option<Vec<ExtractedLicense>>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Package {
    SPDXID: Option<String>,
    name: Option<String>,
    versionInfo: Option<String>,
    packageFileName: Option<String>,
    checksums: Option<Vec<Checksum>>,
    licenseDeclared: Option<String>,
    licenseConcluded: Option<String>,
    externalRefs: Option<Vec<ExternalRef>>,
    primaryPackagePurpose: Option<String>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Checksum {
    algorithm: Option<String>,
    checksumValue: Option<String>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct ExternalRef {
    referenceCategory: Option<String>,
    referenceType: Option<String>,
    referenceLocator: Option<String>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Relationship {
    spdxElementId: Option<String>,
    relatedSpdxElement: Option<String>,
    relationshipType: Option<String>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct ExtractedLicense {
    licenseId: Option<String>,
    name: Option<String>,
}

/// Parses an SPDX 2.2 or 2.3 JSON document.
///
/// Packages become components; files and snippets are not read. The package
/// the document DESCRIBES (via `documentDescribes` or a `DESCRIBES` /
/// `DESCRIBED_BY` relationship) is the subject and is not listed as a
/// component when it is the only described package; when several packages
/// are described, all stay components and no subject is set.
///
/// * purl: the `externalRefs` entry with `referenceType` `purl` (category
///   `PACKAGE-MANAGER`/`PACKAGE_MANAGER`; other categories are accepted with a
///   warning), or of type [`INVALID_PURL_REF_TYPE`] as written by
///   [`to_spdx_2_3`]. Further purl refs of a package are named in a warning.
/// * licences: `licenseDeclared`, or else `licenseConcluded`, unless
///   `NOASSERTION`/`NONE`; a lone `LicenseRef-…` whose
///   `hasExtractedLicensingInfos` entry has a `name` is replaced by that name.
/// * scope: `runtime` from `RUNTIME_DEPENDENCY_OF`; `build` from
///   `BUILD_DEPENDENCY_OF`, `BUILD_TOOL_OF`, `DEV_DEPENDENCY_OF`,
///   `DEV_TOOL_OF`, `TEST_DEPENDENCY_OF`, `TEST_TOOL_OF`; `optional` from
///   `OPTIONAL_DEPENDENCY_OF` (runtime wins over build over optional).
/// * kind: `primaryPackagePurpose`, lowercased.
/// * location: `packageFileName`.
pub fn parse_spdx(bytes: &[u8], location: &str) -> Result<Sbom, SbomError> {
    let header = Header::read(bytes, location)?;
    parse_with_header(bytes, location, &header)
}

pub(crate) fn parse_with_header(
    bytes: &[u8],
    location: &str,
    header: &Header,
) -> Result<Sbom, SbomError> {
    let spec_version = match &header.spdx_version {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(crate::not_a_string(location, "SPDX", "spdxVersion", other)),
        None => {
            return Err(SbomError::NotThisFormat {
                location: location.to_string(),
                format: Format::Spdx,
                detail: "no top-level `spdxVersion`".to_string(),
            });
        }
    };
    if !SUPPORTED_SPDX_VERSIONS.contains(&spec_version.as_str()) {
        return Err(SbomError::UnsupportedVersion {
            location: location.to_string(),
            format: Format::Spdx,
            version: spec_version,
            path: "spdxVersion".to_string(),
            supported: SUPPORTED_SPDX_VERSIONS.join(", "),
        });
    }
    let doc: Doc = from_slice(bytes, location, "SPDX")?;
    let mut warnings = Warnings::default();
    let packages = doc.packages.unwrap_or_default();
    if packages.len() > MAX_COMPONENTS {
        return Err(SbomError::TooManyComponents {
            location: location.to_string(),
            limit: MAX_COMPONENTS,
        });
    }
    let relationships = doc.relationships.unwrap_or_default();

    // Described elements, in a stable order without duplicates.
    let mut described: Vec<String> = Vec::new();
    let mut add_described = |id: &str| {
        if !described.iter().any(|d| d == id) {
            described.push(id.to_string());
        }
    };
    for id in doc.documentDescribes.iter().flatten() {
        add_described(id);
    }
    // scope per SPDX id: rank 3 runtime, 2 build, 1 optional.
    let mut scopes: HashMap<&str, (u8, &'static str)> = HashMap::new();
    for r in &relationships {
        let (Some(a), Some(b), Some(t)) = (
            r.spdxElementId.as_deref(),
            r.relatedSpdxElement.as_deref(),
            r.relationshipType.as_deref(),
        ) else {
            continue;
        };
        match t {
            "DESCRIBES" if a == "SPDXRef-DOCUMENT" => add_described(b),
            "DESCRIBED_BY" if b == "SPDXRef-DOCUMENT" => add_described(a),
            _ => {
                let scope = match t {
                    "RUNTIME_DEPENDENCY_OF" => (3, "runtime"),
                    "BUILD_DEPENDENCY_OF"
                    | "BUILD_TOOL_OF"
                    | "DEV_DEPENDENCY_OF"
                    | "DEV_TOOL_OF"
                    | "TEST_DEPENDENCY_OF"
                    | "TEST_TOOL_OF" => (2, "build"),
                    "OPTIONAL_DEPENDENCY_OF" => (1, "optional"),
                    _ => continue,
                };
                let e = scopes.entry(a).or_insert(scope);
                if scope.0 > e.0 {
                    *e = scope;
                }
            }
        }
    }

    let package_ids: HashSet<&str> = packages
        .iter()
        .filter_map(|p| p.SPDXID.as_deref())
        .collect();
    let described_packages: Vec<&String> = described
        .iter()
        .filter(|d| package_ids.contains(d.as_str()))
        .collect();
    let subject_id: Option<String> = match described_packages.as_slice() {
        [one] => Some((*one).clone()),
        [] => None,
        many => {
            warnings.push(format!(
                "{location}: the document describes {} packages; all are kept as components and no subject is set",
                many.len()
            ));
            None
        }
    };

    let extracted: HashMap<&str, &str> = doc
        .hasExtractedLicensingInfos
        .iter()
        .flatten()
        .filter_map(|e| Some((e.licenseId.as_deref()?, e.name.as_deref()?)))
        .collect();

    let mut subject_name = None;
    let mut subject_digest = None;
    let mut components = Vec::with_capacity(packages.len());
    for (i, p) in packages.iter().enumerate() {
        let path = format!("packages[{i}]");
        if subject_id.is_some() && p.SPDXID.as_deref() == subject_id.as_deref() {
            subject_name = p.name.clone();
            subject_digest = package_digest(p);
            continue;
        }
        let name = match &p.name {
            Some(n) => n.clone(),
            None => {
                warnings.push(format!(
                    "{location}: package at `{path}` has no name (kept with an empty name)"
                ));
                String::new()
            }
        };
        let mut purl: Option<String> = None;
        let mut aliases = Vec::new();
        for (j, r) in p.externalRefs.iter().flatten().enumerate() {
            if r.referenceType.as_deref() == Some(ALIAS_PURL_REF_TYPE)
                && let Some(loc) = &r.referenceLocator
            {
                aliases.push(loc.clone());
                continue;
            }
            let is_purl = r
                .referenceType
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("purl") || t == INVALID_PURL_REF_TYPE);
            if !is_purl {
                continue;
            }
            let Some(loc) = &r.referenceLocator else {
                warnings.push(format!(
                    "{location}: `{path}.externalRefs[{j}]` is a purl ref without `referenceLocator`; skipped"
                ));
                continue;
            };
            let cat = r.referenceCategory.as_deref().unwrap_or("");
            let ours = r.referenceType.as_deref() == Some(INVALID_PURL_REF_TYPE) && cat == "OTHER";
            if cat != "PACKAGE-MANAGER" && cat != "PACKAGE_MANAGER" && !ours {
                warnings.push(format!(
                    "{location}: `{path}.externalRefs[{j}]` purl `{loc}` has category `{cat}`, not PACKAGE-MANAGER; used anyway"
                ));
            }
            if purl.is_none() {
                purl = Some(loc.clone());
            } else {
                warnings.push(format!(
                    "{location}: package `{name}` at `{path}` has a further purl `{loc}` (externalRefs[{j}]); only the first is kept as its purl"
                ));
            }
        }
        let mut hashes = Vec::new();
        for (j, c) in p.checksums.iter().flatten().enumerate() {
            match (&c.algorithm, &c.checksumValue) {
                (Some(a), Some(v)) => hashes.push((normalize_hash_alg(a), v.clone())),
                _ => warnings.push(format!(
                    "{location}: `{path}.checksums[{j}]` lacks `algorithm` or `checksumValue`; skipped"
                )),
            }
        }
        let licence = [&p.licenseDeclared, &p.licenseConcluded]
            .into_iter()
            .flatten()
            .find(|l| !matches!(l.trim(), "NOASSERTION" | "NONE" | ""));
        let licenses = licence
            .map(|l| {
                extracted
                    .get(l.trim())
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| l.clone())
            })
            .into_iter()
            .collect();
        let scope = p
            .SPDXID
            .as_deref()
            .and_then(|id| scopes.get(id))
            .map(|(_, s)| s.to_string());
        components.push(SbomComponent {
            name,
            version: p.versionInfo.clone(),
            purl,
            hashes,
            scope,
            kind: p
                .primaryPackagePurpose
                .as_ref()
                .map(|k| k.to_ascii_lowercase()),
            licenses,
            location: p.packageFileName.clone(),
            aliases,
        });
    }

    check_components(&components, location, &mut warnings);
    Ok(Sbom {
        format: Format::Spdx,
        spec_version,
        subject_name,
        subject_digest,
        components,
        warnings: warnings.finish(),
    })
}

fn package_digest(p: &Package) -> Option<String> {
    for c in p.checksums.iter().flatten() {
        if let (Some(a), Some(v)) = (&c.algorithm, &c.checksumValue)
            && normalize_hash_alg(a) == "sha256"
            && is_hex_len(v, 64)
        {
            return Some(format!("sha256:{}", v.to_ascii_lowercase()));
        }
    }
    if let Some(d) = p.versionInfo.as_deref().and_then(as_sha256_digest) {
        return Some(d);
    }
    p.externalRefs
        .iter()
        .flatten()
        .filter(|r| r.referenceType.as_deref() == Some("purl"))
        .find_map(|r| r.referenceLocator.as_deref().and_then(digest_from_purl))
}

fn spdx_hash_alg(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "md5" => "MD5",
        "sha1" => "SHA1",
        "sha224" => "SHA224",
        "sha256" => "SHA256",
        "sha384" => "SHA384",
        "sha512" => "SHA512",
        "sha3-256" => "SHA3-256",
        "sha3-384" => "SHA3-384",
        "sha3-512" => "SHA3-512",
        "blake2b-256" => "BLAKE2b-256",
        "blake2b-384" => "BLAKE2b-384",
        "blake2b-512" => "BLAKE2b-512",
        "blake3" => "BLAKE3",
        _ => return None,
    })
}

/// Makes licence strings into one SPDX expression, registering non-SPDX
/// strings as `LicenseRef-` entries.
struct LicenceRefs {
    by_text: BTreeMap<String, String>,
    used_ids: HashSet<String>,
}

impl LicenceRefs {
    fn id_for(&mut self, text: &str) -> String {
        if let Some(id) = self.by_text.get(text) {
            return id.clone();
        }
        let mut base: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if base.is_empty() {
            base.push_str("empty");
        }
        let mut id = format!("LicenseRef-{base}");
        let mut n = 1;
        while self.used_ids.contains(&id) {
            n += 1;
            id = format!("LicenseRef-{base}-{n}");
        }
        self.used_ids.insert(id.clone());
        self.by_text.insert(text.to_string(), id.clone());
        id
    }

    fn expression(&mut self, licences: &[String]) -> String {
        let parts: Vec<String> = licences
            .iter()
            .map(|l| {
                if is_spdx_expression(l)
                    && !l.contains("LicenseRef-")
                    && !l.contains("DocumentRef-")
                {
                    l.clone()
                } else {
                    self.id_for(l)
                }
            })
            .collect();
        match parts.as_slice() {
            [] => "NOASSERTION".to_string(),
            [one] => one.clone(),
            many => many
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }
}

/// Writes an SPDX 2.3 JSON document describing `subject` (package
/// `SPDXRef-Subject`, purpose `CONTAINER`) which CONTAINS every component
/// (`SPDXRef-Package-<index>`).
///
/// * purl → `externalRefs` (`PACKAGE-MANAGER`/`purl`); a purl that is not a
///   valid package URL goes under category `OTHER`, type
///   [`INVALID_PURL_REF_TYPE`], so the document stays valid and the purl is
///   not lost;
/// * hashes → `checksums` when the algorithm and length are SPDX ones;
/// * licences → `licenseDeclared`: strings that are strict SPDX expressions
///   are used as they are, others become `LicenseRef-…` entries in
///   `hasExtractedLicensingInfos` (with the original string as `name` and
///   text); several licences are joined with `AND`;
/// * kind → `primaryPackagePurpose` (uppercased) when it is an SPDX purpose;
/// * scope `runtime`/`build`/`optional` → a `RUNTIME_DEPENDENCY_OF` /
///   `BUILD_DEPENDENCY_OF` / `OPTIONAL_DEPENDENCY_OF` relationship to the
///   subject; location → `packageFileName`.
///
/// What SPDX cannot hold (other kinds and scopes, other hashes) is written
/// into the package `comment` as `buildledger:<field>=<value>` lines, which
/// [`parse_spdx`] does not read back.
pub fn to_spdx_2_3(subject: &ExportSubject, comps: &[SbomComponent]) -> Value {
    let uuid = crate::document_uuid(subject, comps, "spdx-2.3");
    let mut refs = LicenceRefs {
        by_text: BTreeMap::new(),
        used_ids: HashSet::new(),
    };
    let mut subject_pkg = json!({
        "SPDXID": "SPDXRef-Subject",
        "name": subject.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
    });
    if let Some(d) = &subject.digest {
        subject_pkg["versionInfo"] = json!(d);
        if let Some(hex) = d.strip_prefix("sha256:")
            && is_hex_len(hex, 64)
        {
            subject_pkg["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": hex }]);
        }
    }
    let mut packages = vec![subject_pkg];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Subject",
    })];
    for (i, c) in comps.iter().enumerate() {
        let id = format!("SPDXRef-Package-{i}");
        let mut comment = Vec::new();
        let mut p = json!({
            "SPDXID": id,
            "name": c.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": refs.expression(&c.licenses),
            "copyrightText": "NOASSERTION",
        });
        if let Some(v) = &c.version {
            p["versionInfo"] = json!(v);
        }
        if let Some(loc) = &c.location {
            p["packageFileName"] = json!(loc);
        }
        let mut checksums = Vec::new();
        for (alg, value) in &c.hashes {
            match spdx_hash_alg(alg) {
                Some(a) if hex_len_for(alg).is_some_and(|n| is_hex_len(value, n)) => {
                    checksums.push(json!({ "algorithm": a, "checksumValue": value }));
                }
                _ => comment.push(format!("buildledger:hash={alg}:{value}")),
            }
        }
        if !checksums.is_empty() {
            p["checksums"] = json!(checksums);
        }
        if let Some(purl) = &c.purl {
            let valid = purl.parse::<packageurl::PackageUrl<'static>>().is_ok()
                && !purl.chars().any(char::is_whitespace);
            let mut refs = if valid {
                json!([{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": purl,
                }])
            } else {
                // SPDX validators reject an invalid purl under type `purl`;
                // keep it under our own type, which parse_spdx reads back.
                json!([{
                    "referenceCategory": "OTHER",
                    "referenceType": INVALID_PURL_REF_TYPE,
                    "referenceLocator": purl,
                }])
            };
            if let Some(list) = refs.as_array_mut() {
                for alias in &c.aliases {
                    list.push(json!({
                        "referenceCategory": "OTHER",
                        "referenceType": ALIAS_PURL_REF_TYPE,
                        "referenceLocator": alias,
                    }));
                }
            }
            p["externalRefs"] = refs;
        }
        if let Some(k) = &c.kind {
            let upper = k.to_ascii_uppercase();
            if SPDX_PURPOSES.contains(&upper.as_str()) && upper.to_ascii_lowercase() == *k {
                p["primaryPackagePurpose"] = json!(upper);
            } else {
                comment.push(format!("buildledger:kind={k}"));
            }
        }
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Subject",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
        if let Some(s) = &c.scope {
            let rel = match s.as_str() {
                "runtime" => Some("RUNTIME_DEPENDENCY_OF"),
                "build" => Some("BUILD_DEPENDENCY_OF"),
                "optional" => Some("OPTIONAL_DEPENDENCY_OF"),
                _ => None,
            };
            match rel {
                Some(rel) => relationships.push(json!({
                    "spdxElementId": id,
                    "relationshipType": rel,
                    "relatedSpdxElement": "SPDXRef-Subject",
                })),
                None => comment.push(format!("buildledger:scope={s}")),
            }
        }
        if !comment.is_empty() {
            p["comment"] = json!(comment.join("\n"));
        }
        packages.push(p);
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": format!("https://buildledger.invalid/spdx/{uuid}"),
        "creationInfo": {
            "created": crate::timestamp(subject),
            "creators": [format!("Tool: buildledger-{}", subject.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !refs.by_text.is_empty() {
        let infos: Vec<Value> = refs
            .by_text
            .iter()
            .map(|(text, id)| json!({ "licenseId": id, "name": text, "extractedText": text }))
            .collect();
        doc["hasExtractedLicensingInfos"] = json!(infos);
    }
    doc
}

//! CycloneDX 1.4–1.6 JSON reading and CycloneDX 1.6 JSON writing.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    ExportSubject, Format, Header, MAX_COMPONENTS, SUPPORTED_CYCLONEDX_VERSIONS, Sbom,
    SbomComponent, SbomError, Warnings, as_sha256_digest, check_components, digest_from_purl,
    from_slice, hex_len_for, is_hex_len, normalize_hash_alg,
};

/// Property holding a component kind that is not a CycloneDX component type.
pub(crate) const PROP_KIND: &str = "buildledger:kind";
/// Property holding a scope that is not a CycloneDX scope.
pub(crate) const PROP_SCOPE: &str = "buildledger:scope";
/// Property holding a hash (`alg:value`) that CycloneDX cannot represent.
pub(crate) const PROP_HASH: &str = "buildledger:hash";
/// Property holding one alias purl of a component ([`SbomComponent::aliases`]).
pub(crate) const PROP_ALIAS: &str = "buildledger:alias-purl";
/// syft's property for the first location of a component.
const SYFT_LOCATION: &str = "syft:location:0:path";

const CDX_TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];
const CDX_SCOPES: &[&str] = &["required", "optional", "excluded"];

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "bomFormat")]
    _bom_format: Option<Value>,
    metadata: Option<Metadata>,
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct Metadata {
    component: Option<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    scope: Option<String>,
    hashes: Option<Vec<Hash>>,
    licenses: Option<Vec<LicenseChoice>>,
    properties: Option<Vec<Property>>,
    evidence: Option<Evidence>,
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct Hash {
    alg: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    license: Option<License>,
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Property {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Evidence {
    occurrences: Option<Vec<Occurrence>>,
}

#[derive(Deserialize)]
struct Occurrence {
    location: Option<String>,
}

/// Parses a CycloneDX 1.4, 1.5 or 1.6 JSON document.
///
/// Nested `components` are flattened into [`Sbom::components`] depth-first
/// (each parent before its children), top-level `components` first, then the
/// constituents listed under `metadata.component.components`.
pub fn parse_cyclonedx(bytes: &[u8], location: &str) -> Result<Sbom, SbomError> {
    let header = Header::read(bytes, location)?;
    parse_with_header(bytes, location, &header)
}

pub(crate) fn parse_with_header(
    bytes: &[u8],
    location: &str,
    header: &Header,
) -> Result<Sbom, SbomError> {
    let not_cdx = |detail: String| SbomError::NotThisFormat {
        location: location.to_string(),
        format: Format::CycloneDx,
        detail,
    };
    match &header.bom_format {
        Some(Value::String(s)) if s == "CycloneDX" => {}
        Some(other) => {
            return Err(not_cdx(format!(
                "`bomFormat` is {other}, expected \"CycloneDX\""
            )));
        }
        None => return Err(not_cdx("no top-level `bomFormat`".to_string())),
    }
    let spec_version = match &header.spec_version {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(crate::not_a_string(
                location,
                "CycloneDX",
                "specVersion",
                other,
            ));
        }
        None => return Err(not_cdx("no top-level `specVersion`".to_string())),
    };
    if !SUPPORTED_CYCLONEDX_VERSIONS.contains(&spec_version.as_str()) {
        return Err(SbomError::UnsupportedVersion {
            location: location.to_string(),
            format: Format::CycloneDx,
            version: spec_version,
            path: "specVersion".to_string(),
            supported: SUPPORTED_CYCLONEDX_VERSIONS.join(", "),
        });
    }

    let doc: Doc = from_slice(bytes, location, "CycloneDX")?;
    let mut warnings = Warnings::default();

    let mut subject_name = None;
    let mut subject_digest = None;
    // Work list of (component, JSON path) in reverse order so that popping
    // yields document order; children are pushed after their parent is taken.
    let mut stack: Vec<(Component, String)> = Vec::new();
    if let Some(mut subject) = doc.metadata.and_then(|m| m.component) {
        subject_name = subject.name.clone();
        subject_digest = subject_digest_of(&subject);
        // Constituents of the subject come after the top-level components.
        if let Some(children) = subject.components.take() {
            for (i, c) in children.into_iter().enumerate().rev() {
                stack.push((c, format!("metadata.component.components[{i}]")));
            }
        }
    }
    if let Some(comps) = doc.components {
        for (i, c) in comps.into_iter().enumerate().rev() {
            stack.push((c, format!("components[{i}]")));
        }
    }

    let mut components = Vec::new();
    while let Some((mut c, path)) = stack.pop() {
        if components.len() >= MAX_COMPONENTS {
            return Err(SbomError::TooManyComponents {
                location: location.to_string(),
                limit: MAX_COMPONENTS,
            });
        }
        if let Some(children) = c.components.take() {
            for (i, child) in children.into_iter().enumerate().rev() {
                stack.push((child, format!("{path}.components[{i}]")));
            }
        }
        components.push(convert(c, &path, location, &mut warnings));
    }

    check_components(&components, location, &mut warnings);
    Ok(Sbom {
        format: Format::CycloneDx,
        spec_version,
        subject_name,
        subject_digest,
        components,
        warnings: warnings.finish(),
    })
}

fn subject_digest_of(c: &Component) -> Option<String> {
    for h in c.hashes.iter().flatten() {
        if let (Some(alg), Some(content)) = (&h.alg, &h.content)
            && normalize_hash_alg(alg) == "sha256"
            && is_hex_len(content, 64)
        {
            return Some(format!("sha256:{}", content.to_ascii_lowercase()));
        }
    }
    if let Some(d) = c.version.as_deref().and_then(as_sha256_digest) {
        return Some(d);
    }
    c.purl.as_deref().and_then(digest_from_purl)
}

fn property<'a>(c: &'a Component, name: &str) -> Option<&'a str> {
    c.properties
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| p.value.as_deref())
}

fn convert(c: Component, path: &str, location: &str, warnings: &mut Warnings) -> SbomComponent {
    let name = match &c.name {
        Some(n) => n.clone(),
        None => {
            warnings.push(format!(
                "{location}: component at `{path}` has no name (kept with an empty name)"
            ));
            String::new()
        }
    };
    let mut hashes = Vec::new();
    for (i, h) in c.hashes.iter().flatten().enumerate() {
        match (&h.alg, &h.content) {
            (Some(alg), Some(content)) => hashes.push((normalize_hash_alg(alg), content.clone())),
            _ => warnings.push(format!(
                "{location}: `{path}.hashes[{i}]` lacks `alg` or `content`; skipped"
            )),
        }
    }
    for p in c.properties.iter().flatten() {
        if p.name.as_deref() == Some(PROP_HASH)
            && let Some((alg, value)) = p.value.as_deref().and_then(|v| v.split_once(':'))
        {
            hashes.push((alg.to_string(), value.to_string()));
        }
    }
    let mut licenses = Vec::new();
    for (i, l) in c.licenses.iter().flatten().enumerate() {
        if let Some(e) = &l.expression {
            licenses.push(e.clone());
        } else if let Some(lic) = &l.license {
            match (&lic.id, &lic.name) {
                (Some(id), _) => licenses.push(id.clone()),
                (None, Some(name)) => licenses.push(name.clone()),
                (None, None) => warnings.push(format!(
                    "{location}: `{path}.licenses[{i}].license` has neither `id` nor `name`; skipped"
                )),
            }
        } else {
            warnings.push(format!(
                "{location}: `{path}.licenses[{i}]` has neither `license` nor `expression`; skipped"
            ));
        }
    }
    let location_in_image = c
        .evidence
        .as_ref()
        .and_then(|e| e.occurrences.as_ref())
        .and_then(|o| o.iter().find_map(|o| o.location.clone()))
        .or_else(|| property(&c, SYFT_LOCATION).map(str::to_string));
    let aliases = c
        .properties
        .iter()
        .flatten()
        .filter(|p| p.name.as_deref() == Some(PROP_ALIAS))
        .filter_map(|p| p.value.clone())
        .collect();
    let kind = property(&c, PROP_KIND)
        .map(str::to_string)
        .or_else(|| c.kind.clone());
    let scope = c
        .scope
        .clone()
        .or_else(|| property(&c, PROP_SCOPE).map(str::to_string));
    SbomComponent {
        name,
        version: c.version,
        purl: c.purl,
        hashes,
        scope,
        kind,
        licenses,
        location: location_in_image,
        aliases,
    }
}

fn cdx_hash_alg(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "md5" => "MD5",
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
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

/// Is `s` exactly one SPDX licence identifier from the licence list?
fn is_spdx_id(s: &str) -> bool {
    !s.ends_with('+') && spdx::license_id(s).is_some_and(|id| id.name == s && !id.is_deprecated())
}

/// Is `s` a strict SPDX licence expression (ids from the list, `LicenseRef-`,
/// `AND`/`OR`/`WITH`)?
pub(crate) fn is_spdx_expression(s: &str) -> bool {
    spdx::Expression::parse_mode(s, spdx::ParseMode::STRICT).is_ok()
}

fn licenses_json(licenses: &[String]) -> Vec<Value> {
    // CycloneDX allows either a list of licences or exactly one expression.
    if let [only] = licenses
        && !is_spdx_id(only)
        && is_spdx_expression(only)
    {
        return vec![json!({ "expression": only })];
    }
    licenses
        .iter()
        .map(|l| {
            if is_spdx_id(l) {
                json!({ "license": { "id": l } })
            } else {
                json!({ "license": { "name": l } })
            }
        })
        .collect()
}

/// Writes a CycloneDX 1.6 JSON document describing `subject` (as
/// `metadata.component`, type `container`) and its `comps`.
///
/// Each component gets a `bom-ref` (`component-<index>`), and the subject a
/// `dependencies` entry listing them all. Values CycloneDX cannot represent
/// are kept in properties that [`parse_cyclonedx`](crate::parse_cyclonedx)
/// reads back: a kind that is not a CycloneDX type (`buildledger:kind`, type
/// `library`), a scope other than `required`/`optional`/`excluded`
/// (`buildledger:scope`) and hashes of other algorithms or lengths
/// (`buildledger:hash` = `alg:value`). A component without kind is written as
/// type `library`, which the schema requires. The location goes to
/// `evidence.occurrences[0].location`.
///
/// The `serialNumber` is a name-based (v5) UUID of the subject, creation time
/// and components, so the same input gives the same document.
pub fn to_cyclonedx_1_6(subject: &ExportSubject, comps: &[SbomComponent]) -> Value {
    let serial = crate::document_uuid(subject, comps, "cyclonedx-1.6");
    let mut subject_json = json!({
        "type": "container",
        "bom-ref": "subject",
        "name": subject.name,
    });
    if let Some(d) = &subject.digest {
        subject_json["version"] = json!(d);
        if let Some(hex) = d.strip_prefix("sha256:")
            && is_hex_len(hex, 64)
        {
            subject_json["hashes"] = json!([{ "alg": "SHA-256", "content": hex }]);
        }
    }
    let mut out = Vec::with_capacity(comps.len());
    let mut refs = Vec::with_capacity(comps.len());
    for (i, c) in comps.iter().enumerate() {
        let bom_ref = format!("component-{i}");
        let mut props = Vec::new();
        let kind = match c.kind.as_deref() {
            Some(k) if CDX_TYPES.contains(&k) => k,
            Some(k) => {
                props.push(json!({ "name": PROP_KIND, "value": k }));
                "library"
            }
            None => "library",
        };
        let mut j = json!({ "bom-ref": bom_ref, "type": kind, "name": c.name });
        if let Some(v) = &c.version {
            j["version"] = json!(v);
        }
        match c.scope.as_deref() {
            Some(s) if CDX_SCOPES.contains(&s) => j["scope"] = json!(s),
            Some(s) => props.push(json!({ "name": PROP_SCOPE, "value": s })),
            None => {}
        }
        let mut hashes = Vec::new();
        for (alg, value) in &c.hashes {
            match cdx_hash_alg(alg) {
                Some(cdx) if hex_len_for(alg).is_some_and(|n| is_hex_len(value, n)) => {
                    hashes.push(json!({ "alg": cdx, "content": value }));
                }
                _ => props.push(json!({ "name": PROP_HASH, "value": format!("{alg}:{value}") })),
            }
        }
        if !hashes.is_empty() {
            j["hashes"] = json!(hashes);
        }
        if !c.licenses.is_empty() {
            j["licenses"] = json!(licenses_json(&c.licenses));
        }
        if let Some(p) = &c.purl {
            j["purl"] = json!(p);
        }
        for alias in &c.aliases {
            props.push(json!({ "name": PROP_ALIAS, "value": alias }));
        }
        if let Some(loc) = &c.location {
            j["evidence"] = json!({ "occurrences": [{ "location": loc }] });
        }
        if !props.is_empty() {
            j["properties"] = json!(props);
        }
        out.push(j);
        refs.push(bom_ref);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": crate::timestamp(subject),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "buildledger",
                    "version": subject.tool_version,
                }]
            },
            "component": subject_json,
        },
        "components": out,
        "dependencies": [{ "ref": "subject", "dependsOn": refs }],
    })
}

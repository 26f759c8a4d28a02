//! Registry source: the OCI distribution API through `oci-client`, driven
//! by a private current-thread tokio runtime so callers stay synchronous.

use std::io::{self, Read};
use std::sync::Once;

use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use crate::digest::{Digest, read_verified, sha256_of};
use crate::layout::{Descriptor, MAX_MANIFEST_BYTES, Resolved, Store, resolve};
use crate::limits::{Budget, LimitKind};
use crate::{ImageError, OpenOptions};

/// Connecting to the registry may take this long.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A registry that sends nothing for this long is given up on.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `fut` on the private runtime within the time left in the budget.
fn block<F: std::future::Future>(
    rt: &tokio::runtime::Runtime,
    budget: &Budget,
    what: &str,
    fut: F,
) -> Result<F::Output, ImageError> {
    let left = budget.remaining();
    rt.block_on(async { tokio::time::timeout(left, fut).await })
        .map_err(|_| {
            let _ = budget.exceed(LimitKind::Time, what.to_string());
            ImageError::Limit(budget.tripped().expect("time limit recorded"))
        })
}

/// Environment variable read for the registry user name when
/// [`OpenOptions::username`] is not set.
pub const ENV_USER: &str = "BUILDLEDGER_REGISTRY_USER";
/// Environment variable read for the registry password.
pub const ENV_PASSWORD: &str = "BUILDLEDGER_REGISTRY_PASSWORD";
/// Environment variable read for a ready-made bearer token.
pub const ENV_TOKEN: &str = "BUILDLEDGER_REGISTRY_TOKEN";

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

static CRYPTO: Once = Once::new();

/// Installs the aws-lc-rs rustls provider once per process (ignored if
/// the embedding program installed one already).
fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

fn is_loopback(host: &str) -> bool {
    let h = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(h, "localhost" | "127.0.0.1" | "[::1]") || h.starts_with("127.")
}

/// An open registry repository.
pub(crate) struct RegistryStore {
    budget: Budget,
    rt: tokio::runtime::Runtime,
    client: Client,
    reference: Reference,
    auth: RegistryAuth,
}

impl RegistryStore {
    fn err(&self, e: OciDistributionError) -> ImageError {
        map_err(&self.reference, e)
    }
}

fn map_err(reference: &Reference, e: OciDistributionError) -> ImageError {
    let registry = reference.resolve_registry().to_string();
    match e {
        OciDistributionError::AuthenticationFailure(m) => ImageError::Auth {
            registry,
            message: m,
        },
        OciDistributionError::UnauthorizedError { url } => ImageError::Auth {
            registry,
            message: format!(
                "HTTP 401 Unauthorized for {url}: wrong or missing credentials (set OpenOptions username/password or {ENV_USER}/{ENV_PASSWORD})"
            ),
        },
        other => ImageError::Registry {
            reference: reference.whole(),
            message: other.to_string(),
        },
    }
}

impl Store for RegistryStore {
    fn open_blob(&self, digest: &Digest, size: u64) -> Result<Box<dyn Read + '_>, ImageError> {
        let desc = OciDescriptor {
            digest: digest.to_string(),
            size: size.min(i64::MAX as u64) as i64,
            ..Default::default()
        };
        let s = block(
            &self.rt,
            &self.budget,
            &format!("fetching blob {digest}"),
            self.client.pull_blob_stream(&self.reference, &desc),
        )?
        .map_err(|e| self.err(e))?;
        Ok(Box::new(StreamReader {
            rt: &self.rt,
            budget: &self.budget,
            stream: s.stream,
            buf: bytes_empty(),
            done: false,
        }))
    }

    fn fetch_manifest(&self, _desc: &Descriptor, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let r = self.reference.clone_with_digest(digest.to_string());
        let (bytes, _) = block(
            &self.rt,
            &self.budget,
            &format!("fetching manifest {digest}"),
            self.client.pull_manifest_raw(&r, &self.auth, ACCEPT),
        )?
        .map_err(|e| self.err(e))?;
        read_verified(
            &mut &bytes[..],
            MAX_MANIFEST_BYTES,
            Some(digest),
            &format!("manifest {digest}"),
        )
    }

    fn location(&self) -> String {
        format!("registry {}", self.reference.whole())
    }
}

fn bytes_empty() -> bytes::Bytes {
    bytes::Bytes::new()
}

type BlobStream = futures_util::stream::BoxStream<'static, Result<bytes::Bytes, io::Error>>;

/// Adapts the async blob stream to `std::io::Read` by blocking on the
/// private runtime chunk by chunk: memory stays at one network chunk.
struct StreamReader<'a> {
    rt: &'a tokio::runtime::Runtime,
    budget: &'a Budget,
    stream: BlobStream,
    buf: bytes::Bytes,
    /// The stream ended: it must not be polled again (its digest check
    /// would run a second time on an empty hash).
    done: bool,
}

impl Read for StreamReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            if self.done {
                return Ok(0);
            }
            let left = self.budget.remaining();
            let next = self
                .rt
                .block_on(async { tokio::time::timeout(left, self.stream.next()).await })
                .map_err(|_| {
                    self.budget
                        .exceed(LimitKind::Time, "reading a registry blob")
                })?;
            match next {
                None => {
                    self.done = true;
                    return Ok(0);
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(b)) => self.buf = b,
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        let _ = self.buf.split_to(n);
        Ok(n)
    }
}

/// Opens `registry:REFERENCE`. Must not be called from inside an async
/// runtime (it blocks on its own).
pub(crate) fn open_registry(
    reference: &str,
    opts: &OpenOptions,
    platform: &str,
    budget: &Budget,
) -> Result<(RegistryStore, Resolved), ImageError> {
    install_crypto_provider();
    let r: Reference =
        reference
            .parse()
            .map_err(|e: oci_client::ParseError| ImageError::BadSource {
                spec: format!("registry:{reference}"),
                reason: e.to_string(),
            })?;
    let registry = r.resolve_registry().to_string();
    let protocol = if opts.insecure {
        if !is_loopback(&registry) {
            return Err(ImageError::BadSource {
                spec: format!("registry:{reference}"),
                reason: format!(
                    "insecure (plain HTTP) is only allowed for a loopback registry, not {registry}"
                ),
            });
        }
        ClientProtocol::HttpsExcept(vec![registry.clone()])
    } else {
        ClientProtocol::Https
    };
    let config = ClientConfig {
        protocol,
        platform_resolver: None,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        ..Default::default()
    };
    let client = Client::try_from(config).map_err(|e| map_err(&r, e))?;
    let user = opts
        .username
        .clone()
        .or_else(|| std::env::var(ENV_USER).ok());
    let pass = opts
        .password
        .clone()
        .or_else(|| std::env::var(ENV_PASSWORD).ok());
    let token = opts
        .bearer_token
        .clone()
        .or_else(|| std::env::var(ENV_TOKEN).ok());
    let auth = match (user, pass, token) {
        (_, _, Some(t)) => RegistryAuth::Bearer(t),
        (Some(u), Some(p), None) => RegistryAuth::Basic(u, p),
        (Some(u), None, None) => RegistryAuth::Basic(u, String::new()),
        _ => RegistryAuth::Anonymous,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ImageError::Registry {
            reference: reference.to_string(),
            message: format!("cannot start runtime: {e}"),
        })?;
    // Authenticate first so token/credential failures surface as such.
    block(
        &rt,
        budget,
        "authenticating",
        client.auth(&r, &auth, RegistryOperation::Pull),
    )?
    .map_err(|e| map_err(&r, e))?;
    // The manifest body is read whole by the registry client before its
    // size can be checked; the time limit bounds how long that may take.
    let (bytes, _) = block(
        &rt,
        budget,
        "fetching the manifest",
        client.pull_manifest_raw(&r, &auth, ACCEPT),
    )?
    .map_err(|e| map_err(&r, e))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(ImageError::TooLarge {
            what: format!("manifest of {reference}"),
            limit: MAX_MANIFEST_BYTES,
            unit: "bytes",
        });
    }
    let digest = sha256_of(&bytes);
    if let Some(d) = r.digest()
        && d != digest
    {
        return Err(ImageError::DigestMismatch {
            what: format!("manifest of {reference}"),
            expected: d.to_string(),
            actual: digest,
        });
    }
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let store = RegistryStore {
        budget: budget.clone(),
        rt,
        client,
        reference: r,
        auth,
    };
    let top = Descriptor {
        media_type,
        digest,
        size: bytes.len() as i64,
        annotations: None,
        platform: None,
    };
    let resolved = resolve(&store, &top, platform)?;
    Ok((store, resolved))
}

//! Python package versions (PEP 440), ordered as Python's `packaging` does.
//!
//! Parsing and ordering come from the `pep440_rs` crate, which implements the
//! PEP 440 grammar (epochs, pre-, post- and dev-releases, local versions, the
//! normalisations such as `1.0-alpha1` = `1.0a1`). The tests compare it with
//! `packaging.version.Version` on generated pairs.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::{Scheme, VersionError};

pub(crate) fn parse(v: &str) -> Result<pep440_rs::Version, VersionError> {
    pep440_rs::Version::from_str(v)
        .map_err(|e| VersionError::invalid(Scheme::Pep440, v, e.to_string()))
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse(a)?.cmp(&parse(b)?))
}

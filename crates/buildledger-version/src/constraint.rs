//! Version constraints: `<1.14`, `>=1.2, <1.3`, `=1.13.4`, `1.13.4`, `!=1.0`,
//! `*`, and alternatives joined with `||`.
//!
//! A constraint is parsed once, without a scheme, and matched under any
//! scheme: the versions in it are compared with [`crate::compare`] at match
//! time, so a constraint holding a version the scheme rejects fails to match
//! with an error rather than silently.

use std::cmp::Ordering;
use std::fmt;

use crate::{MAX_CONSTRAINT_LEN, MAX_CONSTRAINT_TERMS, Scheme, VersionError, compare, cut};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`, `==` or no operator: equal.
    Eq,
    /// `!=`: not equal.
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator's canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether an ordering of `version` against the bound satisfies `self`.
    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

/// One `op version` term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparator {
    /// The operator.
    pub op: Op,
    /// The bound, as written.
    pub version: String,
}

/// A constraint such as "<1.14", ">=1.2, <1.3", "=1.13.4", "1.13.4" (exact),
/// "!=1.0", "*".
///
/// Terms separated by `,` must all hold; alternatives separated by `||` are
/// tried in turn. `*` matches every valid version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Constraint {
    /// Alternatives (OR) of term lists (AND). An empty term list is `*`.
    alternatives: Vec<Vec<Comparator>>,
}

impl Constraint {
    /// Parse a constraint expression. Errors name the expression and the
    /// problem; at most [`MAX_CONSTRAINT_LEN`] bytes and
    /// [`MAX_CONSTRAINT_TERMS`] terms are accepted.
    pub fn parse(s: &str) -> Result<Constraint, VersionError> {
        let bad = |reason: String| VersionError::Constraint {
            constraint: cut(s, MAX_CONSTRAINT_LEN).to_string(),
            reason,
        };
        if s.len() > MAX_CONSTRAINT_LEN {
            return Err(bad(format!(
                "longer than the limit of {MAX_CONSTRAINT_LEN} bytes"
            )));
        }
        if s.trim().is_empty() {
            return Err(bad("empty constraint".into()));
        }
        let mut alternatives = Vec::new();
        let mut terms = 0usize;
        for alt in s.split("||") {
            let alt = alt.trim();
            if alt.is_empty() {
                return Err(bad("empty alternative around '||'".into()));
            }
            if alt == "*" {
                alternatives.push(Vec::new());
                continue;
            }
            let mut comparators = Vec::new();
            for term in alt.split(',') {
                let term = term.trim();
                if term.is_empty() {
                    return Err(bad("empty term around ','".into()));
                }
                terms += 1;
                if terms > MAX_CONSTRAINT_TERMS {
                    return Err(bad(format!("more than {MAX_CONSTRAINT_TERMS} terms")));
                }
                let (op, rest) = split_op(term);
                let version = rest.trim();
                if version.is_empty() {
                    return Err(bad(format!("operator {:?} without a version", op.as_str())));
                }
                if version == "*" {
                    return Err(bad("'*' cannot be combined with other terms".into()));
                }
                if version
                    .chars()
                    .any(|c| c.is_whitespace() || "<>=!".contains(c))
                {
                    return Err(bad(format!(
                        "term {term:?} is not an operator followed by one version"
                    )));
                }
                comparators.push(Comparator {
                    op,
                    version: version.to_string(),
                });
            }
            alternatives.push(comparators);
        }
        Ok(Constraint { alternatives })
    }

    /// Whether `version` satisfies the constraint under `scheme`.
    ///
    /// Errors if `version` or any bound in the constraint is not a valid
    /// version under `scheme`.
    pub fn matches(&self, scheme: Scheme, version: &str) -> Result<bool, VersionError> {
        crate::validate(scheme, version)?;
        let mut any = false;
        // Evaluate every term so that an invalid bound is always reported,
        // whatever the version.
        for alt in &self.alternatives {
            let mut all = true;
            for c in alt {
                let ord = compare(scheme, version, &c.version)?;
                all &= c.op.holds(ord);
            }
            any |= all;
        }
        Ok(any)
    }

    /// The alternatives (joined by `||`), each a list of terms that must all
    /// hold. An empty list stands for `*`.
    pub fn alternatives(&self) -> &[Vec<Comparator>] {
        &self.alternatives
    }
}

fn split_op(term: &str) -> (Op, &str) {
    for (p, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if let Some(rest) = term.strip_prefix(p) {
            return (op, rest);
        }
    }
    (Op::Eq, term)
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alt) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            if alt.is_empty() {
                f.write_str("*")?;
            }
            for (j, c) in alt.iter().enumerate() {
                if j > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}{}", c.op.as_str(), c.version)?;
            }
        }
        Ok(())
    }
}

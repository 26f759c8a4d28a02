//! Alpine package versions, ordered as apk-tools 2.x orders them.
//!
//! A version is a sequence of tokens: dot-separated numbers, one optional
//! lower-case letter after the last number, any number of `_suffix[N]` parts
//! and an optional `-rN` package revision. Pre-release suffixes (`_alpha`,
//! `_beta`, `_pre`, `_rc`) sort below no suffix, post-release suffixes
//! (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) above it. A number after a dot that
//! starts with `0` is weighed by how many zeros it starts with (so `1.01` <
//! `1.1`, as apk-tools does); the first number is always a plain number.
//!
//! No crate implements this, and no apk binary is packaged for Debian, so the
//! module is written from apk-tools' tokenizer rules, with one deliberate
//! difference: apk-tools 2.10 reads `1.0_alpha` as newer than `1.0` (its
//! number token after a run of zeros is followed by an empty one); here a
//! pre-release suffix is older, as it is for every other number. Versions
//! must start with a digit (apk-tools would tokenize `a` as a letter). The tests check it
//! against Python `univers`' Alpine comparator on the versions where that
//! comparator claims to follow apk (numbers without leading zeros, the suffixes
//! it knows: `_alpha _beta _pre _rc _p`), and against published apk-tools
//! cases for the rest (`_cvs`, `_git`, leading zeros, multiple suffixes).

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    DigitOrZero = 0,
    Digit = 1,
    Letter = 2,
    Suffix = 3,
    SuffixNo = 4,
    RevisionNo = 5,
    End = 6,
    Invalid = 7,
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// A cursor over one version string.
struct Cursor<'a> {
    s: &'a [u8],
    ty: Tok,
}

impl Cursor<'_> {
    /// Decide the type of the token at the cursor after a token of type
    /// `self.ty`, consuming a separator if there is one.
    fn next_type(&mut self) {
        let mut n = Tok::Invalid;
        match self.s.first() {
            None => n = Tok::End,
            Some(&c)
                if matches!(self.ty, Tok::Digit | Tok::DigitOrZero) && c.is_ascii_lowercase() =>
            {
                n = Tok::Letter
            }
            Some(&c) if self.ty == Tok::Letter && c.is_ascii_digit() => n = Tok::Digit,
            Some(&c) if self.ty == Tok::Suffix && c.is_ascii_digit() => n = Tok::SuffixNo,
            Some(&c) => {
                match c {
                    b'.' => n = Tok::DigitOrZero,
                    b'_' => n = Tok::Suffix,
                    b'-' if self.s.get(1) == Some(&b'r') => {
                        n = Tok::RevisionNo;
                        self.s = &self.s[1..];
                    }
                    _ => {}
                }
                self.s = &self.s[1..];
            }
        }
        if n < self.ty {
            let allowed = (n == Tok::DigitOrZero && self.ty == Tok::Digit)
                || (n == Tok::Suffix && self.ty == Tok::SuffixNo)
                || (n == Tok::Digit && self.ty == Tok::Letter);
            if !allowed {
                n = Tok::Invalid;
            }
        }
        self.ty = n;
    }

    /// Read the token of type `self.ty` at the cursor, returning its weight
    /// and leaving `self.ty` at the type of the following token.
    fn token(&mut self) -> i64 {
        if self.s.is_empty() {
            self.ty = Tok::End;
            return 0;
        }
        let mut next = Tok::Invalid;
        let mut used = 0usize;
        let mut v: i64 = 0;
        let mut digits = false;
        match self.ty {
            Tok::DigitOrZero if self.s[0] == b'0' => {
                used = self.s.iter().take_while(|&&c| c == b'0').count();
                next = Tok::Digit;
                v = -(used as i64);
            }
            Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => digits = true,
            Tok::Letter => {
                v = i64::from(self.s[0]);
                used = 1;
            }
            Tok::Suffix => {
                if let Some(k) = PRE_SUFFIXES
                    .iter()
                    .position(|p| self.s.starts_with(p.as_bytes()))
                {
                    used = PRE_SUFFIXES[k].len();
                    v = k as i64 - PRE_SUFFIXES.len() as i64;
                    next = Tok::SuffixNo;
                } else if let Some(k) = POST_SUFFIXES
                    .iter()
                    .position(|p| self.s.starts_with(p.as_bytes()))
                {
                    used = POST_SUFFIXES[k].len();
                    v = k as i64;
                    next = Tok::SuffixNo;
                } else {
                    self.ty = Tok::Invalid;
                    return -1;
                }
            }
            Tok::End | Tok::Invalid => {
                self.ty = Tok::Invalid;
                return -1;
            }
        }
        if digits {
            for &c in self.s.iter().take_while(|c| c.is_ascii_digit()) {
                // Saturate rather than wrap: apk-tools overflows here, and
                // versions with 19+ digit numbers are not real.
                v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
                used += 1;
            }
        }
        self.s = &self.s[used..];
        if self.s.is_empty() {
            self.ty = Tok::End;
        } else if next != Tok::Invalid && self.s[0].is_ascii_digit() {
            // A zero run followed by more digits: they form the next token.
            self.ty = next;
        } else {
            // apk-tools 2.10 leaves an empty number token after a zero run
            // (`1.0_alpha` → 1, 0-run, "", _alpha), which makes `1.0_alpha`
            // newer than `1.0`. We end the number there instead, so that
            // pre-release suffixes sort below no suffix as everywhere else.
            if next != Tok::Invalid {
                self.ty = next;
            }
            self.next_type();
        }
        v
    }
}

pub(crate) fn validate(v: &str) -> Result<(), VersionError> {
    let bad = |reason: &str| VersionError::invalid(Scheme::Alpine, v, reason);
    if v.is_empty() {
        return Err(bad("version string is empty"));
    }
    if !v.as_bytes()[0].is_ascii_digit() {
        return Err(bad("version does not start with a digit"));
    }
    let mut c = Cursor {
        s: v.as_bytes(),
        ty: Tok::Digit,
    };
    loop {
        c.token();
        match c.ty {
            Tok::End => return Ok(()),
            Tok::Invalid => {
                return Err(bad(
                    "not of the form N[.N...][a][_suffix[N]...][-rN] with suffixes alpha, beta, pre, rc, cvs, svn, git, hg, p",
                ));
            }
            _ => {}
        }
    }
}

pub(crate) fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    validate(a)?;
    validate(b)?;
    let mut ca = Cursor {
        s: a.as_bytes(),
        ty: Tok::Digit,
    };
    let mut cb = Cursor {
        s: b.as_bytes(),
        ty: Tok::Digit,
    };
    let (mut av, mut bv) = (0i64, 0i64);
    while ca.ty == cb.ty && ca.ty != Tok::End && ca.ty != Tok::Invalid && av == bv {
        av = ca.token();
        bv = cb.token();
    }
    if av != bv {
        return Ok(av.cmp(&bv));
    }
    if ca.ty == cb.ty {
        return Ok(Ordering::Equal);
    }
    // Equal so far: the longer version is newer, unless what follows is a
    // pre-release suffix.
    // Peek at the suffix on a copy: the token types below are the ones
    // before it.
    let peek = |c: &Cursor<'_>| Cursor { s: c.s, ty: c.ty }.token();
    if ca.ty == Tok::Suffix && peek(&ca) < 0 {
        return Ok(Ordering::Less);
    }
    if cb.ty == Tok::Suffix && peek(&cb) < 0 {
        return Ok(Ordering::Greater);
    }
    Ok(cb.ty.cmp(&ca.ty))
}

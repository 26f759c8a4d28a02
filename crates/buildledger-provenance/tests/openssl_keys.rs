//! Keys and raw signatures against the `openssl` command line (OpenSSL 3):
//! PKCS#8/SPKI PEM compatibility, key id = SHA-256 of SPKI DER, and
//! signatures in both directions for Ed25519 and ECDSA P-256 (DER).

mod common;

use std::path::Path;
use std::process::Command;

use buildledger_provenance::{KeyAlgorithm, PublicKey, SigningKey, pae};
use common::*;
use sha2::{Digest, Sha256};

const INSTALL: &str = "apt-get install -y openssl";

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn openssl_ok(args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("running openssl")
        .status
        .success()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn our_keys_and_signatures_check_out_in_openssl() {
    if !require_tool("openssl", "version", INSTALL) {
        return;
    }
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let dir = temp_dir("openssl-ours");
        let key = SigningKey::generate(alg);
        let (priv_pem, pub_pem) = (dir.join("k.pem"), dir.join("k.pub"));
        std::fs::write(&priv_pem, key.to_pkcs8_pem()).unwrap();
        std::fs::write(&pub_pem, key.public_key().to_pem()).unwrap();

        // OpenSSL derives the same public key; key id = sha256(SPKI DER).
        let der = openssl(&["pkey", "-in", s(&priv_pem), "-pubout", "-outform", "DER"]);
        assert_eq!(der, key.public_key().spki_der());
        assert_eq!(hex::encode(Sha256::digest(&der)), key.public_key().key_id());
        let der_from_pub = openssl(&["pkey", "-pubin", "-in", s(&pub_pem), "-outform", "DER"]);
        assert_eq!(der_from_pub, der);

        let msg = pae("application/vnd.in-toto+json", b"{\"hello\":\"openssl\"}");
        let (msg_path, sig_path) = (dir.join("msg"), dir.join("sig"));
        std::fs::write(&msg_path, &msg).unwrap();
        std::fs::write(&sig_path, key.sign(&msg)).unwrap();
        let verify = |m: &Path| match alg {
            KeyAlgorithm::Ed25519 => openssl_ok(&[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                s(&pub_pem),
                "-rawin",
                "-in",
                s(m),
                "-sigfile",
                s(&sig_path),
            ]),
            KeyAlgorithm::EcdsaP256 => openssl_ok(&[
                "dgst",
                "-sha256",
                "-verify",
                s(&pub_pem),
                "-signature",
                s(&sig_path),
                s(m),
            ]),
        };
        assert!(verify(&msg_path), "openssl rejects our {alg} signature");
        let mut other = msg.clone();
        other[0] ^= 1;
        std::fs::write(dir.join("other"), &other).unwrap();
        assert!(
            !verify(&dir.join("other")),
            "openssl accepts our {alg} signature over other bytes"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn openssl_keys_and_signatures_check_out_here() {
    if !require_tool("openssl", "version", INSTALL) {
        return;
    }
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let dir = temp_dir("openssl-theirs");
        let priv_pem = dir.join("k.pem");
        match alg {
            KeyAlgorithm::Ed25519 => {
                openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&priv_pem)])
            }
            KeyAlgorithm::EcdsaP256 => openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                s(&priv_pem),
            ]),
        };
        let pub_pem =
            String::from_utf8(openssl(&["pkey", "-in", s(&priv_pem), "-pubout"])).unwrap();
        let public = PublicKey::from_pem(&pub_pem).expect("openssl SPKI PEM parses");
        let private = SigningKey::from_pem(&std::fs::read_to_string(&priv_pem).unwrap())
            .expect("openssl PKCS#8 PEM parses");
        assert_eq!(private.public_key(), public);
        assert_eq!(public.algorithm(), alg);

        let msg = pae("text/plain", b"signed by openssl");
        let msg_path = dir.join("msg");
        std::fs::write(&msg_path, &msg).unwrap();
        let sig = match alg {
            KeyAlgorithm::Ed25519 => openssl(&[
                "pkeyutl",
                "-sign",
                "-inkey",
                s(&priv_pem),
                "-rawin",
                "-in",
                s(&msg_path),
            ]),
            KeyAlgorithm::EcdsaP256 => {
                openssl(&["dgst", "-sha256", "-sign", s(&priv_pem), s(&msg_path)])
            }
        };
        assert!(
            public.verify(&msg, &sig),
            "openssl {alg} signature rejected"
        );
        assert!(!public.verify(&msg[1..], &sig));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn openssl_sec1_ec_key_is_refused_with_a_hint() {
    if !require_tool("openssl", "version", INSTALL) {
        return;
    }
    let sec1 = String::from_utf8(openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
    ]))
    .unwrap();
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
    let e = SigningKey::from_pem(&sec1).unwrap_err().to_string();
    assert!(e.contains("openssl pkcs8 -topk8 -nocrypt"), "{e}");
}

//! Prints what buildledger-sbom reads from an SBOM file: `sbom_dump FILE`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sbom_dump FILE");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match buildledger_sbom::detect_and_parse(&bytes, &path) {
        Ok(sbom) => {
            println!(
                "{} {} subject={:?} digest={:?} components={}",
                sbom.format,
                sbom.spec_version,
                sbom.subject_name,
                sbom.subject_digest,
                sbom.components.len()
            );
            for c in &sbom.components {
                println!("{c:?}");
            }
            for w in &sbom.warnings {
                println!("warning: {w}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

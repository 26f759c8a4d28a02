use buildledger_apisurface::{ApiSurfaceError, from_openapi};
use buildledger_model::Stability;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn yaml_document_gives_versions_and_stability() {
    let apis = from_openapi(&data("widgets.yaml"), "widgets.yaml").unwrap();
    let get = |name: &str| {
        apis.iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("{name} missing: {apis:?}"))
    };
    assert_eq!(apis.len(), 7);
    assert_eq!(get("GET /v1/widgets").stability, Stability::Stable);
    assert_eq!(get("GET /v1/widgets").version.as_deref(), Some("v1"));
    assert_eq!(get("POST /v1/widgets").stability, Stability::Deprecated);
    assert_eq!(get("GET /v1beta1/widgets/{id}").stability, Stability::Beta);
    assert_eq!(get("GET /v2alpha1/gadgets").stability, Stability::Alpha);
    assert_eq!(
        get("GET /v1/reports").stability,
        Stability::Beta,
        "path-level x-stability wins over /v1/"
    );
    assert_eq!(
        get("DELETE /v1/reports").stability,
        Stability::Alpha,
        "operation-level wins over path-level"
    );
    let health = get("GET /healthz");
    assert_eq!(health.stability, Stability::Stable);
    assert_eq!(
        health.version, None,
        "info.version 2.4.0 is not an API version"
    );
}

#[test]
fn json_document_and_document_level_stability() {
    let doc = br#"{"openapi":"3.1.0","info":{"title":"t","version":"v1beta3"},
                  "paths":{"/things":{"get":{}},"/other":{"put":{},"parameters":[]}}}"#;
    let apis = from_openapi(doc, "t.json").unwrap();
    assert_eq!(apis.len(), 2);
    assert!(
        apis.iter()
            .all(|a| a.stability == Stability::Beta && a.version.as_deref() == Some("v1beta3"))
    );
}

#[test]
fn bad_documents_name_the_file() {
    let e = from_openapi(b"{\"openapi\": ", "broken.json").unwrap_err();
    assert!(
        matches!(e, ApiSurfaceError::Syntax { .. }) && e.to_string().starts_with("broken.json:"),
        "{e}"
    );
    let e = from_openapi(b"title: not openapi\n", "plain.yaml").unwrap_err();
    assert!(
        e.to_string().contains("plain.yaml") && e.to_string().contains("not an OpenAPI document"),
        "{e}"
    );
    let e = from_openapi(b"openapi: 3.0.0\npaths: [1, 2]\n", "list.yaml").unwrap_err();
    assert!(e.to_string().contains("`paths` is not an object"), "{e}");
    let e = from_openapi(b"openapi: 4.0.0\n", "v4.yaml").unwrap_err();
    assert!(e.to_string().contains("unsupported OpenAPI version"), "{e}");
    let big = vec![b' '; buildledger_apisurface::MAX_DOCUMENT_SIZE + 1];
    assert!(matches!(
        from_openapi(&big, "big.json"),
        Err(ApiSurfaceError::TooLarge { .. })
    ));
}

//! The JSON schema of a submitted build record (`schema/build-record.v1.json`).

use crate::BuildRecord;

/// The JSON schema of [`BuildRecord`], as checked into `schema/build-record.v1.json`.
pub fn build_record_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(BuildRecord);
    let mut v = serde_json::to_value(schema).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String("https://buildledger.dev/schema/build-record.v1.json".into()),
        );
    }
    v
}

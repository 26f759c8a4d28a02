//! [`ModelError`]: a problem with a value, naming the field it was found in.

/// A problem with a value, naming the field it was found in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ModelError {
    /// JSON path of the field, e.g. `components[3].purl`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ModelError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`subjects[0]` + `digest`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

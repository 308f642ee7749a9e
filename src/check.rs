//! Validation, the lowest layer: a [`Checker`] collects every rejected field of a
//! config at once, each as a [`FieldError`] that names the field, the value and the
//! allowed range. The configs of every concept (tasks, x-distributions, baselines,
//! the experiment) validate through it; it depends on nothing in the crate.

/// One rejected value: the field's path, what it held and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} = {value} is not allowed: {allowed}")]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub allowed: String,
}

/// Collects field errors during validation.
#[derive(Default)]
pub struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    pub fn range_usize(&mut self, field: &str, v: usize, lo: usize, hi: usize) {
        if v < lo || v > hi {
            self.fail(field, v, format!("an integer in {lo}..={hi}"));
        }
    }
    pub fn range_f64(&mut self, field: &str, v: f64, lo: f64, hi: f64) {
        if !v.is_finite() || v < lo || v > hi {
            self.fail(field, v, format!("a number in [{lo}, {hi}]"));
        }
    }
    pub fn fail(&mut self, field: &str, v: impl std::fmt::Display, allowed: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            value: v.to_string(),
            allowed: allowed.into(),
        });
    }
}

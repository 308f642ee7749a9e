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

/// At most [`ECHO`] characters of a value echoed in a message (a 1 MB value once
/// came back whole), cut at a character boundary with "…".
pub fn ellipsize(text: &str) -> String {
    match text.char_indices().nth(ECHO) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

/// A message that stays on one line whatever it quotes: control characters in it
/// (a key with a newline, from a file or a link) written as escapes, and one longer
/// than 4 × [`ECHO`] characters cut to its first [`ECHO`].
pub fn readable(message: &str) -> String {
    let escaped: String = message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if escaped.chars().count() > 4 * ECHO {
        ellipsize(&escaped)
    } else {
        escaped
    }
}

/// Characters of a value a message repeats.
pub const ECHO: usize = 120;

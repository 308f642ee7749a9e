//! The page's keyboard shortcuts: which key does what in which phase, and which
//! elements keep their keys (text fields). Platform-neutral, so tested natively.

use super::protocol::Phase;

/// What a shortcut does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    /// `t` while running.
    Pause,
    /// `t` while paused.
    Resume,
    /// `t` with no run going: train.
    Train,
    /// `s` with no run going: start paused, one step at a time.
    TrainPaused,
    /// `s` during a run: one optimizer step.
    Step,
    /// `r`.
    Reset,
}

/// The shortcut for `key` in `phase` (`can_start`: every field valid and the
/// worker listening). Letters only, either case; none with a modifier held.
pub fn shortcut(key: &str, phase: Phase, can_start: bool) -> Option<Shortcut> {
    Some(match (key.to_ascii_lowercase().as_str(), phase) {
        ("t", Phase::Running) => Shortcut::Pause,
        ("t", Phase::Paused) => Shortcut::Resume,
        ("t", _) if can_start => Shortcut::Train,
        ("s", Phase::Paused | Phase::Running) => Shortcut::Step,
        ("s", Phase::Idle | Phase::Finished) if can_start => Shortcut::TrainPaused,
        ("r", _) => Shortcut::Reset,
        _ => return None,
    })
}

/// Whether an element takes typed text, so letters typed there are text, not
/// shortcuts: text areas, editable content, and inputs of the text kinds. A radio
/// button, checkbox or slider does not (a lesson's prediction is a radio button, and
/// `t` must train after it is chosen); a menu does not either (its type-ahead would
/// otherwise switch the preset on `t`).
pub fn takes_text(tag: &str, input_type: Option<&str>, editable: bool) -> bool {
    if editable {
        return true;
    }
    match tag.to_ascii_uppercase().as_str() {
        "TEXTAREA" => true,
        "INPUT" => matches!(
            input_type.unwrap_or("text").to_ascii_lowercase().as_str(),
            "text" | "search" | "email" | "url" | "tel" | "password" | "number" | ""
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_phase() {
        assert_eq!(shortcut("t", Phase::Running, true), Some(Shortcut::Pause));
        assert_eq!(shortcut("T", Phase::Paused, true), Some(Shortcut::Resume));
        assert_eq!(shortcut("t", Phase::Idle, true), Some(Shortcut::Train));
        assert_eq!(
            shortcut("t", Phase::Finished, false),
            None,
            "an invalid field"
        );
        assert_eq!(
            shortcut("s", Phase::Idle, true),
            Some(Shortcut::TrainPaused)
        );
        assert_eq!(shortcut("s", Phase::Running, false), Some(Shortcut::Step));
        assert_eq!(shortcut("r", Phase::Idle, false), Some(Shortcut::Reset));
        assert_eq!(shortcut("x", Phase::Idle, true), None);
    }

    #[test]
    fn only_text_fields_keep_their_letters() {
        assert!(takes_text("INPUT", Some("text"), false));
        assert!(
            takes_text("input", None, false),
            "an input is text by default"
        );
        assert!(takes_text("TEXTAREA", None, false));
        assert!(takes_text("DIV", None, true), "editable content");
        assert!(
            !takes_text("INPUT", Some("radio"), false),
            "a lesson's prediction"
        );
        assert!(!takes_text("INPUT", Some("checkbox"), false));
        assert!(!takes_text("INPUT", Some("range"), false));
        assert!(!takes_text("SELECT", None, false), "the preset menu");
        assert!(!takes_text("BUTTON", None, false));
    }
}

//! Lessons: Markdown files in `www/lessons/` with a TOML header, listed in
//! `www/lessons/index.json`. Adding a lesson is adding a file and a line there; the
//! native tests check every listed lesson (its preset, overrides and sweep).
//!
//! ```text
//! +++
//! id = "icl-vs-least-squares"      # the file name without .md; lesson=<id> in the URL
//! title = "…"
//! family = "Linear regression"
//! preset = "icl-in-a-minute"       # a preset name
//! set = ["train.steps=800"]        # optional overrides (the CLI's --set)
//! sweep = "task.pool=2^1..2^8"     # optional: fills the sweep panel
//! question = "…?"                  # the "what do you predict?" step
//! choices = ["…", "…", "…"]
//! answer = 1                       # the choice the measurements support (0-based)
//! +++
//! Introduction (Markdown; formulas between $…$).
//! ## Steps
//! 1. a guided step (each top-level item is one checklist entry)
//! ## What to look for
//! …
//! ```

use std::collections::{BTreeMap, BTreeSet};

use pulldown_cmark::{Options, Parser, html};
use serde::{Deserialize, Serialize};

use crate::config::Experiment;
use crate::presets;
use crate::sweep::SweepSpec;

/// A lesson's header.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LessonMeta {
    pub id: String,
    pub title: String,
    pub family: String,
    pub preset: String,
    #[serde(default)]
    pub set: Vec<String>,
    #[serde(default)]
    pub sweep: Option<String>,
    pub question: String,
    pub choices: Vec<String>,
    pub answer: usize,
}

/// A parsed lesson, its Markdown already rendered to HTML.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub meta: LessonMeta,
    pub intro_html: String,
    /// One entry per guided step.
    pub steps_html: Vec<String>,
    pub look_for_html: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LessonError {
    #[error("a lesson starts with a `+++` line, its TOML header, and another `+++` line")]
    NoHeader,
    #[error("the lesson header: {0}")]
    Header(String),
    #[error("lesson `{id}`: {why}")]
    Invalid { id: String, why: String },
}

/// Markdown to HTML, with tables, and `$…$` / `$$…$$` formulas (LaTeX) as MathML
/// inside math spans: the browser typesets MathML itself, so no script or font
/// loads, and a screen reader reads it as math.
pub fn markdown(text: &str) -> String {
    use pulldown_cmark::{CowStr, Event};
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_MATH);
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(text, opts).map(|e| match e {
        Event::InlineMath(tex) => Event::InlineHtml(CowStr::from(format!(
            "<span class=\"math math-inline\">{}</span>",
            mathml(&tex, false)
        ))),
        Event::DisplayMath(tex) => Event::InlineHtml(CowStr::from(format!(
            "<span class=\"math math-display\">{}</span>",
            mathml(&tex, true)
        ))),
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// A LaTeX formula as MathML, its source kept as an annotation. A formula that does
/// not parse is drawn with its error marked (`<merror>`); the lesson tests refuse
/// such a formula.
pub fn mathml(tex: &str, display: bool) -> String {
    use pulldown_latex::config::DisplayMode;
    use pulldown_latex::{RenderConfig, Storage};
    let storage = Storage::new();
    let parser = pulldown_latex::Parser::new(tex, &storage);
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(tex),
        ..RenderConfig::default()
    };
    let mut out = String::new();
    match pulldown_latex::push_mathml(&mut out, parser, config) {
        Ok(()) => out,
        // Writing to a String cannot fail; the source, escaped, if it ever did.
        Err(_) => tex
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    }
}

/// The top-level items of a Markdown list (`1. …`, `- …`), continuation lines kept.
fn list_items(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let top = line.len() == t.len();
        let marker = t
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            .map(|(_, rest)| rest)
            .or_else(|| t.strip_prefix("- "))
            .or_else(|| t.strip_prefix("* "));
        match (top, marker) {
            (true, Some(rest)) => items.push(rest.to_string()),
            _ => {
                if let Some(last) = items.last_mut() {
                    last.push('\n');
                    last.push_str(line.trim_start());
                }
            }
        }
    }
    items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

impl Lesson {
    pub fn parse(text: &str) -> Result<Self, LessonError> {
        let text = text.replace("\r\n", "\n");
        let rest = text.strip_prefix("+++\n").ok_or(LessonError::NoHeader)?;
        let (header, body) = rest.split_once("\n+++\n").ok_or(LessonError::NoHeader)?;
        let meta: LessonMeta =
            toml::from_str(header).map_err(|e| LessonError::Header(e.message().to_string()))?;
        let mut sections: BTreeMap<String, String> = BTreeMap::new();
        let mut current = String::new();
        for line in body.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                current = h.trim().to_lowercase();
                continue;
            }
            let s = sections.entry(current.clone()).or_default();
            s.push_str(line);
            s.push('\n');
        }
        let invalid = |why: String| LessonError::Invalid {
            id: meta.id.clone(),
            why,
        };
        // Measured figures are quoted as {{claim}} and filled from the committed
        // results of `icl-lab reproduce`.
        for s in sections.values_mut() {
            *s = crate::claims::render_checked(s).map_err(|e| invalid(e.to_string()))?;
        }
        let steps = sections
            .get("steps")
            .map(|s| list_items(s))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("no `## Steps` section with a numbered list".into()))?;
        let look_for = sections
            .iter()
            .find(|(k, _)| k.starts_with("what to look for"))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| invalid("no `## What to look for` section".into()))?;
        Ok(Self {
            intro_html: markdown(sections.get("").map_or("", String::as_str)),
            steps_html: steps.iter().map(|s| markdown(s)).collect(),
            look_for_html: markdown(&look_for),
            meta,
        })
    }

    /// The lesson's experiment: its preset with its overrides, validated.
    pub fn experiment(&self) -> Result<Experiment, LessonError> {
        let invalid = |why: String| LessonError::Invalid {
            id: self.meta.id.clone(),
            why,
        };
        let base =
            presets::preset(&self.meta.preset).map_err(|e| invalid(format!("preset: {e}")))?;
        base.with_overrides(&self.meta.set)
            .map_err(|e| invalid(format!("set: {e}")))
    }

    /// Checks everything a reader would trip over: the experiment, the sweep, the
    /// question's answer.
    pub fn check(&self) -> Result<(), LessonError> {
        let invalid = |why: String| LessonError::Invalid {
            id: self.meta.id.clone(),
            why,
        };
        let exp = self.experiment()?;
        if let Some(sweep) = &self.meta.sweep {
            let spec = SweepSpec::parse(sweep).map_err(|e| invalid(format!("sweep: {e}")))?;
            spec.experiments(&exp)
                .map_err(|e| invalid(format!("sweep: {e}")))?;
        }
        if self.meta.choices.len() < 2 {
            return Err(invalid("choices: give at least two".into()));
        }
        if self.meta.answer >= self.meta.choices.len() {
            return Err(invalid(format!(
                "answer = {} but the choices are numbered 0..{}",
                self.meta.answer,
                self.meta.choices.len() - 1
            )));
        }
        Ok(())
    }
}

/// What a reader did in a lesson (kept in the browser's localStorage).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct LessonProgress {
    /// The choice picked before the run.
    pub predicted: Option<usize>,
    /// Steps ticked off.
    pub done: BTreeSet<usize>,
    /// "What to look for" revealed (after a run, or by hand).
    pub revealed: bool,
    /// A run finished here with the lesson open: the verdict can speak of what was
    /// measured (revealed by hand before that, it speaks of the lesson's answer).
    #[serde(default)]
    pub ran: bool,
}

impl LessonProgress {
    /// Finished: predicted, every step ticked, the observations read.
    pub fn complete(&self, steps: usize) -> bool {
        self.predicted.is_some() && self.revealed && (0..steps).all(|i| self.done.contains(&i))
    }
}

/// Every lesson's progress, by id: the localStorage value.
pub type Progress = BTreeMap<String, LessonProgress>;

/// The localStorage key of [`Progress`].
pub const PROGRESS_KEY: &str = "icl-lab.lessons";

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "+++\nid = \"demo\"\ntitle = \"Demo\"\nfamily = \"Linear regression\"\npreset = \"icl-in-a-minute\"\nset = [\"train.steps=600\"]\nsweep = \"seed=1,2\"\nquestion = \"What happens?\"\nchoices = [\"a\", \"b\"]\nanswer = 1\n+++\nThe error is $‖ŵ − w‖²$.\n\n## Steps\n1. Press **Train**.\n2. Watch the chart\n   until step 300.\n\n## What to look for\nThe model follows least squares.\n";

    #[test]
    fn a_lesson_parses_into_intro_steps_and_observations() {
        let l = Lesson::parse(SAMPLE).unwrap();
        assert_eq!(l.meta.id, "demo");
        assert!(
            l.intro_html.contains("class=\"math math-inline\"><math"),
            "{}",
            l.intro_html
        );
        // Typeset: a superscript is an msup, a subscript an msub.
        let m = mathml("x_q + k^{-\\alpha}", false);
        assert!(m.contains("<msub>") && m.contains("<msup>"), "{m}");
        assert!(!m.contains("merror"), "{m}");
        assert!(mathml("\\frac{1}{", false).contains("merror"));
        assert_eq!(l.steps_html.len(), 2);
        assert!(l.steps_html[0].contains("<strong>Train</strong>"));
        assert!(
            l.steps_html[1].contains("until step 300"),
            "continuation kept"
        );
        assert!(l.look_for_html.contains("least squares"));
        l.check().unwrap();
        assert_eq!(l.experiment().unwrap().train.steps, 600);
    }

    #[test]
    fn broken_lessons_say_what_is_wrong() {
        assert_eq!(Lesson::parse("# no header"), Err(LessonError::NoHeader));
        let e = Lesson::parse(&SAMPLE.replace("answer = 1\n", "answr = 1\n")).unwrap_err();
        assert!(matches!(e, LessonError::Header(_)), "{e}");
        let e = Lesson::parse(&SAMPLE.replace("## Steps", "## Things")).unwrap_err();
        assert!(e.to_string().contains("## Steps"), "{e}");
        let l = Lesson::parse(&SAMPLE.replace("icl-in-a-minute", "no-such")).unwrap();
        assert!(l.check().unwrap_err().to_string().contains("preset"));
        let l = Lesson::parse(&SAMPLE.replace("train.steps=600", "task.dims=0")).unwrap();
        assert!(l.check().unwrap_err().to_string().contains("task.dims"));
        let l = Lesson::parse(&SAMPLE.replace("answer = 1", "answer = 2")).unwrap();
        assert!(l.check().unwrap_err().to_string().contains("answer = 2"));
    }

    #[test]
    fn progress_is_complete_only_with_everything_done() {
        let mut p = LessonProgress::default();
        assert!(!p.complete(2));
        p.predicted = Some(0);
        p.done = [0, 1].into();
        assert!(!p.complete(2));
        p.revealed = true;
        assert!(p.complete(2));
    }
}

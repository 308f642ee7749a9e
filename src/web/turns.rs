//! One training at a time per page of embeds. A blog post with two live figures
//! must not train both at once: on a laptop they starve each other (one reached
//! step 100 while the other reached step 1). The embeds of one page talk over a
//! `BroadcastChannel` ([`CHANNEL`]); this is the rule each follows, platform-neutral
//! so it is tested natively:
//!
//! - an autoplay figure starts only when it is on screen and no other figure is
//!   training; otherwise it waits and starts when both hold;
//! - when a figure starts (autoplay or a reader's click), any other figure that is
//!   training pauses and waits; of two starts at once, the later one wins (ties by
//!   id), so both sides agree without a referee;
//! - a figure that paused for another goes on when that one stops, if on screen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The channel's name (per origin, and in browsers that partition storage, per
/// top-level page).
pub const CHANNEL: &str = "icl-lab-embeds";

/// What embeds tell each other.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TurnMessage {
    /// A figure opened: those training say so.
    Hello { id: String },
    /// `id` is training since `at` (ms since the epoch).
    Training { id: String, at: f64 },
    /// `id` stopped training (paused, finished, reset, closed).
    Idle { id: String },
}

/// What the figure should do.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnAction {
    /// Start its run (it has none yet) or resume it (it paused for another).
    Go,
    /// Pause: another figure started later.
    Yield,
    /// Tell the other figures.
    Post(TurnMessage),
}

/// One figure's side of the rule.
#[derive(Clone, Debug)]
pub struct Turns {
    id: String,
    /// Since when this figure trains (None: not training).
    training_since: Option<f64>,
    /// The other figures that say they train.
    others: BTreeMap<String, f64>,
    visible: bool,
    /// Wants to train when it may: an autoplay figure not yet started, or one that
    /// paused for another.
    waiting: bool,
    /// It paused for another figure (the status line says so).
    yielded: bool,
}

impl Turns {
    /// A figure with a page-unique `id`; `autoplay`: it wants to train as soon as it
    /// may. Post the returned message.
    pub fn new(id: impl Into<String>, autoplay: bool) -> (Self, TurnMessage) {
        let id = id.into();
        let hello = TurnMessage::Hello { id: id.clone() };
        (
            Self {
                id,
                training_since: None,
                others: BTreeMap::new(),
                visible: false,
                waiting: autoplay,
                yielded: false,
            },
            hello,
        )
    }

    /// Whether it paused for another figure and waits for its turn.
    pub fn yielded(&self) -> bool {
        self.yielded && self.training_since.is_none()
    }

    /// Whether it is on screen, wants to train, and waits for another figure to
    /// stop (the status line says so): paused for another, or an autoplay figure
    /// whose turn has not come. Off screen it waits for the reader first.
    pub fn waits_for_another(&self) -> bool {
        self.training_since.is_none() && self.waiting && self.visible && !self.others.is_empty()
    }

    fn go_if_free(&mut self) -> Vec<TurnAction> {
        if self.waiting && self.visible && self.training_since.is_none() && self.others.is_empty() {
            self.waiting = false;
            vec![TurnAction::Go]
        } else {
            Vec::new()
        }
    }

    /// The figure came on screen or left it.
    pub fn visible(&mut self, visible: bool) -> Vec<TurnAction> {
        self.visible = visible;
        self.go_if_free()
    }

    /// Its run started or resumed at `at` (ms since the epoch), for whatever reason.
    pub fn started(&mut self, at: f64) -> Vec<TurnAction> {
        if self.training_since.is_some() {
            return Vec::new();
        }
        self.training_since = Some(at);
        self.waiting = false;
        self.yielded = false;
        vec![TurnAction::Post(TurnMessage::Training {
            id: self.id.clone(),
            at,
        })]
    }

    /// Its run paused, finished or closed.
    pub fn stopped(&mut self) -> Vec<TurnAction> {
        if self.training_since.take().is_none() {
            return Vec::new();
        }
        vec![TurnAction::Post(TurnMessage::Idle {
            id: self.id.clone(),
        })]
    }

    /// A message from another figure.
    pub fn received(&mut self, message: TurnMessage) -> Vec<TurnAction> {
        match message {
            TurnMessage::Hello { id } if id != self.id => match self.training_since {
                Some(at) => vec![TurnAction::Post(TurnMessage::Training {
                    id: self.id.clone(),
                    at,
                })],
                None => Vec::new(),
            },
            TurnMessage::Training { id, at } if id != self.id => {
                self.others.insert(id.clone(), at);
                match self.training_since {
                    // The later start wins; the earlier one pauses and waits.
                    Some(mine) if (at, id.as_str()) > (mine, self.id.as_str()) => {
                        self.waiting = true;
                        self.yielded = true;
                        vec![TurnAction::Yield]
                    }
                    _ => Vec::new(),
                }
            }
            TurnMessage::Idle { id } if id != self.id => {
                self.others.remove(&id);
                self.go_if_free()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures on one page: every posted message reaches every other figure, and a
    /// Go or Yield takes effect at once (a run starts, resumes or pauses).
    struct Page {
        figures: Vec<Turns>,
        clock: f64,
    }

    impl Page {
        fn new(autoplay: &[bool]) -> Self {
            let mut page = Page {
                figures: Vec::new(),
                clock: 0.0,
            };
            for (i, a) in autoplay.iter().enumerate() {
                let (t, hello) = Turns::new(format!("f{i}"), *a);
                page.figures.push(t);
                page.deliver(i, vec![TurnAction::Post(hello)]);
            }
            page
        }

        fn deliver(&mut self, from: usize, actions: Vec<TurnAction>) {
            let mut queue: Vec<(usize, TurnAction)> =
                actions.into_iter().map(|a| (from, a)).collect();
            while let Some((i, a)) = queue.pop() {
                let more: Vec<(usize, TurnAction)> = match a {
                    TurnAction::Post(m) => (0..self.figures.len())
                        .filter(|&j| j != i)
                        .flat_map(|j| {
                            self.figures[j]
                                .received(m.clone())
                                .into_iter()
                                .map(move |a| (j, a))
                        })
                        .collect(),
                    TurnAction::Go => {
                        self.clock += 1.0;
                        let at = self.clock;
                        self.figures[i]
                            .started(at)
                            .into_iter()
                            .map(|a| (i, a))
                            .collect()
                    }
                    TurnAction::Yield => self.figures[i]
                        .stopped()
                        .into_iter()
                        .map(|a| (i, a))
                        .collect(),
                };
                queue.extend(more);
            }
        }

        fn show(&mut self, i: usize, visible: bool) {
            let a = self.figures[i].visible(visible);
            self.deliver(i, a);
        }

        fn click_train(&mut self, i: usize) {
            self.clock += 1.0;
            let a = self.figures[i].started(self.clock);
            self.deliver(i, a);
        }

        fn finish(&mut self, i: usize) {
            let a = self.figures[i].stopped();
            self.deliver(i, a);
        }

        fn training(&self) -> Vec<usize> {
            (0..self.figures.len())
                .filter(|&i| self.figures[i].training_since.is_some())
                .collect()
        }
    }

    #[test]
    fn an_autoplay_figure_starts_only_when_shown() {
        let mut p = Page::new(&[true]);
        assert!(p.training().is_empty(), "not on screen yet");
        p.show(0, true);
        assert_eq!(p.training(), [0]);
        // A figure without autoplay waits for the reader.
        let mut p = Page::new(&[false]);
        p.show(0, true);
        assert!(p.training().is_empty());
    }

    #[test]
    fn two_autoplay_figures_on_screen_train_one_after_the_other() {
        let mut p = Page::new(&[true, true]);
        p.show(0, true);
        assert!(
            !p.figures[1].waits_for_another(),
            "off screen: waiting for the reader"
        );
        p.show(1, true);
        assert_eq!(p.training(), [0], "the second waits for the first");
        assert!(
            !p.figures[1].yielded(),
            "it never started: waiting, not paused"
        );
        assert!(p.figures[1].waits_for_another() && !p.figures[0].waits_for_another());
        p.finish(0);
        assert_eq!(p.training(), [1], "then it goes");
        p.finish(1);
        assert!(p.training().is_empty());
    }

    #[test]
    fn a_reader_starting_a_figure_pauses_the_one_training_which_goes_on_after() {
        let mut p = Page::new(&[true, false]);
        p.show(0, true);
        p.show(1, true);
        assert_eq!(p.training(), [0]);
        p.click_train(1);
        assert_eq!(p.training(), [1], "the later start wins");
        assert!(p.figures[0].yielded(), "the first says why it paused");
        p.finish(1);
        assert_eq!(p.training(), [0], "and resumes after");
        assert!(!p.figures[0].yielded());
    }

    #[test]
    fn starts_at_the_same_moment_settle_on_one_without_a_referee() {
        // Both started before either heard of the other.
        let (mut a, _) = Turns::new("a", true);
        let (mut b, _) = Turns::new("b", true);
        let ma = a.started(5.0);
        let mb = b.started(5.0);
        let TurnAction::Post(ma) = &ma[0] else {
            panic!()
        };
        let TurnAction::Post(mb) = &mb[0] else {
            panic!()
        };
        let ra = a.received(mb.clone());
        let rb = b.received(ma.clone());
        // Same time: the larger id wins, and both agree on it.
        assert_eq!(ra, [TurnAction::Yield]);
        assert!(rb.is_empty());
    }

    #[test]
    fn a_figure_opened_late_learns_who_trains_and_waits() {
        let mut p = Page::new(&[true]);
        p.show(0, true);
        let (late, hello) = Turns::new("late", true);
        p.figures.push(late);
        p.deliver(1, vec![TurnAction::Post(hello)]);
        p.show(1, true);
        assert_eq!(p.training(), [0]);
        p.finish(0);
        assert_eq!(p.training(), [1]);
        // Messages round-trip as the channel carries them.
        let m = TurnMessage::Training {
            id: "x".into(),
            at: 1.5,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"type":"training","id":"x","at":1.5}"#);
        assert_eq!(serde_json::from_str::<TurnMessage>(&json).unwrap(), m);
    }
}

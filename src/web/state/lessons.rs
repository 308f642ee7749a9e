//! The lessons: the list (www/lessons/), the open one, and the reader's progress.

use std::rc::Rc;

use crate::web::lessons::{Lesson, LessonProgress, Progress as LessonProgressMap};

/// The lessons as the page knows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lessons {
    /// In teaching order.
    pub list: Vec<Rc<Lesson>>,
    /// The lesson files that failed to load, with why.
    pub errors: Vec<String>,
    /// The open lesson's id (`lesson=` in the URL).
    pub open: Option<String>,
    /// The link asked for the lesson's own experiment (set once the lessons load).
    pub fresh: bool,
    /// The lesson index is open.
    pub show_index: bool,
    /// Progress in every lesson (localStorage).
    pub progress: LessonProgressMap,
}

/// What happens to the lessons.
#[derive(Debug)]
pub enum LessonAction {
    /// `www/lessons/` was read: the lessons and the files that failed.
    Loaded {
        lessons: Vec<Rc<Lesson>>,
        errors: Vec<String>,
    },
    /// The reader's progress, read from localStorage.
    ProgressLoaded(LessonProgressMap),
    ShowIndex(bool),
    /// Open a lesson: its experiment goes into the controls.
    Open(String),
    Close,
    /// The "what do you predict?" choice.
    Predict(usize),
    /// A guided step ticked or unticked.
    ToggleStep(usize),
    /// "What to look for" shown.
    Reveal,
}

/// What a lesson action asks of the rest of the page.
#[derive(Debug, PartialEq)]
pub enum LessonEffect {
    None,
    /// Put the open lesson's experiment (and sweep) into the controls.
    Apply,
    /// Tell the reader (an unknown lesson in the link).
    Notice(String),
}

impl Lessons {
    pub fn apply(&mut self, action: LessonAction) -> LessonEffect {
        match action {
            LessonAction::Loaded { lessons, errors } => {
                self.list = lessons;
                self.errors = errors;
                if self.open.is_some() && self.open_lesson().is_none() {
                    let id = self.open.take().unwrap_or_default();
                    return LessonEffect::Notice(format!(
                        "lesson = {id} is not a lesson: one of {}",
                        self.list
                            .iter()
                            .map(|l| l.meta.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                } else if std::mem::take(&mut self.fresh) {
                    return LessonEffect::Apply;
                }
            }
            LessonAction::ProgressLoaded(p) => self.progress = p,
            LessonAction::ShowIndex(show) => self.show_index = show,
            LessonAction::Open(id) => {
                self.open = Some(id);
                self.show_index = false;
                return LessonEffect::Apply;
            }
            LessonAction::Close => self.open = None,
            LessonAction::Predict(choice) => {
                if let Some(p) = self.progress_mut() {
                    p.predicted = Some(choice);
                }
            }
            LessonAction::ToggleStep(i) => {
                if let Some(p) = self.progress_mut()
                    && !p.done.remove(&i)
                {
                    p.done.insert(i);
                }
            }
            LessonAction::Reveal => self.reveal(),
        }
        LessonEffect::None
    }

    /// The open lesson.
    pub fn open_lesson(&self) -> Option<&Rc<Lesson>> {
        let id = self.open.as_ref()?;
        self.list.iter().find(|l| l.meta.id == *id)
    }

    /// The link changed the open lesson (`lesson=`); whether its experiment should
    /// go into the controls now (it waits for the lessons when they have not loaded).
    pub fn follow_link(&mut self, open: Option<String>, fresh: bool) -> bool {
        if open == self.open {
            return false;
        }
        self.open = open;
        self.show_index = false;
        self.fresh = fresh && self.list.is_empty();
        fresh
    }

    /// The lesson's observations open (the reader asked).
    pub fn reveal(&mut self) {
        if let Some(p) = self.progress_mut() {
            p.revealed = true;
        }
    }

    /// A run finished with the lesson open: its observations open, and the verdict
    /// may speak of what was measured.
    pub fn run_finished(&mut self) {
        if let Some(p) = self.progress_mut() {
            p.revealed = true;
            p.ran = true;
        }
    }

    /// The reader's progress in the open lesson.
    fn progress_mut(&mut self) -> Option<&mut LessonProgress> {
        let id = self.open.clone()?;
        Some(self.progress.entry(id).or_default())
    }
}

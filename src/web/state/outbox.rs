//! The reducer's requests to the page (controls for the worker, IndexedDB writes).

use std::rc::Rc;

/// What the reducer asks the page to carry out (controls for the worker, IndexedDB
/// writes), each once and in order. Numbered: the page remembers the next number it
/// has not carried out, so however many are queued between two renders, all
/// arrive. The page works through them right after each render, so only the
/// newest [`Outbox::KEEP`] are kept. Items are shared (`Rc`): the reducer copies
/// the page state on every action, and a queued save may carry a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbox<T> {
    items: std::collections::VecDeque<(u64, Rc<T>)>,
    next: u64,
}

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Self {
            items: Default::default(),
            next: 0,
        }
    }
}

impl<T> Outbox<T> {
    pub const KEEP: usize = 64;

    /// Queues `item`; its number.
    pub fn push(&mut self, item: T) -> u64 {
        let n = self.next;
        self.next += 1;
        self.items.push_back((n, Rc::new(item)));
        if self.items.len() > Self::KEEP {
            self.items.pop_front();
        }
        n
    }

    /// The items numbered `from` or later, in order: what a page that has carried
    /// out everything before `from` still has to do.
    pub fn since(&self, from: u64) -> Vec<(u64, Rc<T>)> {
        self.items
            .iter()
            .filter(|(n, _)| *n >= from)
            .cloned()
            .collect()
    }

    /// The number the next item will get (what a page has caught up to).
    pub fn next_number(&self) -> u64 {
        self.next
    }

    pub fn last(&self) -> Option<(u64, &T)> {
        self.items.back().map(|(n, t)| (*n, t.as_ref()))
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.items.iter().map(|(n, t)| (*n, t.as_ref()))
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

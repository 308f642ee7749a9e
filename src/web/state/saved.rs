//! The saved runs (IndexedDB) as the page shows them, and the writes it queues.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::outbox::Outbox;
use crate::web::runs::{RunRecord, SavedCheckpoint};

/// What happens to the saved runs alone.
#[derive(Debug)]
pub enum SavedAction {
    /// The saved runs were read from IndexedDB.
    Loaded(Vec<RunRecord>),
    /// Reading or writing saved runs failed (the message names why).
    StorageError(String),
    /// IndexedDB confirmed save number `op` of run `id`.
    Confirmed {
        id: String,
        op: u64,
    },
    /// Overlay a saved run's curves, or stop overlaying it.
    Select(String),
    /// Delete pressed: ask first.
    AskDelete(String),
    CancelDelete,
    /// Deletion confirmed.
    Delete(String),
}

/// The saved runs (IndexedDB) as the page shows them: its own part of the page
/// state, with the actions that touch only it ([`SavedRuns::apply`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedRuns {
    /// Saved runs (IndexedDB, without their checkpoints), newest first.
    pub runs: Vec<Rc<RunRecord>>,
    /// The list has been read from IndexedDB.
    pub loaded: bool,
    /// Saved runs whose curves are overlaid.
    pub selected: BTreeSet<String>,
    /// The run whose Delete was pressed: asks before deleting.
    pub confirm_delete: Option<String>,
    /// Why saving or reading runs failed (quota, blocked storage): shown, not swallowed.
    pub storage_error: Option<String>,
    /// What the last import brought and what it could not read.
    pub import_notes: Vec<String>,
    /// IndexedDB operations for the page to carry out, each once, in order.
    pub store_ops: Outbox<StoreOp>,
    /// Runs whose latest save has not been confirmed by IndexedDB yet, with the
    /// number of that save (an earlier save's confirmation does not count).
    pub unsaved: BTreeMap<String, u64>,
}

impl SavedRuns {
    /// Queues an IndexedDB operation.
    pub(super) fn store(&mut self, op: StoreOp) {
        if let StoreOp::Put { record, .. } = &op {
            self.unsaved
                .insert(record.id.clone(), self.store_ops.next_number());
        }
        self.store_ops.push(op);
    }

    /// Adds or replaces a saved run in the table (newest first).
    pub(super) fn upsert(&mut self, mut record: RunRecord) {
        record.checkpoint = None;
        self.runs.retain(|r| r.id != record.id);
        self.runs.insert(0, Rc::new(record));
    }

    /// The saved runs' own actions.
    pub fn apply(&mut self, action: SavedAction) {
        match action {
            SavedAction::Loaded(runs) => {
                let mut runs: Vec<Rc<RunRecord>> = runs.into_iter().map(Rc::new).collect();
                runs.sort_by(|a, b| b.saved_ms.total_cmp(&a.saved_ms));
                // Runs saved while the list was loading stay.
                for r in std::mem::take(&mut self.runs) {
                    if !runs.iter().any(|x| x.id == r.id) {
                        runs.insert(0, r);
                    }
                }
                self.runs = runs;
                self.loaded = true;
            }
            SavedAction::StorageError(e) => self.storage_error = Some(e),
            SavedAction::Confirmed { id, op } => {
                if self.unsaved.get(&id) == Some(&op) {
                    self.unsaved.remove(&id);
                }
            }
            SavedAction::Select(id) => {
                if !self.selected.remove(&id) {
                    self.selected.insert(id);
                }
            }
            SavedAction::AskDelete(id) => self.confirm_delete = Some(id),
            SavedAction::CancelDelete => self.confirm_delete = None,
            SavedAction::Delete(id) => {
                self.confirm_delete = None;
                self.runs.retain(|r| r.id != id);
                self.selected.remove(&id);
                self.store(StoreOp::Delete(id));
            }
        }
    }
}

/// An IndexedDB operation the page carries out for the reducer (`SavedRuns::store_ops`).
#[derive(Clone, Debug, PartialEq)]
pub enum StoreOp {
    /// Save or replace a run (without its checkpoint) and, when given, its checkpoint.
    Put {
        record: Box<RunRecord>,
        checkpoint: Option<Box<SavedCheckpoint>>,
    },
    Delete(String),
}

//! Saved runs in the browser's IndexedDB (through the `idb` crate): database
//! `icl-lab`, store `runs` (each [`RunRecord`] as JSON text, without its checkpoint,
//! so the runs table loads fast) and store `checkpoints` (the [`SavedCheckpoint`] of
//! a run, same key). Errors come back as sentences for the page to show; a full
//! storage quota says so and what to do.

use idb::{Database, DatabaseEvent, Error, Factory, ObjectStoreParams, Query, TransactionMode};
use wasm_bindgen::JsValue;

use super::runs::{RunRecord, SavedCheckpoint};

const DB: &str = "icl-lab";
const VERSION: u32 = 1;
const RUNS: &str = "runs";
const CHECKPOINTS: &str = "checkpoints";

/// A sentence for an IndexedDB failure while `doing` something.
fn explain(doing: &str, e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    if text.contains("QuotaExceeded") || text.to_lowercase().contains("quota") {
        format!(
            "{doing} failed: this site's browser storage is full (QuotaExceededError). \
             Export the runs you want to keep, then delete some in the runs table."
        )
    } else {
        format!("{doing} failed: {text}")
    }
}

/// What the page says when the browser gives it no IndexedDB at all (a private
/// window, storage blocked for the site): training goes on, nothing is saved.
pub const SAVING_OFF: &str = "Saving is off: this browser gives the page no storage \
     (IndexedDB is not available, e.g. in a private window or with site data blocked). \
     Runs still train here; export the ones you want to keep.";

async fn open() -> Result<Database, String> {
    let factory = Factory::new().map_err(|e| format!("{SAVING_OFF} ({e})"))?;
    let mut request = factory
        .open(DB, Some(VERSION))
        .map_err(|e| format!("{SAVING_OFF} ({e})"))?;
    request.on_upgrade_needed(|event| {
        if let Ok(db) = event.database() {
            for name in [RUNS, CHECKPOINTS] {
                if !db.store_names().iter().any(|n| n == name) {
                    let _ = db.create_object_store(name, ObjectStoreParams::new());
                }
            }
        }
    });
    request
        .await
        .map_err(|e| explain("Opening the saved runs", e))
}

/// Every saved run, without checkpoints. Records this version cannot read are
/// skipped and named in the second list.
pub async fn load_runs() -> Result<(Vec<RunRecord>, Vec<String>), String> {
    let db = open().await?;
    let tx = db
        .transaction(&[RUNS], TransactionMode::ReadOnly)
        .map_err(|e| explain("Reading the saved runs", e))?;
    let store = tx
        .object_store(RUNS)
        .map_err(|e| explain("Reading the saved runs", e))?;
    let values = store
        .get_all(None, None)
        .map_err(|e| explain("Reading the saved runs", e))?
        .await
        .map_err(|e| explain("Reading the saved runs", e))?;
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    for v in values {
        let text = v.as_string().unwrap_or_default();
        match serde_json::from_str::<RunRecord>(&text) {
            Ok(r) => runs.push(r),
            Err(e) => unreadable.push(format!("a saved run could not be read ({e})")),
        }
    }
    db.close();
    Ok((runs, unreadable))
}

/// Saves (or replaces) a run, and its checkpoint when given, in one transaction.
pub async fn put(record: &RunRecord, checkpoint: Option<&SavedCheckpoint>) -> Result<(), String> {
    let doing = format!("Saving run “{}”", record.name);
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[RUNS, CHECKPOINTS], TransactionMode::ReadWrite)?;
        let key = JsValue::from_str(&record.id);
        let text = serde_json::to_string(record).unwrap_or_default();
        tx.object_store(RUNS)?
            .put(&JsValue::from_str(&text), Some(&key))?
            .await?;
        if let Some(c) = checkpoint {
            let text = serde_json::to_string(c).unwrap_or_default();
            tx.object_store(CHECKPOINTS)?
                .put(&JsValue::from_str(&text), Some(&key))?
                .await?;
        }
        Ok::<bool, Error>(tx.commit()?.await?.is_aborted())
    }
    .await;
    db.close();
    match result {
        Ok(false) => Ok(()),
        // A transaction aborted without a failed request: the browser refused the
        // write as a whole, which in practice is a full quota.
        Ok(true) => Err(format!(
            "{doing} failed: the browser aborted the write (most often because this site's \
             storage is full). Export the runs you want to keep, then delete some in the runs table."
        )),
        Err(e) => Err(explain(&doing, e)),
    }
}

/// Deletes a run and its checkpoint.
pub async fn delete(id: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[RUNS, CHECKPOINTS], TransactionMode::ReadWrite)?;
        for name in [RUNS, CHECKPOINTS] {
            tx.object_store(name)?
                .delete(Query::Key(JsValue::from_str(id)))?
                .await?;
        }
        tx.commit()?.await?;
        Ok::<(), Error>(())
    }
    .await;
    db.close();
    result.map_err(|e| explain("Deleting the run", e))
}

/// A run's checkpoint, if one is stored.
pub async fn checkpoint(id: &str) -> Result<Option<SavedCheckpoint>, String> {
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[CHECKPOINTS], TransactionMode::ReadOnly)?;
        let v = tx
            .object_store(CHECKPOINTS)?
            .get(Query::Key(JsValue::from_str(id)))?
            .await?;
        Ok::<Option<JsValue>, Error>(v)
    }
    .await;
    db.close();
    let value = result.map_err(|e| explain("Reading the checkpoint", e))?;
    value
        .and_then(|v| v.as_string())
        .map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| format!("the stored checkpoint could not be read: {e}"))
        })
        .transpose()
}

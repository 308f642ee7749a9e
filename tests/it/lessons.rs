//! Every lesson listed in www/lessons/index.json parses, names a preset that exists,
//! and its overrides, sweep and answer are valid: adding a lesson is adding a file
//! (and a line in the index), and this test is what checks it.

use std::fs;
use std::path::Path;

use icl_lab::web::lessons::Lesson;

#[test]
fn every_listed_lesson_is_valid_and_every_file_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/lessons");
    let index: Vec<String> =
        serde_json::from_str(&fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    assert!(
        index.len() >= 10,
        "one lesson per experiment family: {index:?}"
    );
    let mut ids = Vec::new();
    let mut families = std::collections::BTreeSet::new();
    for file in &index {
        let text = fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let lesson = Lesson::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        lesson.check().unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            format!("{}.md", lesson.meta.id),
            *file,
            "the id is the file name"
        );
        assert!(
            lesson.steps_html.len() >= 3,
            "{file}: at least three guided steps"
        );
        // The question comes before the background, so it must stand on its own:
        // short enough to read at a glance.
        assert!(
            lesson.meta.question.len() <= 320,
            "{file}: the question is {} characters",
            lesson.meta.question.len()
        );
        // Every formula typesets (a LaTeX error would show as <merror>).
        for html in [&lesson.intro_html, &lesson.look_for_html]
            .into_iter()
            .chain(&lesson.steps_html)
        {
            assert!(!html.contains("merror"), "{file}: a formula does not parse");
        }
        families.insert(lesson.meta.family.clone());
        ids.push(lesson.meta.id);
    }
    assert_eq!(
        families.len(),
        index.len(),
        "one lesson per family: {families:?}"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), index.len(), "ids are unique");
    // A lesson file that is not in the index would never be shown.
    for entry in fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            assert!(index.contains(&name), "{name} is not listed in index.json");
        }
    }
}

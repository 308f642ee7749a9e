//! Probes of a classification run: does the model learn in context, in its weights,
//! or both — and when they disagree, which does it follow?
//!
//! Each probe is a fixed set of held-out sequences (seeded from the evaluation
//! stream, the same at every evaluation of a run) and a rule for the right answer:
//!
//! | probe | sequences | right answer | solvable by |
//! |---|---|---|---|
//! | `icl` | novel classes, bursty context | the query's label in the context | ICL only |
//! | `in_weights` | training classes, query class absent from the context | its trained label | weights only |
//! | `flipped_context` | training classes, bursty, every class shown with another label | the label the context shows | ICL |
//! | `flipped_prior` | the same sequences | the trained label | weights |
//!
//! Chance is 1/L. The classical peers [`ContextNearest`] (an ideal in-context learner)
//! and [`ClassLookup`] (an ideal memoriser) are scored on the same sequences.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::baselines::{ClassLookup, ContextNearest, SequenceClassifier};
use crate::config::Experiment;
use crate::seeds::{rng_for, streams};
use crate::tasks::ClassWorld;
use crate::tasks::classification::{ClassSequence, SequenceKind};

/// Mean and standard error of a 0/1 score.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub mean: f64,
    pub stderr: f64,
}

/// One probe's accuracy for the model and each peer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProbeResult {
    /// `icl`, `in_weights`, `flipped_context` or `flipped_prior`.
    pub name: String,
    /// 1/L: guessing a label.
    pub chance: f64,
    /// predictor (`model`, `context_nearest`, `class_lookup`) → accuracy.
    pub scores: BTreeMap<String, Score>,
}

/// The probes, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    Icl,
    InWeights,
    FlippedContext,
    FlippedPrior,
}

impl Probe {
    pub const ALL: [Probe; 4] = [
        Probe::Icl,
        Probe::InWeights,
        Probe::FlippedContext,
        Probe::FlippedPrior,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Probe::Icl => "icl",
            Probe::InWeights => "in_weights",
            Probe::FlippedContext => "flipped_context",
            Probe::FlippedPrior => "flipped_prior",
        }
    }

    /// Which held-out sequences the probe uses.
    pub fn kind(self) -> SequenceKind {
        match self {
            Probe::Icl => SequenceKind::NovelBursty,
            Probe::InWeights => SequenceKind::QueryAbsent,
            Probe::FlippedContext | Probe::FlippedPrior => SequenceKind::FlippedLabels,
        }
    }

    /// The right answer for a sequence under this probe.
    pub fn answer(self, seq: &ClassSequence, world: &ClassWorld) -> usize {
        match self {
            Probe::FlippedPrior => world
                .trained_label(seq.query_class())
                .expect("flipped sequences use training classes"),
            _ => seq.query_label(),
        }
    }
}

/// The sets of held-out sequences, each drawn once per run.
pub struct ProbePlan {
    world: ClassWorld,
    /// One set per distinct [`SequenceKind`] used by the probes.
    sets: Vec<(SequenceKind, Vec<ClassSequence>)>,
    /// peer → (probe → score), fixed for the run.
    peers: Vec<(String, Vec<Score>)>,
}

impl ProbePlan {
    pub fn new(exp: &Experiment, world: &ClassWorld) -> Self {
        let mut sets: Vec<(SequenceKind, Vec<ClassSequence>)> = Vec::new();
        for p in Probe::ALL {
            let kind = p.kind();
            if sets.iter().any(|(k, _)| *k == kind) {
                continue;
            }
            let mut rng = rng_for(exp.seed, streams::EVAL * 16 + 8 + sets.len() as u64);
            let seqs = (0..exp.eval.prompts)
                .map(|_| world.sample(kind, &mut rng))
                .collect();
            sets.push((kind, seqs));
        }
        let mut plan = Self {
            world: world.clone(),
            sets,
            peers: Vec::new(),
        };
        let mut peers: Vec<Box<dyn SequenceClassifier>> = vec![Box::new(ContextNearest)];
        if let Some(lookup) = ClassLookup::new(world) {
            peers.push(Box::new(lookup));
        }
        plan.peers = peers
            .iter()
            .map(|c| {
                let answers: Vec<Vec<usize>> = plan
                    .sequences()
                    .map(|seqs| seqs.iter().map(|s| c.classify(s)).collect())
                    .collect();
                (c.name(), plan.scores(&answers))
            })
            .collect();
        plan
    }

    /// The ICL probe's sequences (novel classes, bursty: the query's class is in
    /// the context): what the mechanism lens measures the heads on.
    pub fn icl_sequences(&self) -> &[ClassSequence] {
        &self.sets[0].1
    }

    /// The held-out sequence sets, in order; answer each with one label per sequence.
    pub fn sequences(&self) -> impl Iterator<Item = &[ClassSequence]> {
        self.sets.iter().map(|(_, s)| s.as_slice())
    }

    /// Accuracy of answers (one label per sequence of each set, in the order of
    /// [`ProbePlan::sequences`]) under every probe.
    fn scores(&self, answers: &[Vec<usize>]) -> Vec<Score> {
        Probe::ALL
            .iter()
            .map(|&p| {
                let i = self
                    .sets
                    .iter()
                    .position(|(k, _)| *k == p.kind())
                    .expect("every probe has its set");
                let right: Vec<f64> = self.sets[i]
                    .1
                    .iter()
                    .zip(&answers[i])
                    .map(|(s, &a)| f64::from(u8::from(a == p.answer(s, &self.world))))
                    .collect();
                score(&right)
            })
            .collect()
    }

    /// The probe results for the model's answers and the peers'.
    pub fn report(&self, model: &[Vec<usize>]) -> Vec<ProbeResult> {
        let model_scores = self.scores(model);
        Probe::ALL
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut scores = BTreeMap::new();
                scores.insert("model".to_string(), model_scores[i]);
                for (name, s) in &self.peers {
                    scores.insert(name.clone(), s[i]);
                }
                ProbeResult {
                    name: p.name().into(),
                    chance: 1.0 / self.world.cfg.labels as f64,
                    scores,
                }
            })
            .collect()
    }
}

/// Mean and standard error of 0/1 outcomes.
fn score(right: &[f64]) -> Score {
    let n = right.len().max(1) as f64;
    let mean = right.iter().sum::<f64>() / n;
    let var = right.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    Score {
        mean,
        stderr: (var / n).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{ClassificationConfig, TaskFamilyConfig};

    fn setup() -> (Experiment, ClassWorld) {
        let mut e = Experiment::default();
        e.task.family = TaskFamilyConfig::Classification(ClassificationConfig {
            classes: 64,
            labels: 16,
            within_class_noise: 0.1,
            ..Default::default()
        });
        e.task.dims = 32;
        e.task.points = 8;
        e.eval.prompts = 400;
        let world = crate::seeds::class_world(&e).unwrap();
        (e, world)
    }

    fn get(r: &[ProbeResult], probe: &str, who: &str) -> f64 {
        r.iter().find(|p| p.name == probe).unwrap().scores[who].mean
    }

    /// The ideal in-context learner and the ideal memoriser score where the probe
    /// definitions say they must.
    #[test]
    fn peers_score_as_the_probe_definitions_predict() {
        let (e, world) = setup();
        let plan = ProbePlan::new(&e, &world);
        // a "model" that always answers label 0
        let zeros: Vec<Vec<usize>> = plan.sequences().map(|s| vec![0; s.len()]).collect();
        let r = plan.report(&zeros);
        assert_eq!(r.len(), 4);
        assert!((r[0].chance - 1.0 / 16.0).abs() < 1e-12);
        let ctx = |p| get(&r, p, "context_nearest");
        let look = |p| get(&r, p, "class_lookup");
        assert!(ctx("icl") > 0.95, "{}", ctx("icl"));
        assert!(ctx("flipped_context") > 0.95);
        assert!(ctx("flipped_prior") < 0.05);
        assert!(ctx("in_weights") < 0.2, "{}", ctx("in_weights"));
        assert!(look("in_weights") > 0.95);
        assert!(look("flipped_prior") > 0.95);
        assert!(look("flipped_context") < 0.05);
        assert!(look("icl") < 0.2, "{}", look("icl"));
        // a constant answer is near chance on novel classes (labels are random)
        let m = get(&r, "icl", "model");
        assert!(m < 0.15, "{m}");
    }

    /// With Kirsch's tasks the memoriser knows every class of every pool task (so it
    /// answers the in-weights probe and the trained label of flipped sequences), the
    /// in-context peer answers new tasks; past the lookup's limit there is no
    /// memoriser rather than a partial one.
    #[test]
    fn with_tasks_the_memoriser_knows_every_pool_task() {
        let (mut e, _) = setup();
        e.task.family = TaskFamilyConfig::Classification(ClassificationConfig {
            classes: 16,
            labels: 32,
            burstiness: 2,
            tasks: Some(8),
            ..Default::default()
        });
        let world = crate::seeds::class_world(&e).unwrap();
        let plan = ProbePlan::new(&e, &world);
        let zeros: Vec<Vec<usize>> = plan.sequences().map(|s| vec![0; s.len()]).collect();
        let r = plan.report(&zeros);
        let look = |p| get(&r, p, "class_lookup");
        let ctx = |p| get(&r, p, "context_nearest");
        assert!(look("in_weights") > 0.95, "{}", look("in_weights"));
        assert!(look("flipped_prior") > 0.95);
        assert!(look("icl") < 0.2, "{}", look("icl"));
        assert!(ctx("icl") > 0.95, "{}", ctx("icl"));
        assert!(ctx("flipped_context") > 0.95);

        e.task.family = TaskFamilyConfig::Classification(ClassificationConfig {
            classes: 16,
            labels: 32,
            burstiness: 2,
            tasks: Some(1 << 20),
            ..Default::default()
        });
        let world = crate::seeds::class_world(&e).unwrap();
        let plan = ProbePlan::new(&e, &world);
        let zeros: Vec<Vec<usize>> = plan.sequences().map(|s| vec![0; s.len()]).collect();
        let r = plan.report(&zeros);
        assert!(r[0].scores.contains_key("context_nearest"));
        assert!(!r[0].scores.contains_key("class_lookup"));
    }

    #[test]
    fn answers_are_scored_against_the_right_label() {
        let (e, world) = setup();
        let plan = ProbePlan::new(&e, &world);
        // Answer with the sequence's query label: right on icl, in_weights and
        // flipped_context, wrong on flipped_prior (where the shown label is never
        // the trained one).
        let truth: Vec<Vec<usize>> = plan
            .sequences()
            .map(|s| s.iter().map(|q| q.query_label()).collect())
            .collect();
        let r = plan.report(&truth);
        assert_eq!(get(&r, "icl", "model"), 1.0);
        assert_eq!(get(&r, "in_weights", "model"), 1.0);
        assert_eq!(get(&r, "flipped_context", "model"), 1.0);
        assert_eq!(get(&r, "flipped_prior", "model"), 0.0);
        assert_eq!(r[0].scores["model"].stderr, 0.0);
    }
}

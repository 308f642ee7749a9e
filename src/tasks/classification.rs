//! Few-shot classification sequences after Chan et al. 2022 and Reddy 2023: the data
//! whose *distributional properties* decide whether a model learns in context or in
//! its weights.
//!
//! K classes, each a prototype μ_k ~ N(0, I/D) with a fixed label in 0..L (the
//! [`ClassWorld`], drawn once per run from its own stream). An item of class k is
//! (μ_k + ε η)/√(1 + ε²) with η ~ N(0, I/D), so ε is the within-class variation and
//! every item has about unit norm. Class frequencies follow a Zipf law p(k) ∝ (k+1)^−α.
//!
//! A sequence holds N exemplar–label pairs and a query. With probability p_bursty it
//! is *bursty*: the context is N/B classes with B copies each, one of them the query's
//! class. Otherwise the N context classes are drawn independently from the Zipf law.
//! With probability p_novel a (bursty) sequence uses novel classes — fresh prototypes
//! with random distinct labels — that only the context can explain.
//!
//! With `tasks = M` (Kirsch et al. 2022) the K classes are the *base* data of M tasks:
//! task t projects every item by its own random matrix A_t (D × D, entries N(0, 1/D))
//! and relabels by its own permutation π_t of the L labels, so class c of task t is
//! seen as A_t x with label π_t(label c). A sequence comes from one task: a pool task,
//! or, with probability p_novel, a task never seen (M = ∞ is p_novel = 1). A task is
//! drawn from its own seed when a sequence needs it, so a pool of any size costs no
//! memory. Few tasks can be memorised; many leave in-context learning as the only
//! general solution: Kirsch's transition from memorisation to learning-to-learn.

use nalgebra::{DMatrix, DVector};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal, weighted::WeightedAliasIndex};
use serde::{Deserialize, Serialize};

use crate::IclRng;
use crate::batch::{Batch, Targets};
use crate::check::Checker;

/// The classification family's parameters (`task.family` with `kind = "classification"`).
/// The input dimension D is `task.dims` and the context length N is `task.points`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClassificationConfig {
    /// K, the number of training classes. Many classes (most of them rare) is what
    /// makes memorising every class expensive and ICL worth learning (Chan, Reddy).
    /// 512 keeps a browser-scale run in the regime where ICL can appear.
    pub classes: usize,
    /// L, the number of labels classes map to. Reddy uses 32.
    pub labels: usize,
    /// ε, the within-class variation. Reddy: larger ε favours ICL; 0.1 keeps items of
    /// one class recognisably alike.
    pub within_class_noise: f64,
    /// α, the Zipf exponent of class frequencies; 0 = uniform. α ≈ 1 lets ICL and
    /// in-weights learning coexist (Chan).
    pub zipf: f64,
    /// B, copies of each class in a bursty context (a divisor of N). Reddy: 4 of 8.
    pub burstiness: usize,
    /// Fraction of training sequences that are bursty. 0.9 is Chan's "mostly bursty".
    pub p_bursty: f64,
    /// Fraction of training sequences whose classes are novel (fresh prototypes and
    /// labels): Reddy's p_C. 0 = ICL must emerge from bursty sequences of training
    /// classes alone.
    pub p_novel: f64,
    /// M, Kirsch's number of tasks (see the module note): each a random projection of
    /// the items and a permutation of the labels. Empty (the default): no projections,
    /// the classes as drawn (Chan, Reddy). With tasks set, p_novel is the fraction of
    /// sequences from a task never seen, and the K classes get distinct labels
    /// (class c has label c mod L) before each task permutes them.
    pub tasks: Option<u64>,
}

impl Default for ClassificationConfig {
    fn default() -> Self {
        Self {
            classes: 512,
            labels: 32,
            within_class_noise: 0.1,
            zipf: 0.0,
            burstiness: 4,
            p_bursty: 0.9,
            p_novel: 0.0,
            tasks: None,
        }
    }
}

/// Limits of the classification parameters.
pub mod limits {
    pub const CLASSES: usize = 1 << 20;
    pub const LABELS: usize = 1024;
    /// Kirsch's task count: tasks are drawn from their seeds, so only the count's
    /// type bounds it; 2⁴⁰ is more tasks than any run sees sequences.
    pub const TASKS: u64 = 1 << 40;
}

impl ClassificationConfig {
    pub(crate) fn validate(&self, dims: usize, points: usize, c: &mut Checker) {
        let _ = dims;
        c.range_usize("task.family.classes", self.classes, 2, limits::CLASSES);
        c.range_usize("task.family.labels", self.labels, 2, limits::LABELS);
        c.range_f64(
            "task.family.within_class_noise",
            self.within_class_noise,
            0.0,
            10.0,
        );
        c.range_f64("task.family.zipf", self.zipf, 0.0, 5.0);
        if self.burstiness == 0 || points == 0 || !points.is_multiple_of(self.burstiness) {
            let divisors: Vec<String> = (1..=points.max(1))
                .filter(|b| points.is_multiple_of(*b))
                .map(|b| b.to_string())
                .collect();
            c.fail(
                "task.family.burstiness",
                self.burstiness,
                format!(
                    "a divisor of task.points ({points}): {}",
                    divisors.join(", ")
                ),
            );
        }
        c.range_f64("task.family.p_bursty", self.p_bursty, 0.0, 1.0);
        c.range_f64("task.family.p_novel", self.p_novel, 0.0, 1.0);
        if let Some(m) = self.tasks
            && !(1..=limits::TASKS).contains(&m)
        {
            c.fail(
                "task.family.tasks",
                m,
                format!(
                    "an integer in 1..={} (empty: no tasks; every sequence from a new task: p_novel = 1)",
                    limits::TASKS
                ),
            );
        }
    }

    /// Classes in a bursty context: N/B.
    pub fn context_classes(&self, points: usize) -> usize {
        (points / self.burstiness.max(1)).max(1)
    }
}

/// The K training classes of a run: prototypes, labels and Zipf frequencies.
#[derive(Clone, Debug)]
pub struct ClassWorld {
    /// [K, D]
    pub prototypes: DMatrix<f64>,
    /// [K]: the label of each class.
    pub labels: Vec<usize>,
    /// [K]: p(k) ∝ (k+1)^−α, normalised.
    pub frequencies: Vec<f64>,
    sampler: WeightedAliasIndex<f64>,
    pub cfg: ClassificationConfig,
    pub dims: usize,
    /// N, context pairs per sequence.
    pub points: usize,
    /// The seed every pool task is drawn from (task t: its stream t), with `tasks`.
    task_seed: u64,
}

/// One of Kirsch's tasks: a projection of the items and a permutation of the labels.
#[derive(Clone, Debug)]
pub struct Task {
    /// [D, D], entries N(0, 1/D): a projected item keeps about unit norm.
    pub projection: DMatrix<f64>,
    /// [L]: label l is shown as permutation[l].
    pub permutation: Vec<usize>,
}

/// How one sequence sees the classes: as drawn, or through a task.
struct Frame {
    task: Option<(Task, Option<u64>)>,
}

impl Frame {
    const AS_DRAWN: Frame = Frame { task: None };

    fn label(&self, world: &ClassWorld, class: usize) -> usize {
        match &self.task {
            None => world.labels[class],
            Some((t, _)) => t.permutation[world.labels[class]],
        }
    }

    fn origin(&self, class: usize) -> ClassOrigin {
        match &self.task {
            None => ClassOrigin::Train(class),
            Some((_, Some(task))) => ClassOrigin::Task { task: *task, class },
            Some((_, None)) => ClassOrigin::Novel,
        }
    }

    fn project(&self, item: DVector<f64>) -> DVector<f64> {
        match &self.task {
            None => item,
            Some((t, _)) => &t.projection * item,
        }
    }
}

/// Where a sequence's classes came from (what the probes need to know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassOrigin {
    /// A training class: its index in the world.
    Train(usize),
    /// Class `class` of pool task `task` (with `tasks`).
    Task { task: u64, class: usize },
    /// A novel class made for this sequence.
    Novel,
}

/// N exemplar–label pairs and a query.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassSequence {
    /// [N + 1, D]: the context items, then the query (last row).
    pub items: DMatrix<f64>,
    /// [N + 1]: the label of every item; the last is the query's, the target.
    pub labels: Vec<usize>,
    /// [N + 1]: the class of every item.
    pub classes: Vec<ClassOrigin>,
}

impl ClassSequence {
    /// N.
    pub fn context_len(&self) -> usize {
        self.labels.len() - 1
    }
    pub fn query_label(&self) -> usize {
        *self.labels.last().expect("a sequence has a query")
    }
    pub fn query_class(&self) -> ClassOrigin {
        *self.classes.last().expect("a sequence has a query")
    }
}

/// Held-out sequence kinds used to probe what the model learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceKind {
    /// A training sequence: bursty with p_bursty, novel with p_novel.
    Train,
    /// Novel classes, bursty context: only ICL can answer.
    NovelBursty,
    /// Training classes; the query's class is absent from the context: only the
    /// weights can answer.
    QueryAbsent,
    /// Training classes, bursty context, every context class shown with a label other
    /// than its trained one (consistent within the sequence): does the model follow
    /// the context or its prior?
    FlippedLabels,
}

impl ClassWorld {
    pub fn new(cfg: &ClassificationConfig, dims: usize, points: usize, rng: &mut IclRng) -> Self {
        let k = cfg.classes;
        let scale = 1.0 / (dims as f64).sqrt();
        let prototypes = DMatrix::from_fn(k, dims, |_, _| {
            scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
        });
        let mut labels: Vec<usize> = (0..k).map(|_| rng.random_range(0..cfg.labels)).collect();
        if cfg.tasks.is_some() {
            // Distinct labels where K ≤ L: a task's permutation then gives its classes
            // distinct labels too.
            labels = (0..k).map(|c| c % cfg.labels).collect();
        }
        let weights: Vec<f64> = (0..k).map(|i| ((i + 1) as f64).powf(-cfg.zipf)).collect();
        let total: f64 = weights.iter().sum();
        let frequencies: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let sampler = WeightedAliasIndex::new(weights).expect("positive finite weights");
        // Drawn last, and only with tasks, so a run without them draws as before.
        let task_seed = if cfg.tasks.is_some() { rng.random() } else { 0 };
        Self {
            prototypes,
            labels,
            frequencies,
            sampler,
            cfg: cfg.clone(),
            dims,
            points,
            task_seed,
        }
    }

    /// Pool task t (with `tasks`), the same every time it is asked for.
    pub fn task(&self, t: u64) -> Task {
        let mut rng = IclRng::seed_from_u64(self.task_seed);
        rng.set_stream(t);
        self.draw_task(&mut rng)
    }

    fn draw_task(&self, rng: &mut IclRng) -> Task {
        let scale = 1.0 / (self.dims as f64).sqrt();
        let projection = DMatrix::from_fn(self.dims, self.dims, |_, _| {
            scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
        });
        let mut permutation: Vec<usize> = (0..self.cfg.labels).collect();
        permutation.shuffle(rng);
        Task {
            projection,
            permutation,
        }
    }

    /// The label a class was trained with: its own, or its task's (`None` for a novel
    /// class).
    pub fn trained_label(&self, origin: ClassOrigin) -> Option<usize> {
        match origin {
            ClassOrigin::Train(k) => Some(self.labels[k]),
            ClassOrigin::Task { task, class } => {
                Some(self.task(task).permutation[self.labels[class]])
            }
            ClassOrigin::Novel => None,
        }
    }

    /// A training sequence's view of the classes: as drawn, or a uniformly drawn
    /// pool task.
    fn pool_frame(&self, rng: &mut IclRng) -> Frame {
        match self.cfg.tasks {
            None => Frame::AS_DRAWN,
            Some(m) => {
                let t = rng.random_range(0..m);
                Frame {
                    task: Some((self.task(t), Some(t))),
                }
            }
        }
    }

    /// A task never seen in training.
    fn fresh_frame(&self, rng: &mut IclRng) -> Frame {
        Frame {
            task: Some((self.draw_task(rng), None)),
        }
    }

    /// A class drawn from the Zipf law.
    pub fn draw_class(&self, rng: &mut IclRng) -> usize {
        self.sampler.sample(rng)
    }

    /// A class drawn from the Zipf law, different from every class in `not`.
    fn draw_class_except(&self, not: &[usize], rng: &mut IclRng) -> usize {
        // Rejection: `not` holds at most N classes out of K ≥ 2; a very skewed law
        // may reject often, so fall back to a uniform pick of an allowed class.
        for _ in 0..64 {
            let c = self.draw_class(rng);
            if !not.contains(&c) {
                return c;
            }
        }
        let allowed: Vec<usize> = (0..self.cfg.classes).filter(|c| !not.contains(c)).collect();
        allowed[rng.random_range(0..allowed.len())]
    }

    /// An item of a class with prototype `mu`.
    fn item(&self, mu: &DVector<f64>, rng: &mut IclRng) -> DVector<f64> {
        let eps = self.cfg.within_class_noise;
        let scale = 1.0 / (self.dims as f64).sqrt();
        let norm = 1.0 / (1.0 + eps * eps).sqrt();
        DVector::from_fn(self.dims, |i, _| {
            let eta: f64 = StandardNormal.sample(rng);
            norm * (mu[i] + eps * scale * eta)
        })
    }

    fn prototype(&self, class: usize) -> DVector<f64> {
        self.prototypes.row(class).transpose()
    }

    /// One sequence of the given kind.
    pub fn sample(&self, kind: SequenceKind, rng: &mut IclRng) -> ClassSequence {
        let tasks = self.cfg.tasks.is_some();
        match kind {
            SequenceKind::Train => {
                let bursty = rng.random_bool(self.cfg.p_bursty);
                let novel = rng.random_bool(self.cfg.p_novel);
                let frame = match (novel, tasks) {
                    // Novel classes can only be learned from a context that shows them.
                    (true, false) => return self.novel_bursty(rng),
                    // A task never seen: its sequences are built as a pool task's.
                    (true, true) => self.fresh_frame(rng),
                    (false, _) => self.pool_frame(rng),
                };
                if bursty {
                    self.bursty(&frame, rng, false)
                } else {
                    self.iid(&frame, rng)
                }
            }
            SequenceKind::NovelBursty if tasks => {
                let frame = self.fresh_frame(rng);
                self.bursty(&frame, rng, false)
            }
            SequenceKind::NovelBursty => self.novel_bursty(rng),
            SequenceKind::QueryAbsent => {
                let frame = self.pool_frame(rng);
                self.query_absent(&frame, rng)
            }
            SequenceKind::FlippedLabels => {
                let frame = self.pool_frame(rng);
                self.bursty(&frame, rng, true)
            }
        }
    }

    /// Assembles a sequence from (class, label, prototype) per context slot and the
    /// query's, drawing a fresh item for each.
    fn assemble(
        &self,
        frame: &Frame,
        context: &[(ClassOrigin, usize, &DVector<f64>)],
        query: (ClassOrigin, usize, &DVector<f64>),
        rng: &mut IclRng,
    ) -> ClassSequence {
        let n = context.len();
        let mut items = DMatrix::zeros(n + 1, self.dims);
        let mut labels = Vec::with_capacity(n + 1);
        let mut classes = Vec::with_capacity(n + 1);
        for (i, (origin, label, mu)) in context.iter().chain(std::iter::once(&query)).enumerate() {
            items.set_row(i, &frame.project(self.item(mu, rng)).transpose());
            labels.push(*label);
            classes.push(*origin);
        }
        ClassSequence {
            items,
            labels,
            classes,
        }
    }

    /// Context classes iid from the Zipf law; query likewise.
    fn iid(&self, frame: &Frame, rng: &mut IclRng) -> ClassSequence {
        let classes: Vec<usize> = (0..self.points).map(|_| self.draw_class(rng)).collect();
        let query = self.draw_class(rng);
        self.trained(frame, &classes, query, rng)
    }

    /// Training classes with their trained labels: `context` then `query`.
    fn trained(
        &self,
        frame: &Frame,
        context: &[usize],
        query: usize,
        rng: &mut IclRng,
    ) -> ClassSequence {
        let protos: Vec<DVector<f64>> = context.iter().map(|&c| self.prototype(c)).collect();
        let slots: Vec<_> = context
            .iter()
            .zip(&protos)
            .map(|(&c, mu)| (frame.origin(c), frame.label(self, c), mu))
            .collect();
        let pq = self.prototype(query);
        self.assemble(
            frame,
            &slots,
            (frame.origin(query), frame.label(self, query), &pq),
            rng,
        )
    }

    /// N/B distinct training classes, B copies each, shuffled; the query is one of them.
    /// `flip`: each class is shown with a label other than its trained one.
    fn bursty(&self, frame: &Frame, rng: &mut IclRng, flip: bool) -> ClassSequence {
        let m = self.cfg.context_classes(self.points);
        let mut chosen: Vec<usize> = Vec::with_capacity(m);
        chosen.push(self.draw_class(rng));
        while chosen.len() < m.min(self.cfg.classes) {
            let c = self.draw_class_except(&chosen, rng);
            chosen.push(c);
        }
        let shown: Vec<usize> = chosen
            .iter()
            .map(|&c| {
                let trained = frame.label(self, c);
                if flip {
                    // uniform over the other L − 1 labels
                    let r = rng.random_range(0..self.cfg.labels - 1);
                    if r >= trained { r + 1 } else { r }
                } else {
                    trained
                }
            })
            .collect();
        let protos: Vec<DVector<f64>> = chosen.iter().map(|&c| self.prototype(c)).collect();
        let mut slots: Vec<usize> = (0..self.points).map(|i| i % chosen.len()).collect();
        slots.shuffle(rng);
        let context: Vec<_> = slots
            .iter()
            .map(|&j| (frame.origin(chosen[j]), shown[j], &protos[j]))
            .collect();
        // The query's class is the first chosen (drawn from the Zipf law).
        self.assemble(
            frame,
            &context,
            (frame.origin(chosen[0]), shown[0], &protos[0]),
            rng,
        )
    }

    /// N/B novel classes with fresh prototypes and distinct random labels.
    fn novel_bursty(&self, rng: &mut IclRng) -> ClassSequence {
        let m = self.cfg.context_classes(self.points);
        let scale = 1.0 / (self.dims as f64).sqrt();
        let protos: Vec<DVector<f64>> = (0..m)
            .map(|_| {
                DVector::from_fn(self.dims, |_, _| {
                    scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
                })
            })
            .collect();
        let mut all: Vec<usize> = (0..self.cfg.labels).collect();
        all.shuffle(rng);
        let labels: Vec<usize> = (0..m).map(|j| all[j % all.len()]).collect();
        let mut slots: Vec<usize> = (0..self.points).map(|i| i % m).collect();
        slots.shuffle(rng);
        let query = rng.random_range(0..m);
        let context: Vec<_> = slots
            .iter()
            .map(|&j| (ClassOrigin::Novel, labels[j], &protos[j]))
            .collect();
        self.assemble(
            &Frame::AS_DRAWN,
            &context,
            (ClassOrigin::Novel, labels[query], &protos[query]),
            rng,
        )
    }

    /// Training classes; the context's classes never include the query's.
    fn query_absent(&self, frame: &Frame, rng: &mut IclRng) -> ClassSequence {
        let q = self.draw_class(rng);
        let classes: Vec<usize> = (0..self.points)
            .map(|_| self.draw_class_except(&[q], rng))
            .collect();
        self.trained(frame, &classes, q, rng)
    }
}

/// Token layout of classification sequences: x_1 l_1 x_2 l_2 … x_N l_N x_q, each token
/// [item (D) | one-hot label (L)]; the label part of item tokens and the item part of
/// label tokens are zero. The label of x_q is read at the last position.
pub struct ClassEncoding {
    pub dims: usize,
    pub labels: usize,
}

impl ClassEncoding {
    pub fn token_dim(&self) -> usize {
        self.dims + self.labels
    }

    /// 2N + 1 tokens for N context pairs.
    pub fn seq_len(points: usize) -> usize {
        2 * points + 1
    }

    pub fn encode(&self, seqs: &[ClassSequence]) -> Batch {
        assert!(!seqs.is_empty(), "cannot encode an empty batch");
        let n = seqs[0].context_len();
        let seq = Self::seq_len(n);
        let t = self.token_dim();
        let mut tokens = vec![0f32; seqs.len() * seq * t];
        for (b, s) in seqs.iter().enumerate() {
            assert_eq!(s.context_len(), n, "ragged batch");
            let base = b * seq * t;
            for i in 0..=n {
                let pos = 2 * i;
                for j in 0..self.dims {
                    tokens[base + pos * t + j] = s.items[(i, j)] as f32;
                }
                if i < n {
                    tokens[base + (pos + 1) * t + self.dims + s.labels[i]] = 1.0;
                }
            }
        }
        Batch {
            tokens,
            batch: seqs.len(),
            seq,
            token_dim: t,
            mask: Batch::causal_mask(seq),
            // The label is read at the query, the last token.
            readout: vec![seq - 1],
            targets: Targets::Labels(seqs.iter().map(|s| s.query_label()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn world(cfg: ClassificationConfig) -> ClassWorld {
        ClassWorld::new(&cfg, 16, 8, &mut IclRng::seed_from_u64(9))
    }

    fn count<T: PartialEq>(xs: &[T], x: &T) -> usize {
        xs.iter().filter(|y| *y == x).count()
    }

    #[test]
    fn zipf_frequencies_match_the_law() {
        let w = world(ClassificationConfig {
            classes: 20,
            zipf: 1.0,
            ..Default::default()
        });
        let h: f64 = (1..=20).map(|k| 1.0 / k as f64).sum();
        assert!((w.frequencies[0] - 1.0 / h).abs() < 1e-12);
        assert!((w.frequencies[9] - 0.1 / h).abs() < 1e-12);
        let mut rng = IclRng::seed_from_u64(1);
        let n = 100_000;
        let mut counts = [0usize; 20];
        for _ in 0..n {
            counts[w.draw_class(&mut rng)] += 1;
        }
        for k in [0, 1, 4, 19] {
            let p = w.frequencies[k];
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let got = counts[k] as f64;
            assert!(
                (got - n as f64 * p).abs() < 5.0 * sd,
                "class {k}: {got} vs {}",
                n as f64 * p
            );
        }
        // α = 0 is uniform.
        let u = world(ClassificationConfig {
            classes: 20,
            zipf: 0.0,
            ..Default::default()
        });
        assert!(u.frequencies.iter().all(|f| (f - 0.05).abs() < 1e-12));
    }

    #[test]
    fn bursty_sequences_hold_b_copies_of_n_over_b_classes_with_the_query_among_them() {
        let w = world(ClassificationConfig {
            burstiness: 4,
            p_bursty: 1.0,
            ..Default::default()
        });
        let mut rng = IclRng::seed_from_u64(2);
        for _ in 0..200 {
            let s = w.sample(SequenceKind::Train, &mut rng);
            let ctx = &s.classes[..8];
            let q = s.query_class();
            assert_eq!(count(ctx, &q), 4, "{:?}", s.classes);
            let mut distinct: Vec<ClassOrigin> = Vec::new();
            for c in ctx {
                if !distinct.contains(c) {
                    distinct.push(*c);
                }
            }
            assert_eq!(distinct.len(), 2);
            for c in &distinct {
                assert_eq!(count(ctx, c), 4);
            }
            // trained labels
            for (c, l) in s.classes.iter().zip(&s.labels) {
                let ClassOrigin::Train(k) = c else { panic!() };
                assert_eq!(*l, w.labels[*k]);
            }
        }
    }

    #[test]
    fn p_bursty_and_p_novel_set_the_fraction_of_such_sequences() {
        let w = world(ClassificationConfig {
            classes: 4096,
            burstiness: 2,
            p_bursty: 0.3,
            p_novel: 0.2,
            ..Default::default()
        });
        let mut rng = IclRng::seed_from_u64(3);
        let n = 4000;
        let (mut novel, mut bursty) = (0, 0);
        for _ in 0..n {
            let s = w.sample(SequenceKind::Train, &mut rng);
            if s.query_class() == ClassOrigin::Novel {
                novel += 1;
                assert!(s.classes.iter().all(|c| *c == ClassOrigin::Novel));
            } else if count(&s.classes[..8], &s.query_class()) == 2 {
                // with 4096 uniform classes an iid context repeats the query's class
                // with probability < 0.2 %, so two copies mean bursty
                bursty += 1;
            }
        }
        // novel: 0.2 (sd 0.006); bursty among the rest: 0.8 · 0.3 = 0.24
        let fn_ = novel as f64 / n as f64;
        let fb = bursty as f64 / n as f64;
        assert!((fn_ - 0.2).abs() < 0.03, "novel fraction {fn_}");
        assert!((fb - 0.24).abs() < 0.03, "bursty fraction {fb}");
    }

    #[test]
    fn probes_have_their_defining_structure() {
        let w = world(ClassificationConfig {
            classes: 64,
            labels: 8,
            burstiness: 4,
            ..Default::default()
        });
        let mut rng = IclRng::seed_from_u64(4);
        for _ in 0..200 {
            let s = w.sample(SequenceKind::QueryAbsent, &mut rng);
            let q = s.query_class();
            assert_eq!(count(&s.classes[..8], &q), 0);
            let ClassOrigin::Train(k) = q else { panic!() };
            assert_eq!(s.query_label(), w.labels[k]);

            let s = w.sample(SequenceKind::FlippedLabels, &mut rng);
            let q = s.query_class();
            assert_eq!(count(&s.classes[..8], &q), 4);
            for (c, l) in s.classes.iter().zip(&s.labels) {
                let ClassOrigin::Train(k) = c else { panic!() };
                assert_ne!(
                    *l, w.labels[*k],
                    "flipped labels differ from the trained ones"
                );
                // consistent: every copy of a class shows the same label
                for (c2, l2) in s.classes.iter().zip(&s.labels) {
                    if c2 == c {
                        assert_eq!(l, l2);
                    }
                }
            }

            let s = w.sample(SequenceKind::NovelBursty, &mut rng);
            assert!(s.classes.iter().all(|c| *c == ClassOrigin::Novel));
            // the query's label appears B times in the context, the other class's
            // label differs
            assert_eq!(count(&s.labels[..8], &s.query_label()), 4);
        }
    }

    #[test]
    fn items_of_a_class_stay_near_its_prototype() {
        let w = world(ClassificationConfig {
            classes: 8,
            within_class_noise: 0.1,
            p_bursty: 1.0,
            ..Default::default()
        });
        let mut rng = IclRng::seed_from_u64(5);
        let s = w.sample(SequenceKind::Train, &mut rng);
        let ClassOrigin::Train(k) = s.query_class() else {
            panic!()
        };
        let mu = w.prototype(k);
        let x = s.items.row(8).transpose();
        let cos = x.dot(&mu) / (x.norm() * mu.norm());
        assert!(cos > 0.95, "cosine {cos}");
        assert!((x.norm() - 1.0).abs() < 0.5, "norm {}", x.norm());
    }

    #[test]
    fn encoding_interleaves_items_and_one_hot_labels() {
        let s = ClassSequence {
            items: DMatrix::from_row_slice(3, 2, &[1., 2., 3., 4., 5., 6.]),
            labels: vec![2, 0, 1],
            classes: vec![ClassOrigin::Novel; 3],
        };
        let e = ClassEncoding { dims: 2, labels: 3 }.encode(&[s]);
        assert_eq!((e.seq, e.token_dim), (5, 5));
        #[rustfmt::skip]
        let want = vec![
            1., 2., 0., 0., 0.,
            0., 0., 0., 0., 1.,
            3., 4., 0., 0., 0.,
            0., 0., 1., 0., 0.,
            5., 6., 0., 0., 0.,
        ];
        assert_eq!(e.tokens, want);
        assert_eq!(e.targets, Targets::Labels(vec![1]));
        // row-major [5, 5]: the query (row 4) sees itself, row 0 not row 1, row 3 row 1
        let masked = |q: usize, k: usize| e.mask[q * 5 + k];
        assert!(!masked(4, 4) && masked(0, 1) && !masked(3, 1));
    }

    fn kirsch(tasks: u64, p_novel: f64) -> ClassWorld {
        world(ClassificationConfig {
            classes: 16,
            labels: 32,
            burstiness: 2,
            p_bursty: 1.0,
            p_novel,
            tasks: Some(tasks),
            ..Default::default()
        })
    }

    fn cosine(a: &DVector<f64>, b: &DVector<f64>) -> f64 {
        a.dot(b) / (a.norm() * b.norm())
    }

    /// Kirsch's tasks: a pool task is the same projection and permutation whenever
    /// it is asked for, two tasks differ, and a sequence shows class c of task t at
    /// A_t μ_c with label π_t(c), every item from that one task.
    #[test]
    fn a_task_projects_the_items_and_permutes_the_labels() {
        let w = kirsch(8, 0.0);
        let (a, b) = (w.task(3), w.task(3));
        assert_eq!(a.projection, b.projection);
        assert_eq!(a.permutation, b.permutation);
        assert_ne!(w.task(3).projection, w.task(4).projection);
        let mut sorted = a.permutation.clone();
        sorted.sort();
        assert_eq!(sorted, (0..32).collect::<Vec<_>>(), "a permutation of L");
        // distinct base labels (K ≤ L)
        assert_eq!(w.labels, (0..16).collect::<Vec<_>>());
        let mut rng = IclRng::seed_from_u64(6);
        let mut seen = Vec::new();
        for _ in 0..200 {
            let s = w.sample(SequenceKind::Train, &mut rng);
            let ClassOrigin::Task { task, .. } = s.classes[0] else {
                panic!("{:?}", s.classes)
            };
            assert!(task < 8);
            seen.push(task);
            let t = w.task(task);
            for (i, origin) in s.classes.iter().enumerate() {
                let ClassOrigin::Task { task: ti, class } = *origin else {
                    panic!()
                };
                assert_eq!(ti, task, "one task per sequence");
                assert_eq!(s.labels[i], t.permutation[class]);
                assert_eq!(w.trained_label(*origin), Some(s.labels[i]));
                let projected = &t.projection * w.prototype(class);
                let x = s.items.row(i).transpose();
                assert!(cosine(&x, &projected) > 0.9, "item {i} of class {class}");
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8, "sequences use every pool task");
    }

    /// New tasks (p_novel, and the ICL probe's sequences) are projections never seen:
    /// their classes are novel, yet the query's class is in the context; a class of
    /// one task is far from the same class under another task.
    #[test]
    fn new_tasks_are_new_and_answerable_from_the_context() {
        let w = kirsch(1, 1.0);
        let mut rng = IclRng::seed_from_u64(7);
        for kind in [SequenceKind::Train, SequenceKind::NovelBursty] {
            for _ in 0..50 {
                let s = w.sample(kind, &mut rng);
                assert!(s.classes.iter().all(|c| *c == ClassOrigin::Novel));
                assert_eq!(count(&s.labels[..8], &s.query_label()), 2);
            }
        }
        let (a, b) = (w.task(0), w.task(1));
        let mu = w.prototype(5);
        let c = cosine(&(&a.projection * &mu), &(&b.projection * &mu));
        assert!(c.abs() < 0.6, "two projections of one class: cosine {c}");
        // the in-weights probe: a pool task, its query's class absent
        let s = w.sample(SequenceKind::QueryAbsent, &mut rng);
        assert_eq!(count(&s.classes[..8], &s.query_class()), 0);
        assert!(matches!(s.query_class(), ClassOrigin::Task { task: 0, .. }));
    }

    #[test]
    fn a_task_count_of_zero_is_refused_naming_the_field() {
        let mut c = Checker::default();
        ClassificationConfig {
            tasks: Some(0),
            ..Default::default()
        }
        .validate(16, 8, &mut c);
        let msg = c.errors[0].to_string();
        assert!(msg.contains("task.family.tasks = 0"), "{msg}");
        assert!(msg.contains("p_novel = 1"), "{msg}");
    }

    #[test]
    fn validation_names_the_divisors() {
        let mut c = Checker::default();
        ClassificationConfig {
            burstiness: 3,
            ..Default::default()
        }
        .validate(16, 8, &mut c);
        let msg = c.errors[0].to_string();
        assert!(msg.contains("task.family.burstiness = 3"), "{msg}");
        assert!(msg.contains("1, 2, 4, 8"), "{msg}");
    }
}

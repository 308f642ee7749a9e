//! Named experiments: the starting points of the CLI (`--preset`) and of the browser's
//! preset menu. Each says in one line what a user should see.

use crate::baselines::BaselineConfig;
use crate::config::{ConfigError, CurriculumConfig, Experiment, ModelConfig, ModelKind};
use crate::tasks::{ClassificationConfig, TaskFamilyConfig};
use crate::xdist::XDistConfig;

pub struct Preset {
    pub name: &'static str,
    /// What the run is about, for someone new to the subject: one sentence, no
    /// numbers and no jargon (the page shows it first).
    pub plain: &'static str,
    /// What the run shows, in one line, with the measured figures.
    pub summary: &'static str,
    pub build: fn() -> Experiment,
    /// The sweep the preset is made for (`icl-lab sweep --preset NAME` runs it when
    /// no --vary is given).
    pub sweep: Option<&'static str>,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        name: "icl-in-a-minute",
        plain: "A small transformer learns to solve linear equations from the examples in its prompt, compared with least squares: the quickest way to watch in-context learning appear.",
        summary: "garg-tiny's model on d=5 regression with [x, y] tokens and 21 points: within {{icl-in-a-minute/error:steps}} steps ({{icl-in-a-minute/error:seconds}} s natively on a 2-core CPU) its error follows least squares, 1 − k/d then ≈ 0 (measured by `icl-lab reproduce`: with 2 examples {{icl-in-a-minute/error-k2}}, least squares' 0.6; with all 20, {{icl-in-a-minute/error-step-200}} at step 200, below half of averaging's {{icl-in-a-minute/averaging}}, and {{icl-in-a-minute/error}} at the end)",
        build: icl_in_a_minute,
        sweep: None,
    },
    Preset {
        name: "garg-tiny",
        plain: "Garg's original small setting: the same regression task with x and y in separate tokens; it learns much more slowly, after a long plateau.",
        summary: "Garg's interleaved x / y tokens, d=5, 11 points, 3 layers, 2 heads, width 64, Garg's initialisation and optimizer: a plateau near the zero predictor, then in-context learning (measured by `icl-lab reproduce`, error at k = 10: {{garg-tiny/error-step-1000}} at step 1000, {{garg-tiny/error-step-2000}} at 2000, {{garg-tiny/error}} at 3000; the team's independent PyTorch implementation of the same setting, a tool kept outside this repository and run on 2026-11-30, measured 0.77, 0.227 and 0.152: an external reference, not regenerated here)",
        build: garg_tiny,
        sweep: None,
    },
    Preset {
        name: "garg-linear",
        plain: "Garg's full-size linear regression, with prompts that grow longer during training: a long run, best done natively.",
        summary: "Garg's setting at d=20 with his curriculum (dims 5→20, points 11→41) and interleaved tokens, a 6-layer width-128 model: a native run of 32k steps (not yet run here); look for the least-squares curve 1 − k/d",
        build: garg_linear,
        sweep: None,
    },
    Preset {
        name: "sparse",
        plain: "Tasks that use only 3 of 10 inputs: can the model exploit that, as Lasso does?",
        summary: "3-sparse weights in d=10, {{sparse/error:steps}} steps. Measured by `icl-lab reproduce`: with k = 5 examples the model errs {{sparse/error-k5}}, against Lasso's {{sparse/lasso-k5}} and least squares' {{sparse/least-squares-k5}} (Garg: the model follows Lasso); with all 20 examples {{sparse/error}}",
        build: sparse,
        sweep: None,
    },
    Preset {
        name: "noisy-mixture",
        plain: "Labels with noise of different sizes: fitting the examples exactly fails, and the best answer is ridge regression.",
        summary: "noise σ drawn from {0.1, 0.25, 0.5, 1} per prompt, d=8, {{noisy-mixture/error:steps}} steps. Measured by `icl-lab reproduce`: least squares blows up at k = d ({{noisy-mixture/least-squares-k8}}) while the model stays near ridge ({{noisy-mixture/error-k8}} vs {{noisy-mixture/ridge-k8}}) and approaches it with all 20 examples ({{noisy-mixture/error}} vs {{noisy-mixture/ridge}})",
        build: noisy_mixture,
        sweep: None,
    },
    Preset {
        name: "relu-nn",
        plain: "Targets from small random neural networks instead of straight lines: which classical learner does the model resemble?",
        summary: "random 2-layer ReLU networks in d=4, {{relu-nn/error:steps}} steps. Measured by `icl-lab reproduce` with all 20 examples: the model {{relu-nn/versus-network}}, a 2-layer network fit by gradient descent on the context {{relu-nn/network}} (Garg: the model matches it or does better), least squares {{relu-nn/least-squares}}, 3-NN {{relu-nn/knn}}",
        build: relu_nn,
        sweep: None,
    },
    Preset {
        name: "decision-tree",
        plain: "Targets from random decision trees: a task where least squares fails.",
        summary: "random depth-4 decision trees in d=5, {{decision-tree/error:steps}} steps. Measured by `icl-lab reproduce` with all 30 examples: the model {{decision-tree/error}}, 3-NN {{decision-tree/knn}}, least squares {{decision-tree/least-squares}}, Garg's greedy tree (depth 4) {{decision-tree/greedy-tree}}, boosted trees with XGBoost's settings {{decision-tree/boosted-trees}}",
        build: decision_tree,
        sweep: None,
    },
    Preset {
        name: "task-diversity",
        plain: "Training on only 32 different tasks: does the model memorise them or learn to solve new ones?",
        summary: "Raventós's setup with a pool of M=32 tasks (d=8, σ=0.5, 5000 steps): dMMSE is near 0 on pool tasks from k≈4; does the model follow dMMSE (small M) or ridge (large M, set task.pool)? Measured by `icl-lab reproduce`: on pool tasks its distance to dMMSE is {{task-diversity/pool-distance-dmmse}}; on fresh tasks {{task-diversity/fresh-distance-dmmse}} to dMMSE, and its error {{task-diversity/fresh-error}} against ridge's {{task-diversity/fresh-ridge}}. task-diversity-threshold sweeps M",
        build: task_diversity,
        sweep: None,
    },
    Preset {
        name: "bursty-icl",
        plain: "Few-shot classification on 'bursty' sequences where classes repeat: in-context learning appears, then memory grows beside it.",
        summary: "Chan/Reddy few-shot classification (2048 classes, 90 % bursty sequences, B = 4 of N = 8, Reddy's 2-layer model, {{bursty-icl/icl:steps}} steps). Measured by `icl-lab reproduce`: ICL accuracy on novel classes sits on a plateau ({{bursty-icl/icl-step-200}} at step 200: a label copied from the context is right about half the time), then jumps ({{bursty-icl/icl-step-500}} at step 500); in-weights accuracy rises only later ({{bursty-icl/in-weights-step-2000}} at step 2000, {{bursty-icl/in-weights}} at the end) while ICL stays ({{bursty-icl/icl}})",
        build: bursty_icl,
        sweep: None,
    },
    Preset {
        name: "transience",
        plain: "Few enough classes to memorise, trained long: in-context learning appears, then fades as memory takes over.",
        summary: "the same data with only 512 classes, trained at a constant rate (Singh), {{transience/icl:steps}} steps. Measured by `icl-lab reproduce`: ICL appears ({{transience/icl-step-400}} at step 400), then fades ({{transience/icl-step-1000}} at step 1000, {{transience/icl}} at the end) as in-weights accuracy takes over ({{transience/in-weights-step-1000}} at step 1000, {{transience/in-weights}} at the end). Singh's L2 penalty in the loss (Adam, weight decay 0.01) keeps ICL ({{transience/l2-icl}} at the end, in-weights {{transience/l2-in-weights}}); AdamW's decoupled decay 1.0 ends at {{transience/adamw-icl}} (in-weights {{transience/adamw-in-weights}}). Over {{transience/long-icl:steps}} steps: ICL {{transience/long-icl}} at the end, with L2 {{transience/long-l2-icl}}; with noisier items (ε = 0.4) ICL {{transience/noisy-icl-step-2000}} at step 2000 and {{transience/noisy-icl}} at the end",
        build: transience,
        sweep: None,
    },
    Preset {
        name: "zipf-coexistence",
        plain: "Many classes with a few common and many rare, as in language: in-context and in-weights learning live side by side.",
        summary: "16384 classes with Zipfian frequencies (α = 1, Chan): ICL and in-weights learning coexist. Measured by `icl-lab reproduce` ({{zipf-coexistence/icl:steps}} steps): ICL on novel classes {{zipf-coexistence/icl-step-400}} at step 400 and {{zipf-coexistence/icl}} at the end, while in-weights accuracy climbs to {{zipf-coexistence/in-weights}}; with uniform frequencies (α = 0) ICL ends at {{zipf-coexistence/uniform-icl}} and in-weights stays at {{zipf-coexistence/uniform-in-weights}} (chance 1/32)",
        build: zipf_coexistence,
        sweep: None,
    },
    Preset {
        name: "task-diversity-threshold",
        plain: "How many different training tasks does it take before the model solves new ones? Sweep the number and find the threshold.",
        summary: "Raventós at browser scale (d = 4, σ = 0.25, 12 points, {{task-diversity-threshold/small-pool-fresh:steps}} steps). Measured by `icl-lab reproduce`: with M = 4 pool tasks the model behaves like dMMSE on them (distance {{task-diversity-threshold/small-pool-distance-dmmse}} vs {{task-diversity-threshold/small-pool-distance-ridge}} to ridge) and fails on fresh tasks (error {{task-diversity-threshold/small-pool-fresh}}); with M = 4096 its fresh error is {{task-diversity-threshold/large-pool-fresh}} against ridge's {{task-diversity-threshold/large-pool-ridge}} (distance to ridge {{task-diversity-threshold/large-pool-distance-ridge}}); with M = ∞ the same steps reach {{task-diversity-threshold/infinite-pool-fresh}} on fresh tasks, the ceiling at this scale. M*, the smallest pool from which on its predictions on fresh tasks are nearer ridge's than dMMSE's (a sweep of M = 2 … 2048): {{task-diversity-threshold/m-star-d4}} at d = 4, {{task-diversity-threshold/m-star-d8}} at d = 8 (16 points). Sweep task.pool = 2^1..2^8, null to find it yourself",
        build: task_diversity_threshold,
        sweep: Some("task.pool=2^1..2^8,null"),
    },
    Preset {
        name: "lsa-equals-gd",
        plain: "One layer of linear attention learns to run one step of gradient descent on the examples in its prompt.",
        summary: "von Oswald: one linear self-attention layer on [x, y] tokens (d = 5, 11 points, {{lsa-equals-gd/cosine-gd-1:steps}} steps, {{lsa-equals-gd/cosine-gd-1:seconds}} s natively): its error follows one GD step, not least squares; its implicit weights sit at cosine {{lsa-equals-gd/cosine-gd-1}} to one GD step, mean over k ≥ 2 (least squares {{lsa-equals-gd/cosine-least-squares}}), and its weights are the GD construction (W_KQ ∝ I on x: cosine {{lsa-equals-gd/kq-identity}}, with a share {{lsa-equals-gd/kq-share}} of its weight on x–x; W_PV puts {{lsa-equals-gd/pv-share}} of its weight on y → y). Deeper, von Oswald's K layers = K GD steps: 2 layers match {{lsa-equals-gd/gd-steps-2}} GD steps best (cosine {{lsa-equals-gd/gd-2-fit}}), 3 layers {{lsa-equals-gd/gd-steps-3}} ({{lsa-equals-gd/gd-3-fit}}); with 2 layers, W_PV's share on y → y is {{lsa-equals-gd/two-layer-pv-share-1}} in layer 1 and {{lsa-equals-gd/two-layer-pv-share-2}} in layer 2 (GD++ splits the work so: the first layer rewrites the inputs); the context tokens attend causally among themselves here (online GD, Ding et al. 2023), not with von Oswald's full-context mask",
        build: lsa_equals_gd,
        sweep: None,
    },
    Preset {
        name: "lsa-full-context",
        plain: "Stack layers of linear attention in which every example sees all the others: does each layer add one step of gradient descent?",
        summary: "von Oswald's K layers = K GD steps, with his mask: every position k has its own block of k context tokens [x_i, y_i] that all see each other, and a query [x_k, 0] that sees them (d = 5, 11 points, {{lsa-full-context/gd-steps-1:steps}} steps; sweep model.layers = 1..4). Measured by `icl-lab reproduce`: 1, 2, 3, 4 layers match {{lsa-full-context/gd-steps-1}}, {{lsa-full-context/gd-steps-2}}, {{lsa-full-context/gd-steps-3}}, {{lsa-full-context/gd-steps-4}} GD steps best (cosine {{lsa-full-context/gd-fit-1}}, {{lsa-full-context/gd-fit-2}}, {{lsa-full-context/gd-fit-3}}, {{lsa-full-context/gd-fit-4}}); GD++ with as many steps as layers: cosine {{lsa-full-context/gdpp-2}} (2 layers), {{lsa-full-context/gdpp-3}} (3), {{lsa-full-context/gdpp-4}} (4); error with 10 examples {{lsa-full-context/error-1}}, {{lsa-full-context/error-2}}, {{lsa-full-context/error-3}}, {{lsa-full-context/error-4}}. The same 2 layers and steps with the causal mask (task.encoding = concatenated): error {{lsa-full-context/causal-error-2}}, {{lsa-full-context/causal-gd-steps-2}} GD steps matched best",
        build: lsa_full_context,
        sweep: Some("model.layers=1..4"),
    },
    Preset {
        name: "algorithm-selection-noise",
        plain: "Prompts with either little or much noise: can one model pick the right amount of regularisation for each?",
        summary: "Bai's in-context algorithm selection at browser scale: every prompt draws its noise σ from {0.2, 1} (Bai's {0.1, 0.5} on this task's scale; d = 4, 16 points); the one model is evaluated at each σ alone against ridge with each level's λ and the Bayes-optimal mixture predictor (see the error-vs-σ chart, read where one λ is most wrong). With the baselines alone (`icl-lab reproduce`): at σ = 0.2, k = {{algorithm-selection-noise/own-lambda-low:k}}, the other level's λ errs {{algorithm-selection-noise/other-lambda-low}} against its own {{algorithm-selection-noise/own-lambda-low}}; at σ = 1, k = {{algorithm-selection-noise/own-lambda-high:k}}, {{algorithm-selection-noise/other-lambda-high}} against {{algorithm-selection-noise/own-lambda-high}}; the Bayes mixture, which selects, reaches {{algorithm-selection-noise/mixture-low}} and {{algorithm-selection-noise/mixture-high}}. The trained model: {{algorithm-selection-noise/model-low}} and {{algorithm-selection-noise/model-high}}; models trained on one σ alone: {{algorithm-selection-noise/low-only-model}} and {{algorithm-selection-noise/high-only-model}}",
        build: algorithm_selection_noise,
        sweep: None,
    },
    Preset {
        name: "depth-gd-to-newton",
        plain: "Models of 1 to 4 layers: which algorithm, gradient descent or Newton's method, does each depth resemble?",
        summary: "Akyürek / Fu: noiseless d = 5 regression on ill-conditioned inputs (skewed covariance, eigenvalues ∝ 1/i², condition number 25, a new basis per prompt), [x, y] tokens, a depth sweep (model.layers = 1..4, {{depth-gd-to-newton/newton-1:steps}} steps each): the algorithm lens finds, for each depth, the GD steps and Newton iterations the model matches best. Measured by `icl-lab reproduce`: Newton {{depth-gd-to-newton/newton-1}}, {{depth-gd-to-newton/newton-2}}, {{depth-gd-to-newton/newton-3}}, {{depth-gd-to-newton/newton-4}} iterations for 1–4 layers, GD {{depth-gd-to-newton/gd-1}}, {{depth-gd-to-newton/gd-2}}, {{depth-gd-to-newton/gd-3}}, {{depth-gd-to-newton/gd-4}} steps; the best Newton match's cosine {{depth-gd-to-newton/newton-fit-1}}, {{depth-gd-to-newton/newton-fit-2}}, {{depth-gd-to-newton/newton-fit-3}}, {{depth-gd-to-newton/newton-fit-4}} against GD's {{depth-gd-to-newton/gd-fit-1}}, {{depth-gd-to-newton/gd-fit-2}}, {{depth-gd-to-newton/gd-fit-3}}, {{depth-gd-to-newton/gd-fit-4}}; error with 20 examples {{depth-gd-to-newton/error-1}}, {{depth-gd-to-newton/error-2}}, {{depth-gd-to-newton/error-3}}, {{depth-gd-to-newton/error-4}}",
        build: depth_gd_to_newton,
        sweep: Some("model.layers=1..4"),
    },
    Preset {
        name: "regression-vs-classification",
        plain: "Prompts that are either regression or classification: can one model tell which from the context?",
        summary: "Bai's regression + classification mixture: each prompt is y = w·x or y = sign(w·x) (d = 4, 16 points); sweep p_classification = 0, 0.5, 1 to train the regression-only, mixture and classification-only models, each evaluated on both tasks alone. Measured by `icl-lab reproduce` ({{regression-vs-classification/mixture-regression:steps}} steps each): on regression the mixture model's error is {{regression-vs-classification/mixture-regression}} vs {{regression-vs-classification/regression-only}} for the regression-only model (the classification-only one: {{regression-vs-classification/classification-only-on-regression}}); on classification {{regression-vs-classification/mixture-classification}} vs {{regression-vs-classification/classification-only}} for the classification-only model (regression-only: {{regression-vs-classification/regression-only-on-classification}}, least squares {{regression-vs-classification/least-squares-classification}})",
        build: regression_vs_classification,
        sweep: Some("task.family.p_classification=0,0.5,1"),
    },
    Preset {
        name: "reddy-abrupt",
        plain: "A minimal two-layer network on few-shot classification: a long plateau, then an abrupt jump when an induction head forms.",
        summary: "Reddy's minimal network (2 attention-only layers of 1 head, an MLP classifier) on fully bursty few-shot sequences (1024 classes, B = 4 of N = 8). Measured by `icl-lab reproduce`: ICL accuracy on novel classes sits on a plateau ({{reddy-abrupt/icl-step-150}} at step 150: a label copied from the context), then jumps ({{reddy-abrupt/icl-step-300}} at step 300) as layer 2's head moves the query's attention onto the labels of the query's class ({{reddy-abrupt/label-head-step-150}} → {{reddy-abrupt/label-head-step-300}}; a uniform head {{reddy-abrupt/label-head-uniform}}); in-weights accuracy stays at chance ({{reddy-abrupt/in-weights}})",
        build: reddy_abrupt,
        sweep: None,
    },
    Preset {
        name: "general-purpose-icl",
        plain: "The same few classes seen through many different random lenses: with few lenses the model memorises them, with many it learns to learn from the context.",
        summary: "Kirsch et al. 2022 at browser scale: 16 base classes (D = 32), each task a random projection of the items and a permutation of the 32 labels; 90 % of contexts 4 classes × 2 copies, Reddy's 2-layer model, {{general-purpose-icl/few-icl:steps}} steps. Measured by `icl-lab reproduce`: with M = 16 tasks the model memorises (query class absent from the context: {{general-purpose-icl/few-in-weights}}; a new task: {{general-purpose-icl/few-icl}}, chance 1/32); with M = 64 it learns in context ({{general-purpose-icl/mid-icl-step-500}} on new tasks at step 500) and memorises beside it ({{general-purpose-icl/mid-in-weights}} at the end, new tasks {{general-purpose-icl/mid-icl}}); with M = 4096 new tasks sit on a plateau ({{general-purpose-icl/many-icl-step-250}} at step 250: a label copied from the four in the context), then are solved ({{general-purpose-icl/many-icl}}) with nothing memorised ({{general-purpose-icl/many-in-weights}}). The smallest M from which on new tasks are solved more often than not: {{general-purpose-icl/m-star}}",
        build: general_purpose_icl,
        sweep: Some("task.family.tasks=1,4,16,64,256,1024,4096,16384"),
    },
    Preset {
        name: "induction-phase-change",
        plain: "Repeated token sequences: a two-layer model suddenly learns to copy what came after the last occurrence (an induction head).",
        summary: "Olsson's induction heads: 32-token sequences over 64 tokens in which earlier windows recur at random offsets, a 2-layer attention-only model ({{induction-phase-change/prefix:steps}} steps, {{induction-phase-change/prefix:seconds}} s natively). Measured by `icl-lab reproduce`: the best head's prefix-matching score jumps from {{induction-phase-change/prefix-step-200}} at step 200 to {{induction-phase-change/prefix-step-400}} at step 400 and ends at {{induction-phase-change/prefix}} (a uniform head scores {{induction-phase-change/prefix-uniform}}); the ICL score ends at {{induction-phase-change/icl-score}} nats, with {{induction-phase-change/repeat-loss}} nats where the token occurred before vs {{induction-phase-change/new-loss}} on new tokens; the sweep's 1-layer model reaches only {{induction-phase-change/one-layer-prefix}} ({{induction-phase-change/one-layer-repeat-loss}} nats on repeats)",
        build: induction_phase_change,
        sweep: Some("model.layers=1,2"),
    },
    Preset {
        name: "chan-architectures",
        plain: "The bursty data that teaches a transformer to learn from its context, given to an LSTM of the same size: does it learn in context too?",
        summary: "Chan et al. 2022's architecture result at browser scale: bursty-icl's data (2048 classes, 90 % bursty), a 2-layer transformer against a 2-layer LSTM, both sized to {{chan-architectures/transformer-icl:params}} parameters (model.params), {{chan-architectures/transformer-icl:steps}} steps. Measured by `icl-lab reproduce`: the transformer's ICL accuracy on novel classes ends at {{chan-architectures/transformer-icl}} (in-weights {{chan-architectures/transformer-in-weights}}); the LSTM's at {{chan-architectures/lstm-icl}} (in-weights {{chan-architectures/lstm-in-weights}}); a label copied at random from the context scores about 0.5. Sweep model.kind to add the GRU and the state-space model",
        build: chan_architectures,
        sweep: Some("model.kind=transformer,lstm,gru,s4d"),
    },
    Preset {
        name: "architectures-induction",
        plain: "The same copying task for five kinds of network of the same size: attention, linear attention, LSTM, GRU and a state-space model. Which learn to copy from their context?",
        summary: "Lee et al. 2023's comparison at browser scale on induction-phase-change's task (32 tokens over 64, windows recur), every kind sized to about {{architectures-induction/transformer-repeat-loss:params}} parameters (model.params), 2 layers, {{architectures-induction/transformer-repeat-loss:steps}} steps. Measured by `icl-lab reproduce`, the loss (nats) on tokens that occurred before, against ln 64 = 4.16 for guessing: transformer {{architectures-induction/transformer-repeat-loss}}, linear attention {{architectures-induction/linear-repeat-loss}}, LSTM {{architectures-induction/lstm-repeat-loss}}, GRU {{architectures-induction/gru-repeat-loss}}, S4D {{architectures-induction/s4d-repeat-loss}}; the transformer's ICL score {{architectures-induction/transformer-icl-score}} nats against the LSTM's {{architectures-induction/lstm-icl-score}}. Sweep model.kind (or model.params) to draw them side by side",
        build: architectures_induction,
        sweep: Some("model.kind=transformer,linear_attention,lstm,gru,s4d"),
    },
    Preset {
        name: "architectures-regression",
        plain: "Garg's linear regression for five kinds of network of the same size: which ones learn to solve for w from the examples in their prompt?",
        summary: "Lee et al. 2023's comparison on Garg's task (d=5, 11 points, x and y in separate tokens, the encoding a recurrent network reads in order), every kind sized to about {{architectures-regression/transformer-error:params}} parameters, 2 layers, {{architectures-regression/transformer-error:steps}} steps. Measured by `icl-lab reproduce`, the error with all 10 examples (averaging's: {{architectures-regression/averaging}}; least squares': 0): transformer {{architectures-regression/transformer-error}}, linear attention {{architectures-regression/linear-error}}, LSTM {{architectures-regression/lstm-error}}, GRU {{architectures-regression/gru-error}}, S4D {{architectures-regression/s4d-error}}. Sweep model.kind to draw their ICL curves side by side",
        build: architectures_regression,
        sweep: Some("model.kind=transformer,linear_attention,lstm,gru,s4d"),
    },
];

/// Lee's comparison on Garg's regression: one size for every kind.
fn architectures_regression() -> Experiment {
    let mut e = garg_tiny();
    e.model = ModelConfig {
        // Two layers, as in architectures-induction; two heads for the attention kinds.
        layers: 2,
        heads: 2,
        // A third of garg-tiny's ≈ 150k: the LSTM and GRU step their sequence one
        // token at a time, and 50k keeps each of their runs near 4 min natively.
        params: Some(50_000),
        ..ModelConfig::default()
    };
    // At this size the transformer leaves garg-tiny's plateau between steps 2000 and
    // 4000 (measured: error 0.68 at 2000, 0.21 at 4000, with all 10 examples).
    e.train.steps = 4000;
    e.train.eval_every = 500;
    e.resolve_params();
    e
}

/// Chan's comparison: bursty-icl's data, a transformer or an LSTM of one size.
fn chan_architectures() -> Experiment {
    let mut e = bursty_icl();
    e.model = ModelConfig {
        kind: ModelKind::Transformer,
        // Reddy's depth; one head, as in Reddy's model.
        layers: 2,
        heads: 1,
        // The size of Reddy's ≈100k-parameter model: the width follows from it for
        // each kind (≈ 62 for the transformer, ≈ 54 for the LSTM).
        params: Some(100_000),
        ..ModelConfig::default()
    };
    // The transformer's jump comes in the first few hundred steps (bursty-icl:
    // step 500); 2000 steps give the LSTM four times that to show one.
    e.train.steps = 2000;
    e.resolve_params();
    e
}

/// Lee's comparison on the induction task: one size for every kind.
fn architectures_induction() -> Experiment {
    let mut e = induction_phase_change();
    // The 2-layer attention-only transformer of induction-phase-change has ≈ 45k
    // parameters at width 64; every kind gets that many.
    e.model.params = Some(45_000);
    // Its induction head forms by step 400 (measured there): 1000 steps give the
    // recurrent kinds more than twice that, at a cost the LSTM can bear on a CPU.
    e.train.steps = 1000;
    e.resolve_params();
    e
}

/// Chan/Reddy classification at browser scale: D = 32 inputs, N = 8 context pairs,
/// L = 32 labels, Reddy's two-layer attention-only model with an MLP classifier.
fn classification(cfg: ClassificationConfig) -> Experiment {
    let mut e = Experiment::default();
    e.task.family = TaskFamilyConfig::Classification(cfg);
    e.task.dims = 32;
    e.task.points = 8;
    e.model = ModelConfig {
        kind: ModelKind::Reddy,
        layers: 2,
        heads: 1,
        width: 64,
        ..ModelConfig::default()
    };
    e.train.batch = 128;
    e.train.steps = 3000;
    e.train.eval_every = 100;
    e.eval.prompts = 512;
    e
}

fn bursty_icl() -> Experiment {
    let mut e = classification(ClassificationConfig {
        // Many classes: memorising them all is slow, so the context is worth reading.
        classes: 2048,
        ..ClassificationConfig::default()
    });
    // A constant rate: the ICL transition comes late and a decayed rate stalls it.
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 4000;
    e
}

fn transience() -> Experiment {
    let mut e = classification(ClassificationConfig {
        // Few enough classes to memorise: in-weights learning eventually wins.
        classes: 512,
        ..ClassificationConfig::default()
    });
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 5000;
    e
}

fn zipf_coexistence() -> Experiment {
    let mut e = classification(ClassificationConfig {
        // Many classes, most of them rare: the rare ones can only be answered in
        // context, the frequent ones are worth memorising.
        classes: 16384,
        zipf: 1.0,
        ..ClassificationConfig::default()
    });
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 4000;
    e
}

fn lsa_equals_gd() -> Experiment {
    let mut e = browser_scale();
    e.model = ModelConfig {
        kind: ModelKind::Lsa,
        layers: 1,
        heads: 1,
        ..ModelConfig::default()
    };
    // Tiny model, short prompts: Adam at a constant 1e-3 (von Oswald) in a few
    // thousand steps.
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 3000;
    e.eval.baselines = Some(vec![
        BaselineConfig::GradientDescent { steps: 1, lr: None },
        BaselineConfig::LeastSquares,
        BaselineConfig::Averaging,
        BaselineConfig::Zero,
    ]);
    e
}

fn lsa_full_context() -> Experiment {
    let mut e = lsa_equals_gd();
    // von Oswald's mask: a position's context tokens see each other, so every layer
    // can update all of them with the whole context's gradient (a full-batch step);
    // the causal mask of lsa-equals-gd turns the stack into online GD instead.
    e.task.encoding = crate::config::Encoding::FullContext;
    e.model.layers = 2;
    // Deeper stacks learn slowly from small weights (a layer's effect is a product
    // of the others'): 2 layers at 3000 steps still sat at one GD step's error
    // (0.31), at 20000 steps they reached 0.20 (measured; 3e-3 instead of 1e-3 made
    // 3 layers unstable).
    e.train.steps = 20_000;
    e.eval.baselines = Some(vec![
        BaselineConfig::GradientDescent { steps: 1, lr: None },
        BaselineConfig::GradientDescent { steps: 2, lr: None },
        BaselineConfig::LeastSquares,
        BaselineConfig::Averaging,
        BaselineConfig::Zero,
    ]);
    e
}

fn algorithm_selection_noise() -> Experiment {
    let mut e = browser_scale();
    // Bai et al.: y = w·x/√d + σε with w ~ N(0, I) and σ ∈ {0.1, 0.5}. The lab's
    // tasks are y = w·x (errors divided by d), which is Bai's task times √d, so
    // Bai's levels are these divided by √d = 2: tuned ridge uses λ = 0.04 and 1, and
    // ridge with either level's λ is clearly worse at the other level near k = d
    // (tested with the baselines alone), so matching tuned ridge at each σ there
    // needs selection.
    e.task.family = TaskFamilyConfig::NoisyLinear {
        noise: vec![0.2, 1.0],
    };
    // d = 4, 16 points: small enough to train to near ridge on a CPU in minutes.
    e.task.dims = 4;
    e.task.points = 16;
    e.train.steps = 4000;
    e.train.eval_every = 250;
    e
}

fn reddy_abrupt() -> Experiment {
    let mut e = classification(ClassificationConfig {
        // Reddy's regime for an abrupt transition: many classes, every sequence
        // bursty, so the context always holds the query's class.
        classes: 1024,
        p_bursty: 1.0,
        ..ClassificationConfig::default()
    });
    // A constant rate, as in bursty-icl; the jump comes by step 300 (measured), so
    // 1500 steps show the plateau, the jump and what follows (about a minute in a
    // browser tab).
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 1500;
    e.train.eval_every = 50;
    e
}

fn general_purpose_icl() -> Experiment {
    let mut e = classification(ClassificationConfig {
        // Kirsch's MNIST has 10 classes; 16 base classes with distinct labels (of 32)
        // make one task easy to memorise, so the number of tasks decides.
        classes: 16,
        // 90 % of contexts (Chan's default) hold 4 classes × 2 copies, the query's
        // class among them: copying a random context label is right 1 time in 4
        // (the plateau). The other 10 % draw 8 items of the task's 16 classes
        // independently, so the query's class may be missing and memory pays (with
        // every context bursty, 64 tasks memorised nothing: measured).
        burstiness: 2,
        // 16 tasks are memorised, 256 or more give a general learner (measured at
        // 1500 steps: the lesson sweeps M).
        tasks: Some(16),
        ..ClassificationConfig::default()
    });
    // A constant rate, as in the other classification presets; 1500 steps hold the
    // plateau and the jump of a large pool (measured: the jump by step 750) and take
    // about a minute natively.
    e.optim.schedule = crate::config::Schedule::Constant;
    e.train.steps = 1500;
    e.train.eval_every = 50;
    e
}

fn induction_phase_change() -> Experiment {
    let mut e = Experiment::default();
    e.task.family = TaskFamilyConfig::Induction { vocab: 64 };
    // T = 32 tokens: the repeat (8–16 tokens) sits at a random offset.
    e.task.points = 32;
    // Olsson's small attention-only models: 2 layers is the least depth an induction
    // head needs (a previous-token head feeds it); 1 layer cannot form one.
    e.model = ModelConfig {
        layers: 2,
        heads: 2,
        width: 64,
        mlp: false,
        ..ModelConfig::default()
    };
    e.train.steps = 2000;
    e.train.eval_every = 50;
    e.eval.prompts = 256;
    e
}

fn regression_vs_classification() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::RegressionClassification {
        p_classification: 0.5,
    };
    // Small enough for three runs of a sweep in a few minutes on a CPU.
    e.task.dims = 4;
    e.task.points = 16;
    e.train.steps = 2000;
    e.train.eval_every = 250;
    e
}

fn depth_gd_to_newton() -> Experiment {
    let mut e = icl_in_a_minute();
    // Ill-conditioned inputs (Garg's skewed covariance, eigenvalues ∝ 1/i²: condition
    // number 25 at d = 5) so that GD and Newton part ways: GD at its best step size
    // needs 64 steps to reach cosine 0.999 to least squares where Newton needs 16
    // (measured by lens::algorithms::conditioning). On isotropic x both get there in
    // 8 and a depth sweep cannot tell them apart
    // (measured before: Newton 4, 6, 8, 8 and GD 8, 16, 16, 16 for 1–4 layers).
    // The basis of the skew is drawn per prompt, so no fixed preconditioner learned
    // in the weights can stand in for the curvature read from the context.
    e.x_dist = XDistConfig::Skewed;
    // One depth per sweep run; 1500 steps each. The live lens compares GD up to 64
    // steps and Newton up to 16 iterations.
    e.train.eval_every = 250;
    e
}

fn task_diversity_threshold() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::NoisyLinear { noise: vec![0.25] };
    e.task.dims = 4;
    e.task.points = 12;
    e.task.pool = Some(4);
    e.train.steps = 1500;
    e.train.eval_every = 100;
    // The family's usual baselines (ridge, least squares, averaging, zero) plus
    // dMMSE whenever there is a pool, so the sweep can include M = ∞ (null).
    e
}

pub fn preset(name: &str) -> Result<Experiment, ConfigError> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .map(|p| (p.build)())
        .ok_or_else(|| ConfigError::UnknownPreset(name.to_string()))
}

fn garg_tiny() -> Experiment {
    // The defaults are garg-tiny: d=5, 11 points, 3L/2H/64, batch 64.
    Experiment::default()
}

/// The defaults with [x, y] tokens: what learns within minutes on a CPU (see
/// `icl_in_a_minute`). Garg's interleaved tokens stay with the `garg-*` presets.
fn browser_scale() -> Experiment {
    let mut e = Experiment::default();
    e.task.encoding = crate::config::Encoding::Concatenated;
    e
}

fn icl_in_a_minute() -> Experiment {
    let mut e = browser_scale();
    // One token per pair lets a single attention layer form Σ y_i x_i; with 21
    // points the gradient signal for in-context learning is strong enough that the
    // model leaves the plateau within a few hundred steps (measured under format
    // version 1's initialisation: 11 points stalled near one-step-GD error, 21
    // points reached least squares; with GPT-2's, 21 points passes half of
    // averaging's error at step 200).
    e.task.points = 21;
    e.train.steps = 1500;
    // The ICL curve every 50 steps (about 10 s in a browser tab on a laptop CPU):
    // often enough to watch it form; one evaluation costs about a step's time.
    e.train.eval_every = 50;
    e
}

fn garg_linear() -> Experiment {
    let mut e = Experiment::default();
    e.task.dims = 20;
    e.task.points = 41;
    e.model = ModelConfig {
        layers: 6,
        heads: 4,
        width: 128,
        ..ModelConfig::default()
    };
    e.curriculum = Some(CurriculumConfig::default());
    e.train.steps = 32_000;
    e.optim.lr = 3e-4;
    e.optim.warmup_steps = 500;
    e.train.log_every = 100;
    e
}

fn sparse() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::SparseLinear { sparsity: 3 };
    e.task.dims = 10;
    e.task.points = 21;
    e.train.steps = 5000;
    e
}

fn noisy_mixture() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::NoisyLinear {
        noise: vec![0.1, 0.25, 0.5, 1.0],
    };
    e.task.dims = 8;
    e.task.points = 21;
    e.train.steps = 5000;
    e.eval.baselines = Some(vec![
        BaselineConfig::Ridge { lambda: None },
        BaselineConfig::Ridge { lambda: Some(0.25) },
        BaselineConfig::LeastSquares,
        BaselineConfig::Averaging,
    ]);
    e
}

fn relu_nn() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::ReluNet { hidden: 100 };
    e.task.dims = 4;
    e.task.points = 21;
    e.train.steps = 5000;
    e.eval.prompts = 128;
    e
}

fn decision_tree() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::DecisionTree { depth: 4 };
    e.task.dims = 5;
    e.task.points = 31;
    e.train.steps = 5000;
    e
}

fn task_diversity() -> Experiment {
    let mut e = browser_scale();
    e.task.family = TaskFamilyConfig::NoisyLinear { noise: vec![0.5] };
    e.task.dims = 8;
    e.task.points = 16;
    e.task.pool = Some(32);
    e.train.steps = 5000;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_a_plain_sentence_without_numbers() {
        for p in PRESETS {
            assert!(
                p.plain.ends_with(['.', '?']) && p.plain.len() < 200,
                "{}: {}",
                p.name,
                p.plain
            );
            // Plain words: no formulas, no token notation.
            assert!(
                !p.plain.contains('=') && !p.plain.contains('['),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn every_preset_is_valid_and_garg_tiny_is_garg_tiny() {
        for p in PRESETS {
            (p.build)()
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        let t = preset("garg-tiny").unwrap();
        assert_eq!((t.task.dims, t.task.points), (5, 11));
        assert_eq!((t.model.layers, t.model.heads, t.model.width), (3, 2, 64));
        assert_eq!(t.train.batch, 64);
        assert!(preset("nope").is_err());
    }
}

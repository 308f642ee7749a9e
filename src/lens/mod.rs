//! Lenses: what the trained model does inside, measured on the same prompts as the
//! baselines. [`algorithms`]: which learning algorithm it runs in context; [`lsa`]:
//! the linear self-attention model's weights beside the gradient-descent construction;
//! [`heads`]: per-head attention scores (prefix matching, previous token, copying)
//! and the ICL score on token sequences (the mechanism lens).

pub mod algorithms;
pub mod heads;
pub mod lsa;

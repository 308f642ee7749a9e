//! Input distributions: how the x's of a prompt are drawn.
//!
//! One trait, [`XDistribution`], one file per distribution, dispatched by the serde
//! enum [`XDistConfig`]. Training uses one of them; evaluation can use another to
//! test the model out of distribution (Garg's skewed covariance, half subspace,
//! scaled x, random quadrants, orthogonal train/test, query in the prompt).
//! Coordinates beyond the curriculum's active dimensions are zero.
//!
//! Most distributions ask each position's question about its own point (the query
//! at position k is x_k, as in training). Some of Garg's tests ask it elsewhere: a
//! query unrestricted while the context sits in one quadrant, in the subspace
//! orthogonal to the context, or equal to an earlier example. Those give a separate
//! query per position ([`XDistribution::sample_prompt`]).

mod gaussian;
mod half_subspace;
mod orthogonal;
mod quadrants;
mod query_in_prompt;
mod scaled;
mod skewed;

pub use gaussian::Gaussian;
pub use half_subspace::HalfSubspace;
pub use orthogonal::OrthogonalQueries;
pub use quadrants::RandomQuadrants;
pub use query_in_prompt::QueryInPrompt;
pub use scaled::Scaled;
pub use skewed::Skewed;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::IclRng;
use crate::check::Checker;

pub trait XDistribution {
    /// Draws the `points` inputs of one prompt as a [points, dims] matrix, with the
    /// coordinates from `active` on set to zero.
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64>;

    /// The inputs of one prompt: its points [points, dims] and, for a distribution
    /// that asks its questions elsewhere, the query of each position [points, dims]
    /// (`None`: the query at position k is x_k).
    fn sample_prompt(
        &self,
        points: usize,
        dims: usize,
        active: usize,
        rng: &mut IclRng,
    ) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
        (self.sample(points, dims, active, rng), None)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum XDistConfig {
    /// x ~ N(0, I_d): the training distribution of every paper here.
    #[default]
    Gaussian,
    /// x ~ N(0, Σ), Σ with eigenvalues ∝ 1/i² (trace d; Garg scales x by 1/i), in
    /// a random orthonormal basis drawn per prompt: ill-conditioned inputs (Garg;
    /// Fu's Newton vs GD).
    Skewed,
    /// Every point of a prompt in one random subspace of half the dimension, trace
    /// d (Garg's half subspace).
    HalfSubspace,
    /// x ~ N(0, c² I): Garg's "x scaled by c" (c ∈ {1/3, 1/2, 2, 3}).
    Scaled {
        #[serde(default = "default_scale")]
        scale: f64,
    },
    /// All points of a prompt in one random orthant (sign pattern), so inputs are
    /// correlated unlike in training; the queries are unrestricted, x ~ N(0, I)
    /// (Garg's random quadrants).
    Quadrants,
    /// The context in a random subspace of half the dimension, every query in its
    /// orthogonal complement (Garg's orthogonal train/test): nothing in the context
    /// says anything about w there.
    Orthogonal,
    /// x ~ N(0, I), and the query at position k is one of the k examples before it
    /// (Garg's query in the prompt): its answer is in the context.
    QueryInPrompt,
}

fn default_scale() -> f64 {
    2.0
}

impl XDistConfig {
    pub fn distribution(&self) -> Box<dyn XDistribution> {
        match self {
            XDistConfig::Gaussian => Box::new(Gaussian),
            XDistConfig::Skewed => Box::new(Skewed),
            XDistConfig::HalfSubspace => Box::new(HalfSubspace),
            XDistConfig::Scaled { scale } => Box::new(Scaled { scale: *scale }),
            XDistConfig::Quadrants => Box::new(RandomQuadrants),
            XDistConfig::Orthogonal => Box::new(OrthogonalQueries),
            XDistConfig::QueryInPrompt => Box::new(QueryInPrompt),
        }
    }

    /// Whether the distribution asks each position about a query of its own, not
    /// its own point: such prompts need a query token apart from the context
    /// (`task.encoding` concatenated or full_context to train on them).
    pub fn separate_queries(&self) -> bool {
        matches!(
            self,
            XDistConfig::Quadrants | XDistConfig::Orthogonal | XDistConfig::QueryInPrompt
        )
    }

    /// Parses the CLI's short names: `gaussian`, `skewed`, `half-subspace`,
    /// `quadrants`, `orthogonal`, `query-in-prompt`, `scaled:C`.
    pub fn parse_name(name: &str) -> Result<Self, String> {
        let err = || {
            format!(
                "unknown x-distribution `{name}`: use gaussian, skewed, half-subspace, quadrants, orthogonal, query-in-prompt or scaled:C (C in (0, 100])"
            )
        };
        match name {
            "gaussian" => Ok(XDistConfig::Gaussian),
            "skewed" => Ok(XDistConfig::Skewed),
            "half-subspace" => Ok(XDistConfig::HalfSubspace),
            "quadrants" => Ok(XDistConfig::Quadrants),
            "orthogonal" => Ok(XDistConfig::Orthogonal),
            "query-in-prompt" => Ok(XDistConfig::QueryInPrompt),
            _ => {
                let c: f64 = name
                    .strip_prefix("scaled:")
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(err)?;
                if !(c > 0.0 && c <= 100.0) {
                    return Err(err());
                }
                Ok(XDistConfig::Scaled { scale: c })
            }
        }
    }

    /// Short name, the inverse of [`XDistConfig::parse_name`].
    pub fn name(&self) -> String {
        match self {
            XDistConfig::Gaussian => "gaussian".into(),
            XDistConfig::Skewed => "skewed".into(),
            XDistConfig::HalfSubspace => "half-subspace".into(),
            XDistConfig::Quadrants => "quadrants".into(),
            XDistConfig::Orthogonal => "orthogonal".into(),
            XDistConfig::QueryInPrompt => "query-in-prompt".into(),
            XDistConfig::Scaled { scale } => format!("scaled:{scale}"),
        }
    }

    pub(crate) fn validate(&self, field: &str, c: &mut Checker) {
        if let XDistConfig::Scaled { scale } = self
            && !(scale.is_finite() && *scale > 0.0 && *scale <= 100.0)
        {
            c.fail(&format!("{field}.scale"), scale, "a number in (0, 100]");
        }
    }
}

/// A [points, dims] draw made within the first `active` coordinates (the
/// curriculum's; at least one): `draw(a)` gives the [points, a] block, the rest is
/// zero.
pub(crate) fn within_active(
    points: usize,
    dims: usize,
    active: usize,
    draw: impl FnOnce(usize) -> DMatrix<f64>,
) -> DMatrix<f64> {
    let a = active.max(1).min(dims);
    let mut x = DMatrix::zeros(points, dims);
    x.view_mut((0, 0), (points, a)).copy_from(&draw(a));
    mask_inactive(&mut x, active);
    x
}

/// Zeroes the inactive coordinates (curriculum).
pub(crate) fn mask_inactive(x: &mut DMatrix<f64>, active: usize) {
    for j in active..x.ncols() {
        x.column_mut(j).fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_short_name_parses_back_to_its_distribution() {
        for d in [
            XDistConfig::Gaussian,
            XDistConfig::Skewed,
            XDistConfig::HalfSubspace,
            XDistConfig::Quadrants,
            XDistConfig::Orthogonal,
            XDistConfig::QueryInPrompt,
            XDistConfig::Scaled { scale: 0.5 },
        ] {
            assert_eq!(XDistConfig::parse_name(&d.name()), Ok(d));
        }
        let e = XDistConfig::parse_name("half").unwrap_err();
        assert!(e.contains("half-subspace"), "{e}");
    }
}

//! Every chart the page draws, by name: the `data-chart` of its canvas (what the
//! browser tests and people reading the page find it by), `embed=<id>` in an embed's
//! hash, and the file name of its exported PNG/SVG. One enum, so a chart cannot be
//! asked for under a name nothing draws.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChartId {
    /// Error by number of examples, model beside the baselines.
    #[default]
    Icl,
    Loss,
    Probes,
    Algorithms,
    Noise,
    Distance,
    Heads,
    Attention,
    IclScore,
    TokenLoss,
    Copying,
    /// A linear self-attention model's weights beside von Oswald's construction.
    Lsa,
    /// A sweep's final metric against the varied value.
    Threshold,
    OverlayLoss,
    OverlayMetric,
    OverlayIcl,
}

impl ChartId {
    /// The charts an embed can show, in the "embed this chart" menu's order.
    pub const EMBEDDABLE: [ChartId; 12] = [
        ChartId::Icl,
        ChartId::Loss,
        ChartId::Probes,
        ChartId::Algorithms,
        ChartId::Noise,
        ChartId::Distance,
        ChartId::Heads,
        ChartId::Attention,
        ChartId::IclScore,
        ChartId::TokenLoss,
        ChartId::Copying,
        ChartId::Lsa,
    ];

    /// The charts only the full page draws (sweeps, saved runs).
    const PAGE_ONLY: [ChartId; 4] = [
        ChartId::Threshold,
        ChartId::OverlayLoss,
        ChartId::OverlayMetric,
        ChartId::OverlayIcl,
    ];

    /// Every chart.
    pub fn all() -> impl Iterator<Item = ChartId> {
        Self::EMBEDDABLE.into_iter().chain(Self::PAGE_ONLY)
    }

    /// The name in the page and in links.
    pub fn id(self) -> &'static str {
        match self {
            ChartId::Icl => "icl",
            ChartId::Loss => "loss",
            ChartId::Probes => "probes",
            ChartId::Algorithms => "algorithms",
            ChartId::Noise => "noise",
            ChartId::Distance => "distance",
            ChartId::Heads => "heads",
            ChartId::Attention => "attention",
            ChartId::IclScore => "icl-score",
            ChartId::TokenLoss => "token-loss",
            ChartId::Copying => "copying",
            ChartId::Lsa => "lsa",
            ChartId::Threshold => "threshold",
            ChartId::OverlayLoss => "overlay-loss",
            ChartId::OverlayMetric => "overlay-metric",
            ChartId::OverlayIcl => "overlay-icl",
        }
    }

    /// What the chart shows and for which runs (the embed menu's wording).
    pub fn describe(self) -> &'static str {
        match self {
            ChartId::Icl => "ICL curve: error by number of examples (regression)",
            ChartId::Loss => "training loss",
            ChartId::Probes => "probe accuracies through training (classification)",
            ChartId::Algorithms => "which algorithm the model matches (linear regression)",
            ChartId::Noise => "error against noise σ (noise mixtures)",
            ChartId::Distance => "distance to dMMSE and ridge (task pools)",
            ChartId::Heads => "head scores through training (token and classification runs)",
            ChartId::Attention => "attention heatmaps (token and classification runs)",
            ChartId::IclScore => "ICL score through training (token runs)",
            ChartId::TokenLoss => "next-token loss by position (token runs)",
            ChartId::Copying => "copying score per head (token runs)",
            ChartId::Lsa => "linear self-attention weights beside one GD step (LSA models)",
            ChartId::Threshold => "a sweep's final metric against the varied value",
            ChartId::OverlayLoss => "saved runs: training loss",
            ChartId::OverlayMetric => "saved runs: their metric through training",
            ChartId::OverlayIcl => "saved runs: final ICL curves",
        }
    }

    pub fn embeddable(self) -> bool {
        Self::EMBEDDABLE.contains(&self)
    }
}

impl fmt::Display for ChartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for ChartId {
    type Err = String;

    /// Any chart by its id; the error names the charts an embed can show.
    fn from_str(s: &str) -> Result<Self, String> {
        Self::all().find(|c| c.id() == s).ok_or_else(|| {
            format!(
                "`{s}` is not a chart: one of {}",
                Self::EMBEDDABLE.map(ChartId::id).join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_reads_back_by_its_id_and_ids_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in ChartId::all() {
            assert_eq!(c.id().parse::<ChartId>(), Ok(c));
            assert!(seen.insert(c.id()), "{} twice", c.id());
            assert!(!c.describe().is_empty());
        }
        let e = "pie".parse::<ChartId>().unwrap_err();
        assert!(e.contains("pie") && e.contains("token-loss"), "{e}");
    }
}

//! Head ablations: which attention heads to switch off, and how, when a model is
//! evaluated (`eval --ablate L2H1:mean`, the page's head buttons). Pure data, so the
//! page can name and check heads without the trainer.

/// How a head is ablated.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AblationMode {
    /// The head writes nothing (its attention weights are zero).
    Zero,
    /// The head attends with its mean pattern over the evaluated batch: it still
    /// writes, but no longer depends on which tokens are where.
    Mean,
}

/// One ablated head.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadAblation {
    /// 0-based.
    pub layer: usize,
    pub head: usize,
    pub mode: AblationMode,
}

impl HeadAblation {
    /// `L1H2` (1-based, as the page labels heads).
    pub fn label(&self) -> String {
        format!("L{}H{}", self.layer + 1, self.head + 1)
    }

    /// Whether the head exists in a model of `layers` × `heads`; the error names
    /// the allowed range.
    pub fn check(&self, layers: usize, heads: usize) -> Result<(), String> {
        if layers == 0 || heads == 0 {
            return Err(format!(
                "{}: this model has no attention heads to switch off (a recurrent kind)",
                self.label()
            ));
        }
        if self.layer >= layers || self.head >= heads {
            return Err(format!(
                "{}: the model has layers L1…L{layers} and heads H1…H{heads}",
                self.label()
            ));
        }
        Ok(())
    }
}

impl std::str::FromStr for HeadAblation {
    type Err = String;

    /// `L2H1` (zeroed) or `L2H1:mean`, 1-based.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("'{s}': expected L<layer>H<head>, optionally :zero or :mean (e.g. L2H1:mean)")
        };
        let (head, mode) = match s.split_once(':') {
            None => (s, AblationMode::Zero),
            Some((h, "zero")) => (h, AblationMode::Zero),
            Some((h, "mean")) => (h, AblationMode::Mean),
            Some(_) => return Err(bad()),
        };
        let rest = head
            .strip_prefix('L')
            .or_else(|| head.strip_prefix('l'))
            .ok_or_else(bad)?;
        let (l, h) = rest.split_once(['H', 'h']).ok_or_else(bad)?;
        let (l, h): (usize, usize) = (l.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        if l == 0 || h == 0 {
            return Err(bad());
        }
        Ok(HeadAblation {
            layer: l - 1,
            head: h - 1,
            mode,
        })
    }
}

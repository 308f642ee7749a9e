//! The linear self-attention model's weights beside von Oswald's gradient-descent
//! construction. One GD step from w = 0 needs, in every head, a score that compares
//! inputs only (W_KQ's x–x block ∝ I, nothing else) and a value that copies y into
//! the y slot (W_PV's y → y entry, nothing else). The view gives both matrices and
//! how much of each follows that pattern.

use serde::{Deserialize, Serialize};

/// One head of one layer, matrices row-major [dim, dim] (dim = d + 1, y last).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HeadView {
    pub layer: usize,
    pub head: usize,
    pub dim: usize,
    pub kq: Vec<f64>,
    pub pv: Vec<f64>,
    /// Cosine between W_KQ's x–x block and the identity (1: the GD construction).
    pub kq_identity: f64,
    /// Share of W_KQ's squared weight in its x–x block.
    pub kq_share: f64,
    /// Share of W_PV's squared weight in its y → y entry.
    pub pv_share: f64,
}

impl HeadView {
    pub fn new(layer: usize, head: usize, dim: usize, kq: Vec<f64>, pv: Vec<f64>) -> Self {
        assert_eq!(
            (kq.len(), pv.len()),
            (dim * dim, dim * dim),
            "square matrices"
        );
        let d = dim - 1;
        let sq = |m: &[f64]| m.iter().map(|v| v * v).sum::<f64>();
        let (mut block, mut trace) = (0.0, 0.0);
        for i in 0..d {
            for j in 0..d {
                block += kq[i * dim + j].powi(2);
            }
            trace += kq[i * dim + i];
        }
        let share = |part: f64, all: f64| if all > 0.0 { part / all } else { 0.0 };
        Self {
            layer,
            head,
            dim,
            kq_identity: share(trace, (block * d as f64).sqrt()),
            kq_share: share(block, sq(&kq)),
            pv_share: share(pv[dim * dim - 1].powi(2), sq(&pv)),
            kq,
            pv,
        }
    }

    /// The GD construction's matrices at this head's scale: c·I on the x–x block
    /// (c the block's mean diagonal) and the head's own y → y entry, zero elsewhere.
    pub fn construction(&self) -> (Vec<f64>, Vec<f64>) {
        let (dim, d) = (self.dim, self.dim - 1);
        let c = (0..d).map(|i| self.kq[i * dim + i]).sum::<f64>() / d.max(1) as f64;
        let kq = (0..dim * dim)
            .map(|at| {
                if at / dim == at % dim && at / dim < d {
                    c
                } else {
                    0.0
                }
            })
            .collect();
        let pv = (0..dim * dim)
            .map(|at| {
                if at == dim * dim - 1 {
                    self.pv[at]
                } else {
                    0.0
                }
            })
            .collect();
        (kq, pv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gd_construction_scores_one_and_a_random_head_does_not() {
        let dim = 4;
        let kq: Vec<f64> = (0..16)
            .map(|a| {
                if a / 4 == a % 4 && a / 4 < 3 {
                    2.0
                } else {
                    0.0
                }
            })
            .collect();
        let pv: Vec<f64> = (0..16).map(|a| if a == 15 { 0.3 } else { 0.0 }).collect();
        let h = HeadView::new(0, 0, dim, kq.clone(), pv.clone());
        assert!((h.kq_identity - 1.0).abs() < 1e-12);
        assert!((h.kq_share - 1.0).abs() < 1e-12 && (h.pv_share - 1.0).abs() < 1e-12);
        assert_eq!(h.construction(), (kq, pv));

        // By hand: x–x block [[1, 1, 0], [0, 1, 0], [0, 0, 1]] → trace 3, ‖·‖² = 4:
        // cosine to I = 3 / √(4·3); one more weight of 2 outside the block.
        let mut kq = vec![0.0; 16];
        for i in 0..3 {
            kq[i * 4 + i] = 1.0;
        }
        kq[1] = 1.0;
        kq[3] = 2.0;
        let mut pv = vec![0.0; 16];
        pv[15] = 1.0;
        pv[0] = 1.0;
        let h = HeadView::new(0, 0, dim, kq, pv);
        assert!((h.kq_identity - 3.0 / 12f64.sqrt()).abs() < 1e-12);
        assert!((h.kq_share - 4.0 / 8.0).abs() < 1e-12);
        assert!((h.pv_share - 0.5).abs() < 1e-12);
    }
}

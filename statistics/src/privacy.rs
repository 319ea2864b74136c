//! Statistical secrecy for breakdowns by beneficiary attributes (DESIGN §9): a count of fewer
//! than [`THRESHOLD`] people is shown as « < 5 », and the published total must not give it back.
//!
//! Primary suppression hides the counts from 0 to 4. A reader who knows the total, the shown
//! cells and the rule then knows, of each hidden cell, an interval: « < 5 » means from 0 (or 1
//! when the row's presence tells there is someone) to 4, « secret » at least 5. If these
//! intervals and the sum of the hidden cells (the total minus the shown ones) pin one of them to
//! a single non-zero value, the smallest shown cell above 5 is hidden too (secondary suppression,
//! shown as « secret »; a cell of exactly 5 would leave them just as pinned), until no count under
//! 5 can be recovered; when nothing more can be hidden, the whole column is withheld.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The smallest number of people a published cell may count.
pub const THRESHOLD: i64 = 5;

/// A number of people as it may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Count {
    /// Shown as is.
    Shown(i64),
    /// Fewer than five people: shown « < 5 ».
    Suppressed,
    /// Five or more, hidden so that a suppressed cell cannot be recovered from the total: shown
    /// « secret ».
    Secret,
}

impl Count {
    /// The value, when shown.
    pub fn shown(self) -> Option<i64> {
        match self {
            Count::Shown(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Shown(n) => write!(f, "{n}"),
            Count::Suppressed => f.write_str("< 5"),
            Count::Secret => f.write_str("secret"),
        }
    }
}

/// Protects one column of people counts whose total is published.
///
/// `lower[i]` is what a reader knows without the value (1 when the row is only listed because
/// someone is in it, else 0); `forced[i]` hides a cell for another reason (e.g. the row's
/// population is hidden). With `strict`, no hidden cell may be recoverable, not even one of 5 or
/// more hidden to protect another (needed when cells belong to several published totals, as in
/// the open-data grid). Returns `None` when no choice of hidden cells protects the column: it
/// must then be withheld.
pub(crate) fn protect(values: &[i64], lower: &[i64], forced: &[bool], strict: bool) -> Option<Vec<Count>> {
    let n = values.len();
    // 0: shown, 1: primary or forced under 5, 2: forced at 5 or more, 3: secondary.
    let mut state: Vec<u8> = (0..n)
        .map(|i| match (values[i] < THRESHOLD, forced.get(i).copied().unwrap_or(false)) {
            (true, _) => 1,
            (false, true) => 2,
            (false, false) => 0,
        })
        .collect();
    loop {
        let hidden: Vec<usize> = (0..n).filter(|&i| state[i] != 0).collect();
        if hidden.is_empty() {
            break;
        }
        let sum: i64 = hidden.iter().map(|&i| values[i]).sum();
        let min_shown = (0..n).filter(|&i| state[i] == 0).map(|i| values[i]).min().unwrap_or(sum);
        let bounds = |i: usize| -> (i64, i64) {
            match state[i] {
                1 => (lower.get(i).copied().unwrap_or(0), THRESHOLD - 1),
                2 => (THRESHOLD, sum.max(THRESHOLD)),
                _ => (THRESHOLD, min_shown.max(THRESHOLD)),
            }
        };
        let (lo_all, hi_all) = hidden.iter().fold((0i64, 0i64), |(l, h), &i| {
            let (a, b) = bounds(i);
            (l + a, h.saturating_add(b))
        });
        // A cell hidden to protect others may be pinned down (it is 5 or more) unless `strict`.
        let recoverable = hidden.iter().any(|&i| {
            let (lo, hi) = bounds(i);
            let others = (lo_all - lo, hi_all.saturating_sub(hi));
            let low = lo.max(sum - others.1);
            let high = hi.min(sum - others.0);
            low >= high && values[i] > 0 && (strict || state[i] != 3)
        });
        if !recoverable {
            break;
        }
        // The smallest shown cell above the threshold (a cell of exactly 5 hidden with others of
        // 1 to 4 leaves them just as pinned), else the smallest with someone in it.
        let shown = |i: &usize| state[*i] == 0 && values[*i] > 0;
        let next = (0..n)
            .filter(|i| shown(i) && values[*i] > THRESHOLD)
            .min_by_key(|&i| (values[i], i))
            .or_else(|| (0..n).filter(shown).min_by_key(|&i| (values[i], i)))?;
        state[next] = 3;
    }
    Some(
        (0..n)
            .map(|i| match state[i] {
                0 => Count::Shown(values[i]),
                1 => Count::Suppressed,
                _ => Count::Secret,
            })
            .collect(),
    )
}

/// The enumeration of what a reader can deduce, shared with the tests against real databases.
#[cfg(test)]
#[path = "../tests/secrecy/mod.rs"]
mod secrecy;

#[cfg(test)]
mod tests {
    use super::secrecy::possible_values;
    use super::*;
    use proptest::prelude::*;

    /// No count under 5 can be recovered (with `strict`, no hidden count at all).
    fn assert_protected(values: &[i64], lower: &[i64]) {
        assert_protected_as(values, lower, false);
        assert_protected_as(values, lower, true);
    }

    fn assert_protected_as(values: &[i64], lower: &[i64], strict: bool) {
        let forced = vec![false; values.len()];
        let Some(out) = protect(values, lower, &forced, strict) else {
            return; // withheld: nothing published
        };
        let total: i64 = values.iter().sum();
        let hidden: Vec<usize> = (0..values.len()).filter(|&i| out[i].shown().is_none()).collect();
        for (i, v) in values.iter().enumerate() {
            match out[i] {
                Count::Shown(s) => assert!(s == *v && *v >= THRESHOLD, "{values:?} → {out:?}"),
                Count::Suppressed => assert!(*v < THRESHOLD, "{values:?} → {out:?}"),
                Count::Secret => assert!(*v >= THRESHOLD, "{values:?} → {out:?}"),
            }
        }
        let possible = possible_values(&out, lower, total);
        for (k, &i) in hidden.iter().enumerate() {
            assert!(possible[k].contains(&values[i]), "the truth must stay possible: {values:?} → {out:?}");
            if values[i] > 0 && (strict || values[i] < THRESHOLD) {
                assert!(possible[k].len() >= 2, "cell {i} of {values:?} recoverable from {out:?}: {:?}", possible[k]);
            }
        }
    }

    #[test]
    fn one_small_cell_takes_the_next_smallest_with_it() {
        let out = protect(&[3, 40, 7, 12], &[1; 4], &[false; 4], false).unwrap();
        assert_eq!(out, vec![Count::Suppressed, Count::Shown(40), Count::Secret, Count::Shown(12)]);
        assert_eq!(out[0].to_string(), "< 5");
        assert_eq!(out[2].to_string(), "secret");
        assert_protected(&[3, 40, 7, 12], &[1; 4]);
    }

    #[test]
    fn small_cells_that_would_add_up_to_the_truth_are_protected() {
        // 1 + 1 = 2 hidden: both would be known to be 1.
        let out = protect(&[1, 1, 9, 20], &[1; 4], &[false; 4], false).unwrap();
        assert_eq!(out[..2], [Count::Suppressed, Count::Suppressed]);
        assert_eq!(out[2], Count::Secret);
        assert_protected(&[1, 1, 9, 20], &[1; 4]);
        // 4 + 4 = 8 with an upper bound of 4 each.
        assert_protected(&[4, 4, 6, 30], &[1; 4]);
        // Large enough alone: nothing hidden.
        assert_eq!(protect(&[5, 6], &[1; 2], &[false; 2], false).unwrap(), vec![Count::Shown(5), Count::Shown(6)]);
    }

    #[test]
    fn a_lone_small_cell_withholds_the_column() {
        assert_eq!(protect(&[3], &[1], &[false], false), None);
        assert_eq!(protect(&[1, 0], &[1, 0], &[false; 2], false), None, "one person, listed in the first row");
        // 3 + 8 hidden together: the first is 1 to 4, the second 7 to 10.
        assert_eq!(protect(&[3, 8], &[1; 2], &[false; 2], false).unwrap(), vec![Count::Suppressed, Count::Secret]);
        // Three people among three age bands, none shown: who is where cannot be told.
        assert_eq!(protect(&[3, 0, 0], &[0; 3], &[false; 3], false).unwrap(), vec![Count::Suppressed; 3]);
        // Nobody at all: zeros reveal no one.
        assert_eq!(protect(&[0, 0], &[0; 2], &[false; 2], false).unwrap(), vec![Count::Suppressed; 2]);
    }

    #[test]
    fn forced_cells_stay_hidden() {
        let out = protect(&[10, 20, 30], &[1; 3], &[true, false, false], false).unwrap();
        assert_eq!(out[0], Count::Secret);
        assert_ne!(out[1], Count::Shown(20), "a single hidden cell would be the total minus the others");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn no_hidden_value_can_be_recovered(cells in proptest::collection::vec((0i64..10, any::<bool>()), 1..6)) {
            // A row listed only because someone is in it has a lower bound of 1.
            let values: Vec<i64> = cells.iter().map(|(v, listed)| if *listed { (*v).max(1) } else { *v }).collect();
            let lower: Vec<i64> = cells.iter().map(|(_, listed)| i64::from(*listed)).collect();
            assert_protected(&values, &lower);
        }
    }
}

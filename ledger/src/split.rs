//! Settlement maths: rates in basis points and splits of an amount across shares.
//!
//! Rates use `rust_decimal`; fees round half away from zero per transaction (DESIGN §5);
//! splits use the largest-remainder method so the parts always add up to the whole.

use crate::{Cents, LedgerError};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Basis points in a whole: 10 000 bps = 100 %.
pub const WHOLE_BPS: u32 = 10_000;

/// `amount × bps / 10 000`, rounded half away from zero.
pub fn apply_bps(amount: Cents, bps: u32) -> Result<Cents, LedgerError> {
    let value = Decimal::from(amount.0).checked_mul(Decimal::from(bps)).ok_or(LedgerError::Overflow)?
        / Decimal::from(WHOLE_BPS);
    let rounded = value.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    rounded.to_i64().map(Cents).ok_or(LedgerError::Overflow)
}

/// Splits `total` across `weights` in proportion, with the largest-remainder method: each part
/// gets the floor of its exact share, and the cents left over go one by one to the parts with
/// the largest remainders (earlier parts first on ties). The parts always sum to `total`.
pub fn split(total: Cents, weights: &[u32]) -> Result<Vec<Cents>, LedgerError> {
    let weight_sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if weight_sum == 0 {
        return Err(LedgerError::Invalid("cannot split across zero weights".into()));
    }
    let negative = total.0 < 0;
    let abs = u128::from(total.0.unsigned_abs());
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = abs * u128::from(*w);
        parts.push(exact / weight_sum);
        remainders.push((exact % weight_sum, i));
    }
    let mut left = abs - parts.iter().sum::<u128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| {
            let v = i64::try_from(p).map_err(|_| LedgerError::Overflow)?;
            Ok(Cents(if negative { -v } else { v }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fees_round_half_away_from_zero() {
        assert_eq!(apply_bps(Cents(1000), 250).unwrap(), Cents(25));
        assert_eq!(apply_bps(Cents(10), 5000).unwrap(), Cents(5));
        assert_eq!(apply_bps(Cents(1), 5000).unwrap(), Cents(1)); // 0.5 → 1
        assert_eq!(apply_bps(Cents(-1), 5000).unwrap(), Cents(-1)); // -0.5 → -1
        assert_eq!(apply_bps(Cents(3), 4999).unwrap(), Cents(1)); // 1.4997 → 1
        assert_eq!(apply_bps(Cents(1000), 0).unwrap(), Cents(0));
    }

    #[test]
    fn odd_amount_three_funders() {
        // 100,01 € split 33,34 % / 33,33 % / 33,33 %: floors 3334 + 3333 + 3333, the cent left
        // goes to the largest remainder (0.3334 > 0.3333).
        let parts = split(Cents(10001), &[3334, 3333, 3333]).unwrap();
        assert_eq!(parts, vec![Cents(3335), Cents(3333), Cents(3333)]);
        assert_eq!(parts.iter().map(|c| c.0).sum::<i64>(), 10001);
        let parts = split(Cents(-7), &[5000, 5000]).unwrap();
        assert_eq!(parts, vec![Cents(-4), Cents(-3)]);
    }

    proptest! {
        #[test]
        fn parts_always_sum_to_the_whole(total in -1_000_000_000_000i64..1_000_000_000_000, weights in proptest::collection::vec(0u32..=10_000, 1..8)) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let parts = split(Cents(total), &weights).unwrap();
            prop_assert_eq!(parts.iter().map(|c| c.0).sum::<i64>(), total);
            let wsum: u64 = weights.iter().map(|w| *w as u64).sum();
            for (p, w) in parts.iter().zip(&weights) {
                // each part is within one cent of its exact share
                let exact = total as f64 * *w as f64 / wsum as f64;
                prop_assert!((p.0 as f64 - exact).abs() < 1.0 + 1e-6 * exact.abs());
            }
        }
    }
}

//! What a reader can deduce from a published column of people counts, by plain enumeration,
//! independent of `privacy::protect`: the one check of statistical secrecy shared by the unit
//! tests of `statistics/src/privacy.rs` (included there with `#[path]`) and the tests against
//! real databases (`statistics/tests/statistical_secrecy.rs`). `Count` is the parent module's.

use super::Count;

/// Every value each hidden cell of `column` can take, for a reader who knows the column's
/// `total`, the shown cells and what « < 5 » and « secret » mean: a « < 5 » cell is from
/// `lower[i]` to 4 (`lower[i]` is what the row's presence tells: 1 for a row listed only because
/// someone is in it, k for a row merging k such rows, else 0), a « secret » cell 5 or more. One
/// list per hidden cell, in row order. Exponential: for small columns.
pub fn possible_values(column: &[Count], lower: &[i64], total: i64) -> Vec<Vec<i64>> {
    let rest = total - column.iter().filter_map(|c| c.shown()).sum::<i64>();
    let ranges: Vec<(i64, i64)> = column
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Count::Shown(_) => None,
            Count::Suppressed => Some((lower.get(i).copied().unwrap_or(0), 4)),
            Count::Secret => Some((5, rest)),
        })
        .collect();
    let mut seen: Vec<Vec<i64>> = vec![Vec::new(); ranges.len()];
    fn walk(ranges: &[(i64, i64)], at: usize, left: i64, pick: &mut Vec<i64>, seen: &mut [Vec<i64>]) {
        if at == ranges.len() {
            if left == 0 {
                for (s, v) in seen.iter_mut().zip(pick.iter()) {
                    if !s.contains(v) {
                        s.push(*v);
                    }
                }
            }
            return;
        }
        let min_rest: i64 = ranges[at + 1..].iter().map(|r| r.0).sum();
        for v in ranges[at].0..=ranges[at].1.min(left - min_rest) {
            pick.push(v);
            walk(ranges, at + 1, left - v, pick, seen);
            pick.pop();
        }
    }
    walk(&ranges, 0, rest, &mut Vec::new(), &mut seen);
    seen
}

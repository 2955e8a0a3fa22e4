//! All-pairs covering arrays: every value of every option meets every value of every other
//! option in at least one case.
//!
//! Written here rather than taken from a crate: the covering-array crates on crates.io are
//! unmaintained experiments, and none knows options that only apply under another option's
//! values ([`Requirement`](super::options::Requirement)), which this plan needs.
//!
//! The generator is AETG-style greedy: each new row starts from a pair not yet covered and fills
//! the remaining options one at a time with the value that covers the most uncovered pairs with
//! the options already filled; of a few candidate rows, built with fill orders drawn from the
//! seed, the one covering the most new pairs is kept. Every row covers at least its starting
//! pair, so generation ends, and the same seed gives the same rows.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::BTreeSet;

/// The shape of one option for the generator: how many values it has, and the parent option
/// and parent values it needs to apply at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub size: usize,
    /// `(parent index, enabling parent values)`; the parent always comes first and never
    /// requires another option itself (the plan's linked settings are one level deep).
    pub requires: Option<(usize, Vec<usize>)>,
}

/// One row: a value index per option, `None` where the option does not apply (its parent has
/// a value that does not enable it) or, in a `single` plan, is left to the printer's default.
pub type Row = Vec<Option<usize>>;

/// One pair of option values: `(option i, value a, option j, value b)` with `i < j`.
type Pair = (usize, usize, usize, usize);

/// Candidate rows built per new row; more finds slightly smaller arrays, slower.
const CANDIDATES: usize = 12;

/// Whether value `a` of option `i` and value `b` of option `j` can appear in one row: a
/// dependent needs an enabling value of its parent, and two dependents of one parent need a
/// parent value that enables both.
fn compatible(factors: &[Factor], i: usize, a: usize, j: usize, b: usize) -> bool {
    let allowed =
        |dependent: usize, parent: usize, parent_value: usize| match &factors[dependent].requires {
            Some((p, enabling)) if *p == parent => enabling.contains(&parent_value),
            _ => true,
        };
    let siblings_agree = match (&factors[i].requires, &factors[j].requires) {
        (Some((p, first)), Some((q, second))) if p == q => first.iter().any(|v| second.contains(v)),
        _ => true,
    };
    allowed(i, j, b) && allowed(j, i, a) && siblings_agree
}

/// Every pair a complete test must cover: pairs of values that can appear together.
pub fn required_pairs(factors: &[Factor]) -> BTreeSet<Pair> {
    let mut pairs = BTreeSet::new();
    for i in 0..factors.len() {
        for j in i + 1..factors.len() {
            for a in 0..factors[i].size {
                for b in 0..factors[j].size {
                    if compatible(factors, i, a, j, b) {
                        pairs.insert((i, a, j, b));
                    }
                }
            }
        }
    }
    pairs
}

/// The required pairs a row covers.
pub fn pairs_of(factors: &[Factor], row: &Row) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for i in 0..row.len() {
        for j in i + 1..row.len() {
            if let (Some(a), Some(b)) = (row[i], row[j])
                && compatible(factors, i, a, j, b)
            {
                pairs.push((i, a, j, b));
            }
        }
    }
    pairs
}

/// Rows covering every required pair of `factors`; deterministic for a given `seed`.
pub fn covering_rows(factors: &[Factor], seed: u64) -> Vec<Row> {
    let mut uncovered = required_pairs(factors);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    if factors.len() == 1 {
        return (0..factors[0].size).map(|a| vec![Some(a)]).collect();
    }
    while let Some(&start) = uncovered.iter().next() {
        let best = (0..CANDIDATES)
            .map(|_| {
                let row = candidate(factors, &uncovered, start, &mut rng);
                let new = pairs_of(factors, &row)
                    .into_iter()
                    .filter(|p| uncovered.contains(p))
                    .count();
                (new, row)
            })
            .reduce(|best, next| if next.0 > best.0 { next } else { best })
            .map(|(_, row)| row)
            .unwrap_or_default();
        for pair in pairs_of(factors, &best) {
            uncovered.remove(&pair);
        }
        rows.push(best);
    }
    rows
}

/// A row holding `start`, the other options filled greedily in a shuffled order (parents still
/// before the options that need them).
fn candidate(factors: &[Factor], uncovered: &BTreeSet<Pair>, start: Pair, rng: &mut StdRng) -> Row {
    let (i, a, j, b) = start;
    let mut row: Row = vec![None; factors.len()];
    row[i] = Some(a);
    row[j] = Some(b);
    let mut order: Vec<usize> = (0..factors.len()).filter(|&k| k != i && k != j).collect();
    order.shuffle(rng);
    order.sort_by_key(|&k| depth(factors, k));
    for k in order {
        row[k] = best_value(factors, uncovered, &row, k);
    }
    row
}

/// How many parents an option has above it, so sorting by it fills parents first.
fn depth(factors: &[Factor], mut k: usize) -> usize {
    let mut depth = 0;
    while let Some((parent, _)) = &factors[k].requires {
        k = *parent;
        depth += 1;
    }
    depth
}

/// The value of option `k` compatible with the row so far that covers the most uncovered
/// pairs with it (the lowest index on a tie); `None` when the option does not apply.
fn best_value(
    factors: &[Factor],
    uncovered: &BTreeSet<Pair>,
    row: &Row,
    k: usize,
) -> Option<usize> {
    if let Some((parent, enabling)) = &factors[k].requires
        && let Some(p) = row[*parent]
        && !enabling.contains(&p)
    {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    for v in 0..factors[k].size {
        let mut gain = 0;
        let mut fits = true;
        for (other, value) in row.iter().enumerate() {
            let Some(w) = *value else { continue };
            if other == k {
                continue;
            }
            if !compatible(factors, k, v, other, w) {
                fits = false;
                break;
            }
            let pair = if k < other {
                (k, v, other, w)
            } else {
                (other, w, k, v)
            };
            gain += usize::from(uncovered.contains(&pair));
        }
        if fits && best.is_none_or(|(_, g)| gain > g) {
            best = Some((v, gain));
        }
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn factor_sets() -> impl Strategy<Value = Vec<Factor>> {
        (
            prop::collection::vec(1usize..6, 1..8),
            prop::collection::vec((any::<prop::sample::Index>(), 1usize..6, 0usize..2), 0..4),
        )
            .prop_map(|(sizes, dependents)| {
                let independent = sizes.len();
                let mut factors: Vec<Factor> = sizes
                    .into_iter()
                    .map(|size| Factor {
                        size,
                        requires: None,
                    })
                    .collect();
                for (parent, size, parity) in dependents {
                    let parent = parent.index(independent);
                    let parent_size = factors[parent].size;
                    let enabling: Vec<usize> =
                        (0..parent_size).filter(|v| v % 2 == parity).collect();
                    let enabling = if enabling.is_empty() {
                        vec![0]
                    } else {
                        enabling
                    };
                    factors.push(Factor {
                        size,
                        requires: Some((parent, enabling)),
                    });
                }
                factors
            })
    }

    proptest! {
        #[test]
        fn pairwise_covers_every_pair_and_breaks_no_requirement(factors in factor_sets(), seed in any::<u64>()) {
            let rows = covering_rows(&factors, seed);
            let mut missing = required_pairs(&factors);
            for row in &rows {
                prop_assert_eq!(row.len(), factors.len());
                for (k, factor) in factors.iter().enumerate() {
                    let applies = match &factor.requires {
                        Some((p, enabling)) => row[*p].is_some_and(|v| enabling.contains(&v)),
                        None => true,
                    };
                    prop_assert_eq!(row[k].is_some(), applies, "option {} of {:?}", k, row);
                    prop_assert!(row[k].is_none_or(|v| v < factor.size));
                }
                for pair in pairs_of(&factors, row) {
                    missing.remove(&pair);
                }
            }
            prop_assert!(missing.is_empty(), "uncovered: {:?}", missing);
            prop_assert_eq!(covering_rows(&factors, seed), rows, "same seed, same rows");
        }
    }

    #[test]
    fn pairwise_is_far_smaller_than_the_product() {
        // 13 options of 3 values: 1.6 million combinations; a covering array needs ~15–20.
        let factors = vec![
            Factor {
                size: 3,
                requires: None
            };
            13
        ];
        let rows = covering_rows(&factors, 1);
        assert!(rows.len() <= 25, "{} rows", rows.len());
        assert!(rows.len() >= 9, "at least 3×3 for any two options");
    }
}

//! How cases are chosen from a printer's options.

use super::PlanError;
use super::pairwise::{Factor, Row, covering_rows};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Strategy {
    /// Each value of each option once, every other option left to the printer's default.
    Single,
    /// Every pair of values of every two options in at least one case.
    Pairwise,
    /// Every combination, refused when there are more than `budget`.
    Exhaustive { budget: usize },
    /// `cases` combinations drawn from the seed.
    Random { cases: usize },
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Single => f.write_str("single"),
            Strategy::Pairwise => f.write_str("pairwise"),
            Strategy::Exhaustive { budget } => write!(f, "exhaustive (budget {budget})"),
            Strategy::Random { cases } => write!(f, "random {cases}"),
        }
    }
}

impl Strategy {
    /// The rows of one printer's cases.
    pub(super) fn rows(
        &self,
        printer: &str,
        factors: &[Factor],
        seed: u64,
    ) -> Result<Vec<Row>, PlanError> {
        Ok(match self {
            Strategy::Single => single_rows(factors),
            Strategy::Pairwise => covering_rows(factors, seed),
            Strategy::Exhaustive { budget } => {
                let size = product_size(factors);
                if size > *budget as u128 {
                    return Err(PlanError::OverBudget {
                        printer: printer.to_owned(),
                        size,
                        budget: *budget,
                    });
                }
                all_rows(factors)
            }
            Strategy::Random { cases } => random_rows(factors, *cases, seed),
        })
    }
}

/// One row per value of each option; an option that needs another gets that other option's
/// first enabling value beside it.
fn single_rows(factors: &[Factor]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (k, factor) in factors.iter().enumerate() {
        for v in 0..factor.size {
            let mut row: Row = vec![None; factors.len()];
            row[k] = Some(v);
            if let Some((parent, enabling)) = &factor.requires {
                row[*parent] = enabling.first().copied();
            }
            rows.push(row);
        }
    }
    rows
}

/// How many rows every combination makes: options that need a parent multiply only under the
/// parent values that enable them. Saturates rather than overflows.
pub fn product_size(factors: &[Factor]) -> u128 {
    let mut size: u128 = 1;
    for (k, factor) in factors.iter().enumerate() {
        if factor.requires.is_some() {
            continue;
        }
        let under_value = |v: usize| -> u128 {
            factors
                .iter()
                .filter_map(|d| match &d.requires {
                    Some((p, enabling)) if *p == k && enabling.contains(&v) => Some(d.size as u128),
                    _ => None,
                })
                .product()
        };
        let options: u128 = (0..factor.size).map(under_value).sum();
        size = size.saturating_mul(options);
    }
    size
}

/// Every combination, the first option varying slowest.
fn all_rows(factors: &[Factor]) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![Vec::new()];
    for factor in factors {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                let applies = applies(factor, &row);
                let values: Vec<Option<usize>> = if applies {
                    (0..factor.size).map(Some).collect()
                } else {
                    vec![None]
                };
                values.into_iter().map(move |v| {
                    let mut next = row.clone();
                    next.push(v);
                    next
                })
            })
            .collect();
    }
    rows
}

fn applies(factor: &Factor, row_so_far: &[Option<usize>]) -> bool {
    match &factor.requires {
        Some((parent, enabling)) => row_so_far[*parent].is_some_and(|p| enabling.contains(&p)),
        None => true,
    }
}

/// `cases` rows, each value drawn uniformly from the seeded generator.
fn random_rows(factors: &[Factor], cases: usize, seed: u64) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..cases)
        .map(|_| {
            let mut row: Row = Vec::with_capacity(factors.len());
            for factor in factors {
                let value = applies(factor, &row).then(|| rng.random_range(0..factor.size));
                row.push(value);
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(sizes: &[usize]) -> Vec<Factor> {
        sizes
            .iter()
            .map(|&size| Factor {
                size,
                requires: None,
            })
            .collect()
    }

    #[test]
    fn product_size_counts_dependents_only_where_they_apply() {
        let mut factors = plain(&[3, 2]);
        // Option 2 (4 values) applies under option 0's values 1 and 2: 1 + 4 + 4 = 9, × 2.
        factors.push(Factor {
            size: 4,
            requires: Some((0, vec![1, 2])),
        });
        assert_eq!(product_size(&factors), 18);
        assert_eq!(all_rows(&factors).len(), 18);
    }

    #[test]
    fn exhaustive_refuses_over_budget_saying_the_size() {
        let factors = plain(&[10, 10, 10]);
        let err = Strategy::Exhaustive { budget: 999 }
            .rows("Office", &factors, 0)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Office: every combination is 1000 cases, more than the budget of 999; \
             raise the budget or use pairwise"
        );
        let rows = Strategy::Exhaustive { budget: 1000 }
            .rows("Office", &factors, 0)
            .unwrap();
        assert_eq!(rows.len(), 1000);
    }

    #[test]
    fn random_repeats_for_a_seed_and_respects_requirements() {
        let mut factors = plain(&[3, 5]);
        factors.push(Factor {
            size: 2,
            requires: Some((0, vec![2])),
        });
        let rows = random_rows(&factors, 50, 7);
        assert_eq!(rows, random_rows(&factors, 50, 7));
        assert_ne!(rows, random_rows(&factors, 50, 8));
        for row in &rows {
            assert_eq!(row[2].is_some(), row[0] == Some(2), "{row:?}");
        }
    }
}

//! Why a pair matched: per field, the comparison level and the weight it added (log2 Bayes
//! factor), and the total. An officer who merges two records must be able to see that the
//! IDs agreed and the birth dates had day and month swapped, not just "score 0.97".

use std::fmt;

use crate::compare::{Comparison, Field, NULL};
use crate::scoring::Model;

#[derive(Debug, Clone, PartialEq)]
pub struct FieldEvidence {
    pub field: String,
    /// Level name (`exact`, `day_month_swapped`, …) or `missing` when a side is empty.
    pub level: &'static str,
    /// The level is the strongest agreement the field has.
    pub agrees: bool,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub fields: Vec<FieldEvidence>,
    /// Sum of the field weights (bits).
    pub weight: f64,
    pub probability: f64,
}

impl Explanation {
    pub fn new(model: &Model, c: &Comparison, categories: &[(String, String)]) -> Self {
        let fields: Vec<FieldEvidence> = model
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let l = c.levels[i];
                FieldEvidence {
                    field: f.name(categories),
                    level: if l == NULL { "missing" } else { f.levels()[l as usize] },
                    agrees: l == 0,
                    weight: model.field_weight(i, c),
                }
            })
            .collect();
        let weight = fields.iter().map(|f| f.weight).sum();
        Explanation { fields, weight, probability: model.probability(weight) }
    }

    /// The cell text for one field: `exact +6.42`.
    pub fn cell(e: &FieldEvidence) -> String {
        format!("{} {:+.2}", e.level, e.weight)
    }

    /// Fields whose level is not the strongest agreement (and not missing): what disagrees.
    pub fn disagreements(&self) -> impl Iterator<Item = &FieldEvidence> {
        self.fields.iter().filter(|f| f.level != "missing" && !f.agrees)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.fields {
            writeln!(f, "  {:<16} {:<24} {:+7.2}", e.field, e.level, e.weight)?;
        }
        write!(f, "  {:<16} {:<24} {:+7.2}  (probability {:.4})", "total", "", self.weight, self.probability)
    }
}

/// Column headers for an explained pair list, one per field.
pub fn field_headers(fields: &[Field], categories: &[(String, String)]) -> Vec<String> {
    fields.iter().map(|f| f.name(categories)).collect()
}

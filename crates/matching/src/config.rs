//! The mapping file: which CSV column holds which kind of field. Matching works on lists from
//! any agency (health, insurance, tax, associations), so nothing about dancu's own CSV format
//! is assumed here; `configs/dancu.toml` is just one mapping among others.
//!
//! Every error names the key (and for header problems, the column) and the rule broken, so an
//! officer can fix the file without reading code. The format is documented in docs/MATCHING.md.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The mapping for dancu's own citizen CSV (docs/CSV.md) plus the generator's `record_id`
/// and `phone` columns; used when no `--config` is given.
pub const DANCU_TOML: &str = include_str!("../configs/dancu.toml");

/// Field kinds that may be read from several columns (joined with spaces).
pub const JOINABLE_KINDS: [&str; 4] = ["full_name", "address_detail", "province", "commune"];

/// Field kinds a column can be mapped to (the keys of `[columns]`).
pub const FIELD_KINDS: [&str; 14] = [
    "full_name",
    "family_name",
    "middle_name",
    "given_name",
    "birth_date",
    "personal_id",
    "cmnd",
    "unit",
    "province",
    "commune",
    "address_detail",
    "postcode",
    "phone",
    "record_id",
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("config: key `{key}`: {message} (rule {rule})")]
pub struct ConfigError {
    pub key: String,
    pub rule: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        ConfigError { key: key.into(), rule, message: message.into() }
    }
}

/// Which list a bare 5-digit unit code (no `2025:` / `legacy:` prefix) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BareUnitList {
    #[serde(rename = "2025")]
    V2025,
    #[serde(rename = "legacy")]
    Legacy,
    /// Bare codes are refused (treated as missing and reported), the safest default: a code
    /// means nothing without its list.
    #[serde(rename = "none")]
    Refuse,
}

/// One column, or several read as one text (`address_detail = ["so_nha", "duong"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ColumnSpec {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    columns: BTreeMap<String, ColumnSpec>,
    #[serde(default)]
    categories: BTreeMap<String, String>,
    #[serde(default)]
    settings: Settings,
}

/// Tuning knobs; every one has a default that suits lists of 10⁴–10⁷ rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Match probability at or above which a pair is a predicted match.
    pub threshold: f64,
    /// Columns that may be absent from a file's header (treated as empty).
    pub optional_columns: Vec<String>,
    /// List of bare unit codes.
    pub unit_list: BareUnitList,
    /// Blocks with more records than this are not compared all-against-all but through a
    /// sorted window (see blocking.rs).
    pub max_block: usize,
    /// Neighbours compared in an oversized block.
    pub window: usize,
    /// Largest cluster the clustering step will build.
    pub max_cluster: usize,
    /// Random pairs drawn to estimate u probabilities.
    pub u_sample_pairs: usize,
    /// Pairs with a probability from here up to `threshold` are written for clerical review
    /// (`--pairs`, `link --out`: column `decision` = `review`); `None`: no review band.
    pub review_threshold: Option<f64>,
    /// Formats of the birth date column, tried in order (`%Y%m%d`, `%d/%m/%Y`, `%Y-%m-%d`,
    /// `%Y`, …: `%d`, `%m`, `%Y` and separators). Empty: the built-in list of
    /// docs/MATCHING.md (day first).
    pub date_formats: Vec<String>,
    /// Blocking rules by name (docs/MATCHING.md, "Blocking"); empty: the default set.
    pub blocking: Vec<String>,
    /// A column whose non-empty values fail to parse in more than this share of the rows
    /// stops the run (docs/MATCHING.md, "Bad input").
    pub max_unparsed_share: f64,
    /// Columns allowed to fail more often than `max_unparsed_share` (their bad values are
    /// ignored and reported).
    pub allow_unparsed: Vec<String>,
    /// `date_formats`, checked.
    #[serde(skip)]
    pub parsed_date_formats: Vec<crate::normalise::DateFormat>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.5,
            optional_columns: Vec::new(),
            unit_list: BareUnitList::V2025,
            max_block: 200,
            window: 25,
            max_cluster: 20,
            u_sample_pairs: 1_000_000,
            review_threshold: None,
            date_formats: Vec::new(),
            blocking: Vec::new(),
            max_unparsed_share: 0.5,
            allow_unparsed: Vec::new(),
            parsed_date_formats: Vec::new(),
        }
    }
}

/// A validated mapping.
#[derive(Debug, Clone)]
pub struct MatchConfig {
    /// Field kind → column name (the first, when several are joined).
    pub columns: BTreeMap<String, String>,
    /// Field kinds read from several columns, joined with spaces (text kinds only).
    pub joined: BTreeMap<String, Vec<String>>,
    /// Category name (e.g. `sex`) → column name; compared for exact equality.
    pub categories: Vec<(String, String)>,
    pub settings: Settings,
}

/// At most this many category columns (they share the comparison-vector budget).
pub const MAX_CATEGORIES: usize = 3;

impl MatchConfig {
    /// Parses and checks a mapping. Errors name the key and the rule.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span_key = e.message().to_string();
            ConfigError::new(key_of_toml_error(text, &e), "config.syntax", span_key)
        })?;
        let mut columns = BTreeMap::new();
        let mut joined = BTreeMap::new();
        for (kind, spec) in &raw.columns {
            let list = match spec {
                ColumnSpec::One(c) => vec![c.clone()],
                ColumnSpec::Many(v) => v.clone(),
            };
            if list.is_empty() {
                return Err(ConfigError::new(
                    format!("columns.{kind}"),
                    "config.empty_column",
                    "no column named",
                ));
            }
            if list.len() > 1 {
                if !JOINABLE_KINDS.contains(&kind.as_str()) {
                    return Err(ConfigError::new(
                        format!("columns.{kind}"),
                        "config.not_joinable",
                        format!("only {} may be read from several columns", JOINABLE_KINDS.join(", ")),
                    ));
                }
                joined.insert(kind.clone(), list.clone());
            }
            columns.insert(kind.clone(), list[0].clone());
        }
        for (kind, spec) in &raw.columns {
            let column = match spec {
                ColumnSpec::One(c) => c.as_str(),
                ColumnSpec::Many(v) => {
                    v.iter().find(|c| c.trim().is_empty()).map(String::as_str).unwrap_or("x")
                }
            };
            if !FIELD_KINDS.contains(&kind.as_str()) {
                return Err(ConfigError::new(
                    format!("columns.{kind}"),
                    "config.unknown_kind",
                    format!("unknown field kind; expected one of {}", FIELD_KINDS.join(", ")),
                ));
            }
            if column.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("columns.{kind}"),
                    "config.empty_column",
                    "the column name is empty",
                ));
            }
        }
        let has = |k: &str| columns.contains_key(k);
        if has("full_name") && (has("family_name") || has("given_name") || has("middle_name")) {
            return Err(ConfigError::new(
                "columns.full_name",
                "config.name_conflict",
                "map either full_name or family_name/middle_name/given_name, not both",
            ));
        }
        if !(has("full_name") || (has("family_name") && has("given_name"))) {
            return Err(ConfigError::new(
                "columns",
                "config.name_required",
                "a name is required: map full_name, or family_name and given_name",
            ));
        }
        if raw.categories.len() > MAX_CATEGORIES {
            return Err(ConfigError::new(
                "categories",
                "config.too_many_categories",
                format!("at most {MAX_CATEGORIES} category columns"),
            ));
        }
        let s = &raw.settings;
        if !(s.threshold > 0.0 && s.threshold < 1.0) {
            return Err(ConfigError::new(
                "settings.threshold",
                "config.threshold_range",
                "the threshold is a probability strictly between 0 and 1",
            ));
        }
        if let Some(r) = s.review_threshold {
            if !(r > 0.0 && r < s.threshold) {
                return Err(ConfigError::new(
                    "settings.review_threshold",
                    "config.threshold_range",
                    "the review threshold is a probability above 0 and below settings.threshold",
                ));
            }
        }
        if !(s.max_unparsed_share > 0.0 && s.max_unparsed_share <= 1.0) {
            return Err(ConfigError::new(
                "settings.max_unparsed_share",
                "config.share_range",
                "a share above 0 and at most 1",
            ));
        }
        let mut parsed_date_formats = Vec::new();
        for (i, f) in s.date_formats.iter().enumerate() {
            match crate::normalise::DateFormat::parse(f) {
                Ok(d) => parsed_date_formats.push(d),
                Err(message) => {
                    return Err(ConfigError::new(
                        format!("settings.date_formats[{i}]"),
                        "config.date_format",
                        message,
                    ))
                }
            }
        }
        for (i, r) in s.blocking.iter().enumerate() {
            if !crate::blocking::RULE_NAMES.contains(&r.as_str()) {
                return Err(ConfigError::new(
                    format!("settings.blocking[{i}]"),
                    "config.unknown_rule",
                    format!(
                        "unknown blocking rule {r:?}; expected one of {}",
                        crate::blocking::RULE_NAMES.join(", ")
                    ),
                ));
            }
        }
        for (key, v, min) in [
            ("settings.max_block", s.max_block, 2),
            ("settings.window", s.window, 1),
            ("settings.max_cluster", s.max_cluster, 2),
            ("settings.u_sample_pairs", s.u_sample_pairs, 1000),
        ] {
            if v < min {
                return Err(ConfigError::new(key, "config.too_small", format!("must be at least {min}")));
            }
        }
        let mut settings = raw.settings;
        settings.parsed_date_formats = parsed_date_formats;
        Ok(MatchConfig { columns, joined, categories: raw.categories.into_iter().collect(), settings })
    }

    /// The mapping for dancu's own CSV.
    pub fn dancu_default() -> Self {
        Self::from_toml(DANCU_TOML).expect("the embedded dancu.toml is valid")
    }

    pub fn column(&self, kind: &str) -> Option<&str> {
        self.columns.get(kind).map(String::as_str)
    }

    /// Every column the mapping reads, with the key that names it.
    pub fn referenced(&self) -> Vec<(String, &str)> {
        let mut v: Vec<(String, &str)> = Vec::new();
        for (k, c) in &self.columns {
            match self.joined.get(k) {
                Some(list) => v.extend(list.iter().map(|c| (format!("columns.{k}"), c.as_str()))),
                None => v.push((format!("columns.{k}"), c.as_str())),
            }
        }
        v.extend(self.categories.iter().map(|(k, c)| (format!("categories.{k}"), c.as_str())));
        v
    }
}

fn line_start_of(before: &str) -> usize {
    before.rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// The dotted key a TOML error is about, found from its byte span (best effort).
fn key_of_toml_error(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else { return "(file)".into() };
    let before = &text[..span.start.min(text.len())];
    let table = before[..line_start_of(before)]
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .unwrap_or("");
    let line_start = line_start_of(before);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    match (table.is_empty(), key.is_empty() || key.starts_with('[')) {
        (_, true) if !table.is_empty() => table.to_string(),
        (true, _) => key.to_string(),
        _ => format!("{table}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses() {
        let c = MatchConfig::dancu_default();
        assert_eq!(c.column("given_name"), Some("given_name"));
        assert_eq!(c.categories, vec![("sex".to_string(), "sex".to_string())]);
    }

    #[test]
    fn errors_name_key_and_rule() {
        let e = MatchConfig::from_toml("[columns]\nfull_nam = \"x\"\n").unwrap_err();
        assert_eq!((e.key.as_str(), e.rule), ("columns.full_nam", "config.unknown_kind"));
        let e = MatchConfig::from_toml("[columns]\nfamily_name = \"ho\"\n").unwrap_err();
        assert_eq!(e.rule, "config.name_required");
        let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\nthreshold = 1.5\n")
            .unwrap_err();
        assert_eq!((e.key.as_str(), e.rule), ("settings.threshold", "config.threshold_range"));
        let e = MatchConfig::from_toml("[columns]\nfull_name = \"x\"\n[settings]\nthreshhold = 0.5\n")
            .unwrap_err();
        assert_eq!(e.rule, "config.syntax");
        assert!(e.to_string().contains("threshhold"), "{e}");
        let e = MatchConfig::from_toml("[columns]\nfull_name = 3\n").unwrap_err();
        assert_eq!((e.key.as_str(), e.rule), ("columns.full_name", "config.syntax"));
    }
}

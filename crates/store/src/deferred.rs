//! Deferred indexes missing at start. A bulk import drops the deferrable indexes (and, on
//! PostgreSQL, the household foreign key) and rebuilds them at its end; an import that was
//! killed leaves them missing, and every search then scans the citizens table. Opening the
//! database restores them (both backends, in `migrate`), after this loud warning: the
//! rebuild may take minutes on a large registry, and the operator should know why.

/// The warning for `missing` deferred indexes (or constraints) on `backend`.
pub(crate) fn message(backend: &str, missing: &[&str]) -> String {
    format!(
        "{backend}: deferred indexes missing: {} (a bulk import was interrupted?). Rebuilding them \
         now, before serving; this may take minutes on a large registry. If another process is \
         importing into this database right now, this start rebuilds them during its load: stop \
         this process and start it after the import (docs/OPERATIONS.md, \"Deferred indexes\")",
        missing.join(", ")
    )
}

/// Logs [`message`] as a warning, if anything is missing.
pub(crate) fn warn_missing(backend: &str, missing: &[&str]) {
    if !missing.is_empty() {
        tracing::warn!(backend, missing = missing.join(","), "{}", message(backend, missing));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_warning_names_every_missing_index_and_what_happens() {
        let m = super::message("sqlite", &["citizens_name_idx", "citizens_commune_idx"]);
        assert!(m.contains("citizens_name_idx, citizens_commune_idx"), "{m}");
        assert!(m.contains("Rebuilding them now"), "{m}");
    }
}

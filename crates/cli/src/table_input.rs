//! Input lists for `import citizens` and `reconcile`: XLSX or CSV with `,` or `;`, turned into
//! the `,` CSV the readers take (`dancu_matching::table`). A converted copy lives in a
//! private scratch folder under the file's own name, so messages name the user's file, and
//! the folder is removed when the value is dropped.

use std::path::{Path, PathBuf};

use anyhow::Result;

pub struct CommaCsv {
    pub path: PathBuf,
    scratch: Option<PathBuf>,
}

impl Drop for CommaCsv {
    fn drop(&mut self) {
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn comma_csv(file: &Path) -> Result<CommaCsv> {
    let dir =
        std::env::temp_dir().join(format!("dancu-input-{}-{}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir)?;
    let name = file.file_name().map_or_else(|| "input.csv".into(), |n| n.to_os_string());
    // Built first so that the folder is removed on an error too.
    let mut out = CommaCsv { path: file.to_path_buf(), scratch: Some(dir.clone()) };
    out.path = dancu_matching::table::as_comma_csv(file, &dir.join(name))?;
    Ok(out)
}

//! The site's `data/` files (`data/*.yaml`, by file stem) and the reading of YAML
//! files as JSON values with positioned errors (data files, theme strings).
//!
//! Below both `config` (whose `values_from` lists come from `data/`) and `load`
//! (which reads the theme strings the same way): it imports only `error`, `node`
//! and `schema` (for [`DataLists`]). It does not validate what the files hold.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::error::{self, Diagnostic, Error};
use crate::node;
use crate::schema::DataLists;

/// The files of `data/`, by file stem.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Each file's content as JSON.
    pub values: BTreeMap<String, Json>,
}

impl Data {
    /// The data files that are lists of strings (for `values_from`).
    pub fn lists(&self) -> DataLists {
        self.values
            .iter()
            .filter_map(|(k, v)| {
                let list: Option<Vec<String>> =
                    v.as_array()?.iter().map(|x| x.as_str().map(str::to_string)).collect();
                Some((k.clone(), list?))
            })
            .collect()
    }
}

/// Parses a YAML file into JSON, reporting a read or syntax error with its
/// position and the file's path relative to `root`.
pub fn read_yaml(root: &Path, path: &Path) -> Result<Json, Diagnostic> {
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(&rel, Default::default(), "", format!("lecture impossible : {e}")))?;
    node::parse(&text).map(|n| node::to_json(&n)).map_err(|e| Diagnostic::new(&rel, e.pos, "", e.message))
}

/// Reads `data/*.yaml` under the site `root`.
pub fn load(root: &Path) -> Result<Data, Error> {
    let dir = root.join("data");
    let mut values = BTreeMap::new();
    let mut diags = Vec::new();
    if dir.is_dir() {
        for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = e.map_err(|e| Error::io(&dir, e))?.path();
            let ext = path.extension().and_then(|x| x.to_str());
            if !matches!(ext, Some("yaml" | "yml")) {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            match read_yaml(root, &path) {
                Ok(v) => {
                    values.insert(stem, v);
                }
                Err(d) => diags.push(d),
            }
        }
    }
    error::check(diags)?;
    Ok(Data { values })
}

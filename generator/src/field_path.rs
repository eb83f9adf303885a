//! Dotted field paths: `cover`, `partners[2].logo`, `sessions[0].start`. One
//! syntax for the paths diagnostics name, the model completes (image values) and
//! YAML positions are looked up by (`node`).
//!
//! Shared at the bottom of the crate: it imports no other module. Walking the
//! values of an entry *with their schema* is [`crate::schema::visit_values`].

use serde_json::{Map, Value as Json};

/// One step of a path: a key of a map, or an index in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// `name`
    Key(&'a str),
    /// `[i]`
    Index(usize),
}

/// The steps of a path, in order: `partners[2].logo` → `partners`, `2`, `logo`.
/// Empty segments and malformed indices are skipped.
pub fn steps(path: &str) -> impl Iterator<Item = Step<'_>> {
    path.split('.').filter(|s| !s.is_empty()).flat_map(|seg| {
        let (name, indexes) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        let key = (!name.is_empty()).then_some(Step::Key(name));
        key.into_iter().chain(indexes.split('[').filter_map(|x| x.strip_suffix(']')?.parse().ok()).map(Step::Index))
    })
}

/// The path of a list item: `partners` → `partners[2]`.
pub fn item(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The path of an object's field: `partners[2]` → `partners[2].logo`; a
/// top-level field's when `path` is empty.
pub fn member(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

/// The top-level field a path starts in: `partners[2].logo` → `partners`.
pub fn top(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or("")
}

/// The value at `path` in a field map.
pub fn get<'a>(fields: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut steps = steps(path);
    let Some(Step::Key(first)) = steps.next() else { return None };
    let mut cur = fields.get(first)?;
    for step in steps {
        cur = match step {
            Step::Key(k) => cur.get(k)?,
            Step::Index(i) => cur.get(i)?,
        };
    }
    Some(cur)
}

/// The value at `path` in a field map, to change it.
pub fn get_mut<'a>(fields: &'a mut Map<String, Json>, path: &str) -> Option<&'a mut Json> {
    let mut steps = steps(path);
    let Some(Step::Key(first)) = steps.next() else { return None };
    let mut cur = fields.get_mut(first)?;
    for step in steps {
        cur = match step {
            Step::Key(k) => cur.get_mut(k)?,
            Step::Index(i) => cur.get_mut(i)?,
        };
    }
    Some(cur)
}

/// Replaces the value at `path` in a field map; nothing happens when the path
/// does not exist.
pub fn set(fields: &mut Map<String, Json>, path: &str, value: Json) {
    if let Some(v) = get_mut(fields, path) {
        *v = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(steps("partners[2].logo").collect::<Vec<_>>(), [Step::Key("partners"), Step::Index(2), Step::Key("logo")]);
        assert_eq!(steps("a[1][0]").collect::<Vec<_>>(), [Step::Key("a"), Step::Index(1), Step::Index(0)]);
        assert_eq!(top("partners[2].logo"), "partners");
        assert_eq!(member(&item("partners", 2), "logo"), "partners[2].logo");
        assert_eq!(member("", "cover"), "cover");
        let Json::Object(mut m) = json!({"cover": {"src": "a.jpg"}, "partners": [{"logo": 1}, {"logo": 2}]}) else { panic!() };
        assert_eq!(get(&m, "partners[1].logo"), Some(&json!(2)));
        assert_eq!(get(&m, "partners[2].logo"), None);
        set(&mut m, "cover.src", json!("b.jpg"));
        set(&mut m, "missing.src", json!("c.jpg"));
        assert_eq!(get(&m, "cover.src"), Some(&json!("b.jpg")));
        assert!(!m.contains_key("missing"));
    }
}

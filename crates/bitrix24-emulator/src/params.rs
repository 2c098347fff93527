//! Request parameters: the query string and the body (JSON, or
//! `application/x-www-form-urlencoded` with PHP-style nested keys) merged
//! into one nested JSON object, and flattened back to PHP-style keys for
//! [`crate::MethodCall::params`].
//!
//! Notes §5.9: accept JSON and form bodies, including PHP-style nested keys
//! (`USER_ID[0]=…`, `filter[CONTACT_ID]=…`). Inferred, as PHP does it:
//! `a[]=x` appends; a later duplicate key overwrites; a map whose keys are
//! exactly `0..n` becomes an array. Top-level names are looked up
//! case-insensitively (`filter` / `FILTER`, `id` / `ID`; Bitrix accepts
//! both spellings, inferred from the docs mixing them).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Splits `a[b][][c]` into `["a", "b", "", "c"]`; a malformed key is one
/// plain name.
fn segments(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    let mut out = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return vec![key.to_owned()];
        };
        out.push(stripped[..close].to_owned());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() || out[0].is_empty() {
        return vec![key.to_owned()];
    }
    out
}

fn insert(obj: &mut Map<String, Value>, segs: &[String], value: String) {
    let key = if segs[0].is_empty() {
        obj.len().to_string()
    } else {
        segs[0].clone()
    };
    if segs.len() == 1 {
        obj.insert(key, Value::String(value));
        return;
    }
    let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert(inner, &segs[1..], value);
    }
}

/// Objects keyed `"0".."n-1"` become arrays, recursively.
fn normalise(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sequential =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if sequential {
                let mut map = map;
                Value::Array(
                    (0..map.len())
                        .map(|i| normalise(map.remove(&i.to_string()).unwrap_or(Value::Null)))
                        .collect(),
                )
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, normalise(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

/// PHP-style pairs as one nested object.
pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in pairs {
        insert(&mut root, &segments(key), value.clone());
    }
    match normalise(Value::Object(root)) {
        Value::Object(map) => map,
        // A top-level map keyed 0..n: keep it keyed.
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Map::new(),
    }
}

/// A nested value flattened to PHP-style keys.
pub(crate) fn flatten(params: &Map<String, Value>) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(&format!("{prefix}[{k}]"), v, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), scalar(other).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    for (k, v) in params {
        walk(k, v, &mut out);
    }
    out
}

/// A scalar as text (`true` → `"1"`, `false` → `"0"`, as PHP prints them;
/// `null` → none).
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

/// A method's parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub(crate) Map<String, Value>);

impl Params {
    /// The top-level value named `name`, case-insensitively.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// A scalar parameter as trimmed text; empty counts as absent.
    pub(crate) fn str(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(scalar)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// A 0/1 (or Y/N, true/false) flag; `default` when absent.
    pub(crate) fn flag(&self, name: &str, default: bool) -> bool {
        match self.str(name) {
            None => default,
            Some(s) => matches!(s.to_ascii_lowercase().as_str(), "1" | "y" | "true"),
        }
    }

    /// A list parameter: an array, a map's values, or one scalar.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        list_of(self.get(name))
    }

    /// A nested map parameter (`filter`, `FIELDS`), with case-insensitive
    /// lookups.
    pub(crate) fn map(&self, name: &str) -> Params {
        match self.get(name) {
            Some(Value::Object(map)) => Params(map.clone()),
            _ => Params::default(),
        }
    }
}

/// An array, a map's values, or one scalar, as texts.
pub(crate) fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(Value::Object(map)) => map.values().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn php_keys_nest_and_flatten_back() {
        let map = from_pairs(&pairs(&[
            ("FIELDS[PHONE][0][VALUE]", "+34 647"),
            ("FIELDS[PHONE][0][VALUE_TYPE]", "WORK"),
            ("VALUES[]", "a"),
            ("VALUES[]", "b"),
            ("filter[CONTACT_ID]", "7"),
            ("plain", "x"),
            ("bad[key", "y"),
        ]));
        assert_eq!(
            Value::Object(map.clone()),
            json!({
                "FIELDS": {"PHONE": [{"VALUE": "+34 647", "VALUE_TYPE": "WORK"}]},
                "VALUES": ["a", "b"],
                "filter": {"CONTACT_ID": "7"},
                "plain": "x",
                "bad[key": "y",
            })
        );
        let flat = flatten(&map);
        assert_eq!(flat["FIELDS[PHONE][0][VALUE]"], "+34 647");
        assert_eq!(flat["VALUES[1]"], "b");
        assert_eq!(flat["filter[CONTACT_ID]"], "7");
        let params = Params(map);
        assert_eq!(params.map("FILTER").str("contact_id").as_deref(), Some("7"));
        assert_eq!(params.list("values"), vec!["a", "b"]);
    }
}

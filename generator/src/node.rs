//! A YAML tree that remembers where every value came from.
//!
//! Front matter is parsed into `Node`s rather than straight into typed structs
//! because its shape is only known at run time (from the collection schema), and
//! every validation message must name the line and column of the offending value.
//! serde-saphyr does the parsing (panic-free, with locations); this module only
//! adds a recursive value type on top of its `Spanned` wrapper, the positions of
//! dotted field paths in it (syntax of [`crate::field_path`]), and the conversions
//! to and from JSON values.
//!
//! Shared data at the bottom of the crate: it imports only `field_path`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use crate::field_path::{self, Step};

/// Line and column (1-based) of a value in its source file; `0:0` when unknown
/// (values that came from a web form rather than a file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, 1-based.
    pub line: u32,
    /// Column, 1-based.
    pub col: u32,
}

/// One YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub value: Value,
}

/// The YAML data model we accept. Mapping keys are kept in file order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, keys in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its own position, so "unknown key" errors point at the key.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// Where the key is.
    pub pos: Pos,
    /// The key's text.
    pub name: String,
}

impl Value {
    /// A short French name of the value's type, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "une valeur vide",
            Value::Bool(_) => "un booléen",
            Value::Int(_) => "un nombre entier",
            Value::Float(_) => "un nombre décimal",
            Value::Str(_) => "un texte",
            Value::Seq(_) => "une liste",
            Value::Map(_) => "un dictionnaire",
        }
    }
}

impl Node {
    /// Position of a dotted path (`partners[1].country`) inside this node: the
    /// deepest part of the path that exists, so a missing key points at its parent.
    pub fn pos_of(&self, path: &str) -> Pos {
        let mut node = self;
        let mut best = self.pos;
        for step in field_path::steps(path) {
            match step {
                Step::Key(name) => {
                    let Value::Map(m) = &node.value else { break };
                    let Some((k, v)) = m.iter().find(|(k, _)| k.name == name) else { break };
                    best = k.pos;
                    node = v;
                }
                Step::Index(ix) => {
                    let Value::Seq(items) = &node.value else { break };
                    let Some(it) = items.get(ix) else { break };
                    best = it.pos;
                    node = it;
                }
            }
        }
        best
    }

    /// Position of the value at a dotted path when the whole path exists, so that a
    /// message about a value points at the value rather than at its key; otherwise
    /// the same as [`Node::pos_of`].
    pub fn value_pos_of(&self, path: &str) -> Pos {
        let mut node = self;
        for step in field_path::steps(path) {
            let next = match (step, &node.value) {
                (Step::Key(name), Value::Map(m)) => m.iter().find(|(k, _)| k.name == name).map(|(_, v)| v),
                (Step::Index(ix), Value::Seq(items)) => items.get(ix),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return self.pos_of(path),
            }
        }
        node.pos
    }

    /// A node without position (values that did not come from a file).
    pub fn new(value: Value) -> Self {
        Node { pos: Pos::default(), value }
    }

    /// Converts JSON (a web form or the JSON API) into a node without positions.
    pub fn from_json(v: &serde_json::Value) -> Self {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (Key { pos: Pos::default(), name: k.clone() }, Node::from_json(v)))
                    .collect(),
            ),
        };
        Node::new(value)
    }
}

/// Raw value as produced by the visitor, before its position is attached.
struct RawValue(Value);

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(RawValue(Value::Int(i))),
            Err(_) => Ok(RawValue(Value::Float(v as f64))),
        }
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue(Value::Str(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue(Value::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(RawValue(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(k) = map.next_key::<serde_saphyr::Spanned<RawValue>>()? {
            let name = match k.value.0 {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(de::Error::custom(format!(
                        "une clé doit être un texte, pas {}",
                        other.kind_name()
                    )));
                }
            };
            let pos = Pos { line: k.referenced.line() as u32, col: k.referenced.column() as u32 };
            let v: Node = map.next_value()?;
            if entries.iter().any(|(e, _)| e.name == name) {
                return Err(de::Error::custom(format!("clé « {name} » en double")));
            }
            entries.push((Key { pos, name }, v));
        }
        Ok(RawValue(Value::Map(entries)))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<RawValue>::deserialize(d)?;
        Ok(Node {
            pos: Pos { line: s.referenced.line() as u32, col: s.referenced.column() as u32 },
            value: s.value.0,
        })
    }
}

/// A YAML syntax error with its position, and the parser's message.
#[derive(Debug, Clone)]
pub struct YamlError {
    /// Where the error is.
    pub pos: Pos,
    /// The parser's message.
    pub message: String,
}

/// Parses one YAML document. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    if text.trim().is_empty() {
        return Ok(Node { pos: Pos { line: 1, col: 1 }, value: Value::Null });
    }
    serde_saphyr::from_str::<Node>(text).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos { line: l.line() as u32, col: l.column() as u32 })
            .unwrap_or(Pos { line: 1, col: 1 });
        YamlError { pos, message: error_message(&e) }
    })
}

/// The JSON value of a node (positions dropped; a non-finite float becomes null).
pub fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as Json;
    match &n.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

/// The parser's message without its snippet and without its own "line N column M"
/// (which counts from the start of the YAML text, not of the file it came from:
/// callers report the position themselves, shifted where needed).
pub fn error_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let msg = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet()).trim().to_string();
    if msg.is_empty() { "YAML invalide".into() } else { msg }
}

impl Node {
    /// Dotted path (`collections.notes.fields.summary.required`) of the key or value
    /// that starts at `pos`, if any, and whether it is a key: the reverse of [`Node::pos_of`].
    pub fn path_at(&self, pos: Pos) -> Option<(String, bool)> {
        fn walk(n: &Node, pos: Pos, path: &str) -> Option<(String, bool)> {
            match &n.value {
                Value::Map(m) => m.iter().find_map(|(k, v)| {
                    let p = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
                    // The key itself, else the deepest value starting there.
                    if k.pos == pos {
                        Some((p, true))
                    } else {
                        walk(v, pos, &p).or_else(|| (v.pos == pos).then_some((p, false)))
                    }
                }),
                Value::Seq(items) => items.iter().enumerate().find_map(|(i, v)| {
                    let p = format!("{path}[{i}]");
                    walk(v, pos, &p).or_else(|| (v.pos == pos).then_some((p, false)))
                }),
                _ => None,
            }
        }
        walk(self, pos, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_nested_values() {
        let n = parse("title: Bonjour\nlist:\n  - a\n  - { x: 1 }\n").unwrap();
        let Value::Map(m) = &n.value else { panic!("not a map") };
        assert_eq!(m[0].0.name, "title");
        assert_eq!(m[0].0.pos, Pos { line: 1, col: 1 });
        assert_eq!(m[0].1.pos.line, 1);
        let Value::Seq(items) = &m[1].1.value else { panic!("not a seq") };
        assert_eq!(items[1].pos.line, 4);
        let Value::Map(inner) = &items[1].value else { panic!() };
        assert_eq!(inner[0].1.value, Value::Int(1));
    }

    #[test]
    fn paths_and_positions_both_ways() {
        let n = parse("a: 1\nb:\n  c: [x, { d: y }]\n").unwrap();
        assert_eq!(n.pos_of("b.c"), Pos { line: 3, col: 3 });
        assert_eq!(n.value_pos_of("b.c"), Pos { line: 3, col: 6 });
        assert_eq!(n.value_pos_of("b.c[1].d"), Pos { line: 3, col: 15 });
        assert_eq!(n.value_pos_of("b.zz"), n.pos_of("b.zz"));
        assert_eq!(n.path_at(Pos { line: 3, col: 3 }), Some(("b.c".to_string(), true)));
        assert_eq!(n.path_at(Pos { line: 3, col: 15 }), Some(("b.c[1].d".to_string(), false)));
        assert_eq!(n.path_at(Pos { line: 3, col: 12 }), Some(("b.c[1].d".to_string(), true)));
        assert_eq!(n.path_at(Pos { line: 9, col: 1 }), None);
    }

    #[test]
    fn syntax_error_messages_carry_no_position_of_their_own() {
        let e = parse("a: 1\nb: \"x\n").unwrap_err();
        assert_eq!(e.pos.line, 2, "{e:?}");
        assert!(!e.message.contains("line"), "{e:?}");
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_have_positions() {
        let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.pos.line >= 2, "{e:?}");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("double") || e.message.to_lowercase().contains("duplicate"), "{e:?}");
    }
}

//! Helpers shared by the end-to-end tests.
//!
//! The tests assert what the program reports as data: the `--json` document's fields and the
//! exit status. The wording of the human reports and messages is checked once, by the docs
//! golden test (`docs_examples.rs`), against the sessions the documents show.

// Each test binary includes this module and uses a part of it.
#![allow(dead_code, reason = "each test binary uses a subset of the helpers")]

use std::fmt;

use assert_cmd::Command;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value, json};

/// The `hvsignal` binary, with colour off.
pub fn hvsignal() -> Command {
    let mut cmd = Command::cargo_bin("hvsignal").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// What one run printed.
pub struct Printed {
    /// stdout, as bytes (a JSON document, a report or nothing).
    pub stdout: Vec<u8>,
    /// stderr, lossily decoded (warnings and the error line).
    pub stderr: String,
}

/// Runs `hvsignal ARGS` (nothing added), asserts its exit status is `code`.
pub fn run(args: &[&str], code: i32) -> Printed {
    let output = hvsignal().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    Printed {
        stdout: output.stdout,
        stderr,
    }
}

/// Runs `hvsignal ARGS` (which name `--json` themselves, wherever they want it), asserts the exit
/// status, and parses the one JSON document on stdout. An error document must carry the same
/// status in `exit_code`.
pub fn document(args: &[&str], code: i32) -> Value {
    let printed = run(args, code);
    let v = parse_strict_json(&printed.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: one JSON document with unique keys: {e}"));
    if v.get("error").is_some() {
        assert_eq!(v["exit_code"], json!(code), "{args:?}: {v}");
    }
    v
}

/// Runs `hvsignal --json ARGS`, asserts the exit status, returns the parsed document.
pub fn json_of(args: &[&str], code: i32) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    document(&all, code)
}

/// Runs `hvsignal --json ARGS`, which must fail with `code` and an error of `kind`; returns the
/// error document.
pub fn error_of(args: &[&str], code: i32, kind: &str) -> Value {
    let v = json_of(args, code);
    assert_eq!(v["error"]["kind"], json!(kind), "{args:?}: {v}");
    v
}

/// Asserts that an error `message` names each of `values` (the option, the value given, the file,
/// the line, the limit): the facts a user acts on, without pinning the sentence around them.
pub fn assert_names(message: &str, values: &[&str]) {
    for value in values {
        assert!(message.contains(value), "{value:?} not named in: {message}");
    }
}

/// Parses one JSON document, refusing duplicate object keys anywhere in it.
///
/// `serde_json::Value` silently keeps the last of two equal keys, but other consumers do not:
/// PowerShell's `ConvertFrom-Json` (the VM harness) rejects such a document outright. Every
/// JSON test goes through this parser so a repeated key fails the test that produced it.
pub fn parse_strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|strict| strict.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[test]
fn strict_parser_refuses_duplicate_keys_at_any_depth() {
    assert!(parse_strict_json(br#"{"a": 1, "b": [{"c": 2, "d": null}]}"#).is_ok());
    let error = parse_strict_json(br#"{"a": 1, "b": [{"c": 2, "c": 3}]}"#).unwrap_err();
    assert!(error.to_string().contains("duplicate key `c`"), "{error}");
    assert!(parse_strict_json(br#"{"a": 1, "a": 1}"#).is_err());
}

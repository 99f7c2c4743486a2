//! The TraceLogging events, three ways round: the driver's trace glue (driver/trace.rs, compiled
//! here on every host, where `tracelogging` is a no-op) and the console program's
//! (app/src/trace.rs) write exactly the fields `hvsignal_proto::trace::EVENTS` defines, with the
//! same kinds, levels and keywords; and docs/WINDOWS.md documents each event in a table with
//! exactly those fields. Off Windows only: on Windows the root package's `tracelogging` has
//! `kernel_mode` and would link kernel ETW.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]
#![cfg(not(windows))]

use hvsignal_proto::names::{
    CONSOLE_TRACE_PROVIDER_GUID, CONSOLE_TRACE_PROVIDER_NAME, DRIVER_TRACE_PROVIDER_GUID,
    DRIVER_TRACE_PROVIDER_NAME, Guid,
};
use hvsignal_proto::trace::{EVENTS, EventSpec};

#[path = "../driver/trace.rs"]
#[allow(
    dead_code,
    reason = "the driver calls these; the test only compiles them"
)]
mod driver_trace;

const DRIVER_SOURCE: &str = include_str!("../driver/trace.rs");
const CONSOLE_SOURCE: &str = include_str!("../app/src/trace.rs");
const WINDOWS_MD: &str = include_str!("../docs/WINDOWS.md");

fn guid(value: tracelogging::Guid) -> Guid {
    let (data1, data2, data3, data4) = value.to_fields();
    Guid {
        data1,
        data2,
        data3,
        data4,
    }
}

#[test]
fn the_driver_registers_the_documented_provider() {
    assert_eq!(driver_trace::provider_name(), DRIVER_TRACE_PROVIDER_NAME);
    assert_eq!(
        guid(driver_trace::provider_id()),
        DRIVER_TRACE_PROVIDER_GUID
    );
    // The console program's provider literal, from its source.
    assert!(
        CONSOLE_SOURCE.contains(&format!(
            "define_provider!(PROVIDER, \"{CONSOLE_TRACE_PROVIDER_NAME}\")"
        )),
        "app/src/trace.rs defines the {CONSOLE_TRACE_PROVIDER_NAME} provider"
    );
    assert_eq!(
        guid(tracelogging::Guid::from_name(CONSOLE_TRACE_PROVIDER_NAME)),
        CONSOLE_TRACE_PROVIDER_GUID
    );
}

/// One `write_event!` call as written in a source file.
#[derive(Debug, PartialEq, Eq)]
struct WrittenEvent {
    name: String,
    level: String,
    keyword: String,
    fields: Vec<(String, String)>,
}

/// Every `write_event!(PROVIDER, "Name", level(..), keyword(..), kind("Field", ..), ...)` call.
fn written_events(source: &str) -> Vec<WrittenEvent> {
    let mut events = Vec::new();
    for call in source.split("write_event!(").skip(1) {
        let body = &call[..call.find(");").expect("a write_event! call ends with `);`")];
        let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
        assert_eq!(lines.next(), Some("PROVIDER,"));
        let name = lines.next().expect("an event name");
        let level = lines.next().expect("a level");
        let keyword = lines.next().expect("a keyword");
        let fields = lines
            .map(|line| {
                let (kind, rest) = line.split_once("(\"").expect("kind(\"Name\", value)");
                let (field, _) = rest.split_once('"').expect("a quoted field name");
                (field.to_owned(), kind.to_owned())
            })
            .collect();
        events.push(WrittenEvent {
            name: name.trim_end_matches(',').trim_matches('"').to_owned(),
            level: level.to_owned(),
            keyword: keyword.to_owned(),
            fields,
        });
    }
    events
}

fn expected(spec: &EventSpec, keyword_const: &str) -> WrittenEvent {
    WrittenEvent {
        name: spec.name.to_owned(),
        level: format!("level({}),", spec.level.name()),
        keyword: format!("keyword({keyword_const}),"),
        fields: spec
            .fields
            .iter()
            .map(|f| (f.name.to_owned(), f.kind.to_owned()))
            .collect(),
    }
}

#[test]
fn the_write_calls_write_exactly_the_defined_fields() {
    use hvsignal_proto::trace::{COMMAND, DRIVER_LOAD, REFUSAL, REQUEST};
    assert_eq!(
        written_events(DRIVER_SOURCE),
        [
            expected(&DRIVER_LOAD, "KEYWORD_LOAD"),
            expected(&REQUEST, "KEYWORD_REQUEST"),
            expected(&REFUSAL, "KEYWORD_REFUSAL"),
        ]
    );
    assert_eq!(
        written_events(CONSOLE_SOURCE),
        [expected(&COMMAND, "KEYWORD_COMMAND")]
    );
}

/// The documentation of event `name`: the line after its heading, and its table's rows.
fn documented(name: &str) -> (String, Vec<Vec<String>>) {
    let heading = format!("#### Event `{name}`");
    let start = WINDOWS_MD
        .find(&format!("{heading}\n"))
        .unwrap_or_else(|| panic!("docs/WINDOWS.md has no `{heading}`"));
    let mut lines = WINDOWS_MD[start..]
        .lines()
        .skip(1)
        .skip_while(|l| l.is_empty());
    let summary = lines.next().unwrap_or_default().to_owned();
    let rows = lines
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();
    (summary, rows)
}

#[test]
fn docs_document_every_field_of_every_event() {
    for event in EVENTS {
        let (summary, rows) = documented(event.name);
        let says = format!(
            "Provider `{}`, level {} ({}), keyword `{:#x}`.",
            event.provider,
            event.level.name(),
            event.level.value(),
            event.keyword
        );
        assert!(
            summary.starts_with(&says),
            "{}: the line after the heading starts with {says:?}, found {summary:?}",
            event.name
        );
        let fields: Vec<_> = rows
            .iter()
            .map(|row| {
                assert_eq!(row.len(), 3, "{}: field | kind | meaning", event.name);
                assert!(!row[2].is_empty(), "{}.{}: a meaning", event.name, row[0]);
                (row[0].as_str(), row[1].as_str())
            })
            .collect();
        let defined: Vec<_> = event.fields.iter().map(|f| (f.name, f.kind)).collect();
        assert_eq!(fields, defined, "{}", event.name);
    }
}

#[test]
fn docs_give_both_provider_guids() {
    for (name, guid) in [
        (DRIVER_TRACE_PROVIDER_NAME, DRIVER_TRACE_PROVIDER_GUID),
        (CONSOLE_TRACE_PROVIDER_NAME, CONSOLE_TRACE_PROVIDER_GUID),
    ] {
        let braces = guid.to_string();
        let bare = &braces[1..braces.len() - 1];
        assert!(
            WINDOWS_MD.contains(&format!("| `{name}` | `{bare}` |")),
            "docs/WINDOWS.md's provider table lists {name} with {bare}"
        );
    }
}

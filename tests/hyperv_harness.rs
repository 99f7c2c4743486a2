//! The Hyper-V VM harness (`tests/hyperv/*.ps1`, `*.psm1`) parses, is strict, uses no aliases,
//! names the project's artefacts exactly as the code does, runs every console-program command
//! through calls whose arguments can be read statically, and reads only the JSON keys that
//! docs/ARCHITECTURE.md promises.
//!
//! The harness itself only runs on a Windows Hyper-V host; this test is what checks it on every
//! CI run. Every check works on the tree-sitter-powershell parse tree, and each has a unit test
//! below that feeds it a broken snippet, so none of them can pass vacuously.
//!
//! The parse and the extraction of console-program command lines live in
//! crates/test-support/src/powershell.rs: [`hvsignal_invocations`] finds every call of the harness's
//! wrappers (`Invoke-HvSignal`, `Invoke-HvSignalNonElevated`, `Invoke-HvSignalCli`) with its
//! `-ArgumentList` array, and every direct `hvsignal`/`hvsignal.exe` command, as token lists
//! ([`Token::Literal`], or [`Token::Dynamic`] for variables and expressions). The console
//! program's own unit tests (app/src/cli/harness_check.rs) use the same module and parse every
//! one of those command lines with the real clap definition.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hvsignal_proto::ioctl::IOCTL_HVSIGNAL_SIGNAL;
use hvsignal_proto::names::{
    CONSOLE_TRACE_PROVIDER_GUID, CONSOLE_TRACE_PROVIDER_NAME, DRIVER_BINARY,
    DRIVER_TRACE_PROVIDER_GUID, DRIVER_TRACE_PROVIDER_NAME, HARDWARE_ID, POLICY_KEY_PATH,
    RAW_POLICY_VALUE_NAME, SERVICE_NAME,
};
use hvsignal_proto::trace::{COMMAND, EVENTS, REQUEST};
use hvsignal_test_support::powershell::{
    Invocation, Token, WRAPPERS, command_name, commands, first_line, hvsignal_invocations,
    named_children, parse, position, script_paths, single_string_literal, string_value, text, walk,
};
use tree_sitter::{Node, Tree};

// ------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn harness_dir() -> PathBuf {
    root().join("tests").join("hyperv")
}

/// One harness script, read and parsed.
struct Script {
    /// Path relative to the repository root, for messages.
    name: String,
    source: String,
    tree: Tree,
}

fn load_scripts() -> Vec<Script> {
    let paths = script_paths(&harness_dir());
    assert!(
        paths.len() >= 4,
        "expected the harness scripts in {}, found {paths:?}",
        harness_dir().display()
    );
    paths
        .iter()
        .map(|path| {
            let source = std::fs::read_to_string(path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            let tree = parse(&source);
            let name = path
                .strip_prefix(root())
                .unwrap_or(path)
                .display()
                .to_string();
            Script { name, source, tree }
        })
        .collect()
}

fn script<'a>(scripts: &'a [Script], file_name: &str) -> &'a Script {
    scripts
        .iter()
        .find(|script| script.name.ends_with(file_name))
        .unwrap_or_else(|| panic!("the harness has no {file_name}"))
}

// ------------------------------------------------------------------------------------------------
// Parse-tree helpers
// ------------------------------------------------------------------------------------------------

/// Like [`walk`], but does not enter script blocks, statement blocks or function definitions:
/// what runs when the enclosing statement itself runs.
fn walk_shallow<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>)) {
    visit(node);
    if matches!(
        node.kind(),
        "script_block" | "script_block_expression" | "statement_block" | "function_statement"
    ) {
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk_shallow(child, visit);
    }
}

// ------------------------------------------------------------------------------------------------
// Check: syntax
// ------------------------------------------------------------------------------------------------

/// Every ERROR and MISSING node, with its position.
fn syntax_problems(source: &str) -> Vec<String> {
    let tree = parse(source);
    let mut problems = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.is_missing() {
            problems.push(format!("{}: missing `{}`", position(node), node.kind()));
        } else if node.is_error() {
            problems.push(format!(
                "{}: syntax error at `{}`",
                position(node),
                first_line(text(node, source))
            ));
        }
    });
    if problems.is_empty() && tree.root_node().has_error() {
        problems.push("the parse tree reports an error without an ERROR node".to_owned());
    }
    problems
}

// ------------------------------------------------------------------------------------------------
// Check: strict mode
// ------------------------------------------------------------------------------------------------

/// The statements directly in the file's top-level statement list.
fn top_level_statements(tree: &Tree) -> Vec<Node<'_>> {
    named_children(tree.root_node())
        .into_iter()
        .filter(|node| node.kind() == "statement_list")
        .flat_map(named_children)
        .collect()
}

/// Missing `Set-StrictMode -Version Latest` or `$ErrorActionPreference = 'Stop'` at the top level.
fn strictness_problems(source: &str) -> Vec<String> {
    let tree = parse(source);
    let mut strict_mode = false;
    let mut stop_on_error = false;
    for statement in top_level_statements(&tree) {
        walk_shallow(statement, &mut |node| match node.kind() {
            "command" => {
                let name = command_name(node, source);
                let elements: Vec<String> = node
                    .child_by_field_name("command_elements")
                    .map(|elements| {
                        named_children(elements)
                            .into_iter()
                            .filter(|element| element.kind() != "command_argument_sep")
                            .map(|element| text(element, source).to_ascii_lowercase())
                            .collect()
                    })
                    .unwrap_or_default();
                if name.is_some_and(|name| name.eq_ignore_ascii_case("Set-StrictMode"))
                    && elements == ["-version", "latest"]
                {
                    strict_mode = true;
                }
            }
            "assignment_expression" => {
                let mut cursor = node.walk();
                let left = node
                    .children(&mut cursor)
                    .find(|child| child.kind() == "left_assignment_expression");
                let value = node.child_by_field_name("value");
                if let (Some(left), Some(value)) = (left, value) {
                    let is_preference = text(left, source)
                        .trim()
                        .eq_ignore_ascii_case("$ErrorActionPreference");
                    let literal = single_string_literal(value, source);
                    if is_preference && literal.is_some_and(|value| value == "Stop") {
                        stop_on_error = true;
                    }
                }
            }
            _ => {}
        });
    }
    let mut problems = Vec::new();
    if !strict_mode {
        problems.push("no top-level `Set-StrictMode -Version Latest`".to_owned());
    }
    if !stop_on_error {
        problems.push("no top-level `$ErrorActionPreference = 'Stop'`".to_owned());
    }
    problems
}

// ------------------------------------------------------------------------------------------------
// Check: aliases
// ------------------------------------------------------------------------------------------------

/// The aliases Windows PowerShell 5.1 defines by default (`Get-Alias`), plus `foreach` used as a
/// command (the `ForEach-Object` alias, as opposed to the `foreach (...)` statement).
const ALIASES: &[&str] = &[
    "%", "?", "ac", "asnp", "cat", "cd", "cfs", "chdir", "clc", "clear", "clhy", "cli", "clp",
    "cls", "clv", "cnsn", "compare", "copy", "cp", "cpi", "cpp", "curl", "cvpa", "dbp", "del",
    "diff", "dir", "dnsn", "ebp", "echo", "epal", "epcsv", "epsn", "erase", "etsn", "exsn", "fc",
    "fhx", "fl", "foreach", "ft", "fw", "gal", "gbp", "gc", "gcb", "gci", "gcm", "gcs", "gdr",
    "ghy", "gi", "gin", "gjb", "gl", "gm", "gmo", "gp", "gps", "gpv", "group", "gsn", "gsnp",
    "gsv", "gtz", "gu", "gv", "gwmi", "h", "history", "icm", "iex", "ihy", "ii", "ipal", "ipcsv",
    "ipmo", "ipsn", "irm", "ise", "iwmi", "iwr", "kill", "lp", "ls", "man", "md", "measure", "mi",
    "mount", "move", "mp", "mv", "nal", "ndr", "ni", "nmo", "npssc", "nsn", "nv", "ogv", "oh",
    "popd", "ps", "pushd", "pwd", "r", "rbp", "rcjb", "rcsn", "rd", "rdr", "ren", "ri", "rjb",
    "rm", "rmdir", "rmo", "rni", "rnp", "rp", "rsn", "rsnp", "rujb", "rv", "rvpa", "rwmi", "sajb",
    "sal", "saps", "sasv", "sbp", "sc", "scb", "select", "set", "shcm", "si", "sl", "sleep", "sls",
    "sort", "sp", "spjb", "spps", "spsv", "start", "stz", "sujb", "sv", "swmi", "tee", "trcm",
    "type", "wget", "where", "wjb", "write",
];

/// Every command invoked by an alias, with its position.
fn alias_problems(source: &str) -> Vec<String> {
    let tree = parse(source);
    commands(&tree, source)
        .into_iter()
        .filter_map(|(node, name)| {
            let name = name?;
            ALIASES
                .iter()
                .any(|alias| alias.eq_ignore_ascii_case(&name))
                .then(|| {
                    format!(
                        "{}: `{name}` is an alias; write the full cmdlet name",
                        position(node)
                    )
                })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Check: names
// ------------------------------------------------------------------------------------------------

/// The variable that holds the harness's names table.
const NAMES_TABLE_VARIABLE: &str = "$script:HvSignalNames";

/// One `Key = 'value'` entry of the names table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameEntry {
    key: String,
    value: String,
    line: usize,
}

/// The names table's hash literal node and its entries, if this source defines the table.
fn names_table<'t>(tree: &'t Tree, source: &str) -> Option<(Node<'t>, Vec<NameEntry>)> {
    let mut table = None;
    walk(tree.root_node(), &mut |node| {
        if table.is_some() || node.kind() != "assignment_expression" {
            return;
        }
        let mut cursor = node.walk();
        let left = node
            .children(&mut cursor)
            .find(|child| child.kind() == "left_assignment_expression");
        if !left.is_some_and(|left| {
            text(left, source)
                .trim()
                .eq_ignore_ascii_case(NAMES_TABLE_VARIABLE)
        }) {
            return;
        }
        let mut hash = None;
        if let Some(value) = node.child_by_field_name("value") {
            walk(value, &mut |inner| {
                if hash.is_none() && inner.kind() == "hash_literal_expression" {
                    hash = Some(inner);
                }
            });
        }
        table = hash;
    });
    let table = table?;
    let mut entries = Vec::new();
    walk(table, &mut |node| {
        if node.kind() != "hash_entry" {
            return;
        }
        let children = named_children(node);
        let key = children
            .iter()
            .find(|child| child.kind() == "key_expression")
            .map(|key| text(*key, source).trim().to_owned());
        let value = children
            .iter()
            .find(|child| child.kind() == "pipeline")
            .and_then(|value| single_string_literal(*value, source));
        if let (Some(key), Some(value)) = (key, value) {
            entries.push(NameEntry {
                key,
                value,
                line: node.start_position().row + 1,
            });
        }
    });
    Some((table, entries))
}

/// Fragments that only the names table may spell: a string literal elsewhere containing one of
/// them (case-insensitively) copies a name instead of using the table.
const NAME_FRAGMENTS: &[&str] = &[
    "hvsignal_driver",
    "hvsignal.exe",
    "hvsignal_package",
    "root\\",
    "services\\",
    "allowraw",
    ".sys",
    ".inf",
    ".cat",
    ".pdb",
    "hvsignal.driver",
    "hvsignal.console",
];

/// The trace providers' GUIDs without braces, lowercase: a script that spells one outside the
/// names table drifts like a file name would.
fn guid_fragments() -> [String; 2] {
    [DRIVER_TRACE_PROVIDER_GUID, CONSOLE_TRACE_PROVIDER_GUID].map(|guid| {
        let braces = guid.to_string();
        braces[1..braces.len() - 1].to_owned()
    })
}

/// The text of a string literal without its interpolated variables and sub-expressions (each
/// replaced by a space): `"$toolsRoot\x"` is not `root\`, `"$($facts.SystemStartOptions)"` is
/// not `.sys`.
fn literal_text(node: Node<'_>, source: &str) -> String {
    let mut holes = Vec::new();
    walk(node, &mut |inner| {
        if matches!(inner.kind(), "variable" | "sub_expression") {
            holes.push(inner.byte_range());
        }
    });
    let mut literal = String::new();
    let mut at = node.start_byte();
    for hole in holes {
        if hole.start >= at {
            literal.push_str(&source[at..hole.start]);
            literal.push(' ');
            at = hole.end;
        }
    }
    literal.push_str(&source[at..node.end_byte()]);
    literal
}

/// Whether `text` contains `fragment`; a file extension (`.sys`) only counts at the end of a
/// word, so `'summary.informational'` does not spell `.inf`.
fn spells(text: &str, fragment: &str) -> bool {
    if !fragment.starts_with('.') {
        return text.contains(fragment);
    }
    text.match_indices(fragment).any(|(index, _)| {
        text[index + fragment.len()..]
            .chars()
            .next()
            .is_none_or(|next| !next.is_ascii_alphanumeric())
    })
}

/// String literals outside the names table that spell a project name.
fn name_drift_problems(source: &str) -> Vec<String> {
    let tree = parse(source);
    let table_range = names_table(&tree, source).map(|(node, _)| node.byte_range());
    let mut problems = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.kind() != "string_literal" {
            return;
        }
        if table_range
            .as_ref()
            .is_some_and(|range| range.contains(&node.start_byte()))
        {
            return;
        }
        let raw = text(node, source);
        let literal = literal_text(node, source).to_ascii_lowercase();
        let value = string_value(node, source).unwrap_or_else(|| raw.to_owned());
        let guids = guid_fragments();
        let fragment = NAME_FRAGMENTS
            .iter()
            .copied()
            .chain(guids.iter().map(String::as_str))
            .find(|fragment| spells(&literal, fragment));
        if let Some(fragment) = fragment {
            problems.push(format!(
                "{}: `{}` spells `{fragment}`; take the name from {NAMES_TABLE_VARIABLE}",
                position(node),
                first_line(raw)
            ));
        } else if value.eq_ignore_ascii_case(SERVICE_NAME) {
            problems.push(format!(
                "{}: `{}` is the service name; take it from {NAMES_TABLE_VARIABLE}",
                position(node),
                first_line(raw)
            ));
        }
    });
    problems
}

// ------------------------------------------------------------------------------------------------
// Console-program command lines and JSON keys
// ------------------------------------------------------------------------------------------------
//
// Whether each command line the harness runs parses is checked against the console program's
// real clap definition, by the `hvsignal` package's unit tests (app/src/cli/harness_check.rs, on
// the same extraction, crates/test-support/src/powershell.rs). This file used to hold a hand-written copy of
// the commands and flags for that; it could drift from the program and is gone. What stays here
// is what clap cannot know: that every call is readable statically, that the harness exercises
// every command, and that every JSON key the harness reads is one docs/ARCHITECTURE.md promises.

/// The harness function that reads a key path (`a.b`) of a command's JSON document.
const JSON_READER: &str = "Get-HvJsonValue";

/// The JSON key paths the "Console program contract" section of docs/ARCHITECTURE.md documents,
/// with every prefix: `cycles.{min,max}` gives `cycles`, `cycles.min`, `cycles.max`;
/// `operations[]` gives `operations`.
fn documented_json_paths(architecture: &str) -> BTreeSet<String> {
    let start = architecture
        .find("## Console program contract")
        .expect("docs/ARCHITECTURE.md has a \"Console program contract\" section");
    let section = &architecture[start..];
    let section = section[2..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 2]);
    let mut paths = BTreeSet::new();
    for (index, span) in section.split('`').enumerate() {
        if index % 2 == 0 {
            continue;
        }
        let words = span.split(|c: char| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_.{},[]".contains(c))
        });
        for word in words {
            let word = word.replace("[]", "");
            let expanded: Vec<String> = match (word.find(".{"), word.ends_with('}')) {
                (Some(open), true) => word[open + 2..word.len() - 1]
                    .split(',')
                    .map(|key| format!("{}.{key}", &word[..open]))
                    .collect(),
                _ => vec![word],
            };
            for path in expanded {
                let mut prefix = String::new();
                for key in path.split('.') {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(key);
                    paths.insert(prefix.clone());
                }
            }
        }
    }
    paths
}

/// The argument after `parameter` (e.g. `-Path`) of a command, if the command names it.
fn parameter_argument<'t>(command: Node<'t>, source: &str, parameter: &str) -> Option<Node<'t>> {
    let elements: Vec<Node<'t>> = command
        .child_by_field_name("command_elements")
        .map(|elements| {
            named_children(elements)
                .into_iter()
                .filter(|element| element.kind() != "command_argument_sep")
                .collect()
        })
        .unwrap_or_default();
    elements
        .iter()
        .position(|element| {
            element.kind() == "command_parameter"
                && text(*element, source).eq_ignore_ascii_case(parameter)
        })
        .and_then(|index| elements.get(index + 1).copied())
}

/// Every `Get-HvJsonValue -Path` whose path is not literal or not in `documented`.
fn undocumented_json_reads(source: &str, documented: &BTreeSet<String>) -> Vec<String> {
    let tree = parse(source);
    let mut problems = Vec::new();
    for (node, name) in commands(&tree, source) {
        if !name.is_some_and(|name| name.eq_ignore_ascii_case(JSON_READER)) {
            continue;
        }
        let path = parameter_argument(node, source, "-Path");
        match path.map(|path| (path, single_string_literal(path, source))) {
            Some((_, Some(path))) if documented.contains(&path) => {}
            Some((_, Some(path))) => problems.push(format!(
                "{}: the harness reads JSON key `{path}`, which docs/ARCHITECTURE.md does not list",
                position(node)
            )),
            Some((path, None)) => problems.push(format!(
                "{}: {JSON_READER} -Path `{}` is not a literal key path",
                position(node),
                first_line(text(path, source))
            )),
            None => problems.push(format!(
                "{}: {JSON_READER} is called without -Path",
                position(node)
            )),
        }
    }
    problems
}

/// The harness functions that read a field of a decoded trace event, named `Event.Field`.
const TRACE_FIELD_READERS: [&str; 2] = ["Get-HvTraceField", "Assert-HvTraceField"];

/// The harness function that picks decoded events by provider and event name.
const TRACE_EVENT_FINDER: &str = "Find-HvTraceEvent";

/// The name of the function definition `node` is in, if any.
fn enclosing_function<'s>(node: Node<'_>, source: &'s str) -> Option<&'s str> {
    let mut current = node.parent();
    while let Some(candidate) = current {
        if candidate.kind() == "function_statement" {
            return named_children(candidate)
                .into_iter()
                .find(|child| child.kind() == "function_name")
                .map(|name| text(name, source));
        }
        current = candidate.parent();
    }
    None
}

/// Every `Event.Field` a trace field reader reads (first), and every read or event lookup whose
/// name is not literal or not an event and field `hvsignal_proto::trace::EVENTS` defines.
fn trace_field_reads(source: &str) -> (Vec<String>, Vec<String>) {
    let tree = parse(source);
    let mut reads = Vec::new();
    let mut problems = Vec::new();
    for (node, name) in commands(&tree, source) {
        let Some(name) = name else { continue };
        let (parameter, is_field) = if TRACE_FIELD_READERS
            .iter()
            .any(|reader| name.eq_ignore_ascii_case(reader))
        {
            ("-Path", true)
        } else if name.eq_ignore_ascii_case(TRACE_EVENT_FINDER) {
            ("-EventName", false)
        } else {
            continue;
        };
        let argument = parameter_argument(node, source, parameter);
        // A reader that hands its own `-Path` on to another reader is checked at its callers.
        if is_field
            && argument.is_some_and(|argument| text(argument, source) == "$Path")
            && enclosing_function(node, source).is_some_and(|function| {
                TRACE_FIELD_READERS
                    .iter()
                    .any(|reader| function.eq_ignore_ascii_case(reader))
            })
        {
            continue;
        }
        let Some(literal) = argument.and_then(|argument| single_string_literal(argument, source))
        else {
            problems.push(format!(
                "{}: {name} without a literal {parameter}",
                position(node)
            ));
            continue;
        };
        let (event_name, field_name) = if is_field {
            let Some((event, field)) = literal.split_once('.') else {
                problems.push(format!(
                    "{}: {name} -Path `{literal}` is not Event.Field",
                    position(node)
                ));
                continue;
            };
            (event.to_owned(), Some(field.to_owned()))
        } else {
            (literal.clone(), None)
        };
        let Some(event) = EVENTS.iter().find(|event| event.name == event_name) else {
            problems.push(format!(
                "{}: `{literal}`: hvsignal_proto::trace defines no event `{event_name}`",
                position(node)
            ));
            continue;
        };
        if let Some(field_name) = field_name {
            if event.fields.iter().any(|field| field.name == field_name) {
                reads.push(literal);
            } else {
                problems.push(format!(
                    "{}: `{literal}`: the {event_name} event has no field `{field_name}`",
                    position(node)
                ));
            }
        }
    }
    (reads, problems)
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("docs").join("ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md")
}

// ------------------------------------------------------------------------------------------------
// Checks on the harness
// ------------------------------------------------------------------------------------------------

fn report(problems: &BTreeMap<String, Vec<String>>) -> String {
    problems
        .iter()
        .flat_map(|(file, list)| list.iter().map(move |problem| format!("{file}:{problem}")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_each(check: impl Fn(&str) -> Vec<String>) -> BTreeMap<String, Vec<String>> {
    load_scripts()
        .into_iter()
        .filter_map(|script| {
            let problems = check(&script.source);
            (!problems.is_empty()).then_some((script.name, problems))
        })
        .collect()
}

#[test]
fn every_script_parses_without_syntax_errors() {
    let problems = check_each(syntax_problems);
    assert!(problems.is_empty(), "syntax errors:\n{}", report(&problems));
}

#[test]
fn every_script_is_strict() {
    let problems = check_each(strictness_problems);
    assert!(problems.is_empty(), "not strict:\n{}", report(&problems));
}

#[test]
fn no_script_uses_an_alias() {
    let problems = check_each(alias_problems);
    assert!(problems.is_empty(), "aliases:\n{}", report(&problems));
}

#[test]
fn scripts_are_ascii_with_crlf_line_endings() {
    // Windows PowerShell 5.1 reads a file without a byte-order mark as ANSI, so the scripts stay
    // ASCII; .gitattributes checks them out with CRLF, which Windows tools expect.
    for script in load_scripts() {
        if let Some((index, _)) = script
            .source
            .char_indices()
            .find(|(_, character)| !character.is_ascii())
        {
            let line = script.source[..index].lines().count();
            panic!("{}: line {line} has a non-ASCII character", script.name);
        }
        let bare_lf = script
            .source
            .match_indices('\n')
            .filter(|(index, _)| *index == 0 || !script.source[..*index].ends_with('\r'))
            .count();
        assert_eq!(
            bare_lf, 0,
            "{}: {bare_lf} line(s) end in LF instead of CRLF",
            script.name
        );
    }
}

/// The names table the harness must hold, from the code and the Cargo metadata.
fn expected_names() -> BTreeMap<&'static str, String> {
    let stem = env!("CARGO_PKG_NAME").replace('-', "_");
    let app: toml::Table = std::fs::read_to_string(root().join("app").join("Cargo.toml"))
        .expect("app/Cargo.toml")
        .parse()
        .expect("app/Cargo.toml is TOML");
    let console = app
        .get("bin")
        .and_then(|bins| bins.as_array())
        .and_then(|bins| bins.first())
        .and_then(|bin| bin.get("name"))
        .or_else(|| app.get("package").and_then(|package| package.get("name")))
        .and_then(|name| name.as_str())
        .expect("the console program's binary name")
        .to_owned();
    let services_root = POLICY_KEY_PATH
        .strip_suffix(&format!("\\{SERVICE_NAME}\\Parameters"))
        .expect("POLICY_KEY_PATH is Services\\<service>\\Parameters");
    BTreeMap::from([
        ("ServiceName", SERVICE_NAME.to_owned()),
        ("HardwareId", HARDWARE_ID.to_owned()),
        ("DriverBinary", DRIVER_BINARY.to_owned()),
        ("DriverInf", format!("{stem}.inf")),
        ("DriverCatalog", format!("{stem}.cat")),
        ("DriverSymbols", format!("{stem}.pdb")),
        ("ConsoleProgram", format!("{console}.exe")),
        ("RawPolicyValueName", RAW_POLICY_VALUE_NAME.to_owned()),
        ("PackageDirectoryName", format!("{console}_package")),
        ("RegistryServicesRoot", format!("HKLM:\\{services_root}")),
        ("KmdfRuntime", "wdf01000.sys".to_owned()),
        ("DriverTraceProvider", DRIVER_TRACE_PROVIDER_NAME.to_owned()),
        (
            "DriverTraceProviderGuid",
            DRIVER_TRACE_PROVIDER_GUID.to_string(),
        ),
        (
            "ConsoleTraceProvider",
            CONSOLE_TRACE_PROVIDER_NAME.to_owned(),
        ),
        (
            "ConsoleTraceProviderGuid",
            CONSOLE_TRACE_PROVIDER_GUID.to_string(),
        ),
    ])
}

fn harness_names() -> BTreeMap<String, String> {
    let scripts = load_scripts();
    let tables: Vec<(String, Vec<NameEntry>)> = scripts
        .iter()
        .filter_map(|script| {
            names_table(&script.tree, &script.source)
                .map(|(_, entries)| (script.name.clone(), entries))
        })
        .collect();
    assert_eq!(
        tables.len(),
        1,
        "exactly one script must define {NAMES_TABLE_VARIABLE}, found {:?}",
        tables.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    let mut names = BTreeMap::new();
    for entry in &tables[0].1 {
        let previous = names.insert(entry.key.clone(), entry.value.clone());
        assert!(
            previous.is_none(),
            "{}:{}: {} is defined twice",
            tables[0].0,
            entry.line,
            entry.key
        );
    }
    names
}

#[test]
fn names_table_agrees_with_the_code() {
    let expected: BTreeMap<String, String> = expected_names()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    let actual = harness_names();
    assert_eq!(
        actual, expected,
        "{NAMES_TABLE_VARIABLE} (left) disagrees with hvsignal-proto's names and the Cargo metadata (right)"
    );
    // The raw-call policy key the harness writes is the one the driver reads.
    assert_eq!(
        format!(
            "{}\\{}\\Parameters",
            actual["RegistryServicesRoot"], actual["ServiceName"]
        ),
        format!("HKLM:\\{POLICY_KEY_PATH}")
    );
}

#[test]
fn no_script_spells_a_name_outside_the_table() {
    let problems = check_each(name_drift_problems);
    assert!(
        problems.is_empty(),
        "names spelled outside {NAMES_TABLE_VARIABLE}:\n{}",
        report(&problems)
    );
}

/// Every console-program command line of the harness.
fn harness_invocations() -> Vec<Invocation> {
    let mut all = Vec::new();
    let mut problems = BTreeMap::new();
    for script in load_scripts() {
        match hvsignal_invocations(&script.source) {
            Ok(found) => all.extend(found.into_iter().map(|invocation| Invocation {
                position: format!("{}:{}", script.name, invocation.position),
                ..invocation
            })),
            Err(list) => {
                problems.insert(script.name, list);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "console-program calls that cannot be checked:\n{}",
        report(&problems)
    );
    all
}

#[test]
fn harness_runs_every_command_through_readable_calls() {
    // `harness_invocations` fails on a call whose arguments cannot be read statically (those
    // would escape the clap check). The scenarios use every command the issue asks for; an empty
    // or partial extraction would make the clap check vacuous.
    let invocations = harness_invocations();
    let used: BTreeSet<String> = invocations
        .iter()
        .filter_map(|invocation| {
            invocation.tokens.iter().find_map(|token| match token {
                Token::Literal(word) if !word.starts_with('-') => Some(word.clone()),
                _ => None,
            })
        })
        .collect();
    let expected: BTreeSet<String> = [
        "bench", "conform", "fuzz", "info", "scan", "signal", "status",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(used, expected, "commands the harness runs");
    assert!(
        invocations.len() >= 20,
        "only {} console-program calls found",
        invocations.len()
    );
}

#[test]
fn every_json_key_the_harness_reads_is_documented() {
    let documented = documented_json_paths(&architecture());
    let problems = check_each(|source| undocumented_json_reads(source, &documented));
    assert!(
        problems.is_empty(),
        "JSON reads outside the contract:\n{}",
        report(&problems)
    );
    let reads: usize = load_scripts()
        .iter()
        .map(|script| {
            commands(&script.tree, &script.source)
                .into_iter()
                .filter(|(_, name)| name.as_deref() == Some(JSON_READER))
                .count()
        })
        .sum();
    assert!(reads >= 20, "only {reads} {JSON_READER} calls found");
}

#[test]
fn the_trace_scenario_checks_fields_the_events_define() {
    let scripts = load_scripts();
    let mut reads = BTreeSet::new();
    let mut problems = BTreeMap::new();
    for script in &scripts {
        let (found, wrong) = trace_field_reads(&script.source);
        reads.extend(found);
        if !wrong.is_empty() {
            problems.insert(script.name.clone(), wrong);
        }
    }
    assert!(
        problems.is_empty(),
        "trace field reads outside hvsignal_proto::trace:\n{}",
        report(&problems)
    );
    // The scenario checks the program's event and the driver's per-request event of its signal.
    for (event, at_least) in [(&COMMAND, 4), (&REQUEST, 7)] {
        let checked = reads
            .iter()
            .filter(|read| {
                read.split_once('.')
                    .is_some_and(|(name, _)| name == event.name)
            })
            .count();
        assert!(
            checked >= at_least,
            "the trace scenario checks {checked} fields of {}, expected at least {at_least}: {reads:?}",
            event.name
        );
    }
    // The IOCTL it expects in the Request event is the driver's.
    let module = script(&scripts, "HvSignalVmTest.psm1");
    let ioctl = module
        .source
        .lines()
        .find_map(|line| line.trim().strip_prefix("$script:HvIoctlSignal = 0x"))
        .and_then(|hex| u32::from_str_radix(hex.trim(), 16).ok());
    assert_eq!(ioctl, Some(IOCTL_HVSIGNAL_SIGNAL), "$script:HvIoctlSignal");
    // The session enables both providers, by the GUIDs of the names table.
    assert!(
        module.source.contains(
            "ProviderGuids = @($Context.Names.DriverTraceProviderGuid, $Context.Names.ConsoleTraceProviderGuid)"
        ),
        "Start-HvTrace enables both providers by the names table's GUIDs"
    );
}

#[test]
fn trace_check_finds_unknown_events_and_fields() {
    let good = "Assert-HvTraceField -TraceEvent $e -Path 'Request.Ioctl' -Expected @(1) -Number\r\n\
                Find-HvTraceEvent -Events $x -Provider $p -ProviderGuid $g -EventName 'Command'\r\n\
                function Assert-HvTraceField {\r\n    Get-HvTraceField -TraceEvent $e -Path $Path\r\n}\r\n";
    assert_eq!(
        trace_field_reads(good),
        (vec!["Request.Ioctl".to_owned()], Vec::<String>::new())
    );
    let bad = "Get-HvTraceField -TraceEvent $e -Path 'Request.ConnectionId'\r\n\
               Get-HvTraceField -TraceEvent $e -Path 'Signal.Ioctl'\r\n\
               Get-HvTraceField -TraceEvent $e -Path 'Ioctl'\r\n\
               Get-HvTraceField -TraceEvent $e -Path $Path\r\n\
               Find-HvTraceEvent -Events $x -Provider $p -ProviderGuid $g -EventName 'Load'\r\n";
    let (reads, problems) = trace_field_reads(bad);
    assert!(reads.is_empty(), "{reads:?}");
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(
        problems[0].contains("has no field `ConnectionId`"),
        "{}",
        problems[0]
    );
    assert!(problems[1].contains("no event `Signal`"), "{}", problems[1]);
    assert!(
        problems[2].contains("is not Event.Field"),
        "{}",
        problems[2]
    );
    assert!(
        problems[3].contains("without a literal -Path"),
        "{}",
        problems[3]
    );
    assert!(problems[4].contains("no event `Load`"), "{}", problems[4]);
}

#[test]
fn every_wrapper_is_defined_once() {
    let scripts = load_scripts();
    for wrapper in WRAPPERS {
        let definitions: Vec<String> = scripts
            .iter()
            .flat_map(|script| {
                let mut found = Vec::new();
                walk(script.tree.root_node(), &mut |node| {
                    if node.kind() == "function_statement" {
                        let name = named_children(node)
                            .into_iter()
                            .find(|child| child.kind() == "function_name")
                            .map(|name| text(name, &script.source).to_owned());
                        if name.is_some_and(|name| name.eq_ignore_ascii_case(wrapper)) {
                            found.push(format!("{}:{}", script.name, position(node)));
                        }
                    }
                });
                found
            })
            .collect();
        assert_eq!(
            definitions.len(),
            1,
            "{wrapper} must be defined exactly once (the extraction relies on its name): {definitions:?}"
        );
    }
}

/// The string literals of `Get-HvSignalScenario`'s `Name = '...'` entries, and of the
/// `Invoke-HvSignalScenario` switch's cases.
#[test]
fn scenario_table_and_dispatch_agree() {
    let scripts = load_scripts();
    let module = script(&scripts, "HvSignalVmTest.psm1");
    let mut table = Vec::new();
    let mut dispatch = Vec::new();
    walk(module.tree.root_node(), &mut |node| {
        if node.kind() != "function_statement" {
            return;
        }
        let name = named_children(node)
            .into_iter()
            .find(|child| child.kind() == "function_name")
            .map(|name| text(name, &module.source));
        match name {
            Some("Get-HvSignalScenario") => walk(node, &mut |inner| {
                if inner.kind() == "hash_entry" {
                    let children = named_children(inner);
                    let key = children
                        .iter()
                        .find(|child| child.kind() == "key_expression")
                        .map(|key| text(*key, &module.source).trim());
                    if key == Some("Name") {
                        let value = children
                            .iter()
                            .find(|child| child.kind() == "pipeline")
                            .and_then(|value| single_string_literal(*value, &module.source));
                        table.extend(value);
                    }
                }
            }),
            Some("Invoke-HvSignalScenario") => walk(node, &mut |inner| {
                if inner.kind() == "switch_clause_condition" {
                    dispatch.extend(single_string_literal(inner, &module.source));
                }
            }),
            _ => {}
        }
    });
    assert!(
        table.len() >= 9,
        "the scenario table lists {} scenarios: {table:?}",
        table.len()
    );
    assert_eq!(table, dispatch, "scenario table vs. dispatch switch");
    let pester = script(&scripts, "HvSignal.Tests.ps1");
    let calls: Vec<_> = commands(&pester.tree, &pester.source)
        .into_iter()
        .filter(|(_, name)| name.as_deref() == Some("Invoke-HvSignalScenario"))
        .collect();
    assert_eq!(
        calls.len(),
        1,
        "the Pester container runs the scenarios through Invoke-HvSignalScenario"
    );
}

#[test]
fn build_tasks_agree_with_the_harness() {
    let names = harness_names();
    let entry_point = "Invoke-HvSignalVmTest.ps1";
    assert!(harness_dir().join(entry_point).is_file());
    let architecture = architecture();
    assert!(architecture.contains(&format!("tests/hyperv/{entry_point}")));
    assert!(architecture.contains(&format!(
        "target/<profile>/{}/",
        names["PackageDirectoryName"]
    )));

    // Makefile.toml and tools/ belong to the packaging work; once they exist they must package
    // into the directory the harness reads and run this entry point.
    let makefile_path = root().join("Makefile.toml");
    if !makefile_path.is_file() {
        return;
    }
    let makefile: toml::Table = std::fs::read_to_string(&makefile_path)
        .expect("Makefile.toml")
        .parse()
        .expect("Makefile.toml is TOML");
    let tasks = makefile
        .get("tasks")
        .and_then(|tasks| tasks.as_table())
        .expect("Makefile.toml has tasks");
    let vm_test = tasks
        .get("vm-test")
        .and_then(|task| task.as_table())
        .expect("Makefile.toml has a vm-test task");
    let depends_on_package = vm_test
        .get("dependencies")
        .and_then(|list| list.as_array())
        .is_some_and(|list| list.iter().any(|item| item.as_str() == Some("package")));
    assert!(
        depends_on_package,
        "vm-test must build the package first (dependencies = [\"package\"])"
    );
    let scripts: Vec<String> = vm_test
        .get("args")
        .and_then(|args| args.as_array())
        .into_iter()
        .flatten()
        .filter_map(|arg| arg.as_str())
        .filter(|arg| {
            Path::new(arg)
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("ps1"))
        })
        .map(|arg| arg.rsplit(['/', '\\']).next().unwrap_or(arg).to_owned())
        .collect();
    let runs_harness = scripts.iter().any(|script| {
        script == entry_point
            || std::fs::read_to_string(root().join("tools").join(script))
                .is_ok_and(|text| text.contains(entry_point))
    });
    assert!(
        runs_harness,
        "the vm-test task ({scripts:?}) does not run tests/hyperv/{entry_point}"
    );
    let package_script = root().join("tools").join("package.ps1");
    if package_script.is_file() {
        let text = std::fs::read_to_string(&package_script).expect("tools/package.ps1");
        assert!(
            text.contains(&format!("'{}'", names["PackageDirectoryName"])),
            "tools/package.ps1 does not stage into {}",
            names["PackageDirectoryName"]
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The checks themselves catch what they are for
// ------------------------------------------------------------------------------------------------

const STRICT_HEADER: &str = "Set-StrictMode -Version Latest\r\n$ErrorActionPreference = 'Stop'\r\n";

#[test]
fn syntax_check_reports_each_error_with_its_position() {
    assert!(syntax_problems(STRICT_HEADER).is_empty());
    let problems = syntax_problems("Set-StrictMode -Version Latest\r\nif ($true {\r\n");
    assert!(!problems.is_empty(), "an unclosed block must be reported");
    assert!(
        problems.iter().all(|problem| problem.starts_with("2:")),
        "{problems:?}"
    );
    let problems = syntax_problems("function Test-It {\n    $x = @(1, 2\n}\n");
    assert!(!problems.is_empty(), "an unclosed array must be reported");
}

#[test]
fn strictness_check_needs_both_lines_at_the_top_level() {
    assert!(strictness_problems(STRICT_HEADER).is_empty());
    assert_eq!(
        strictness_problems("$ErrorActionPreference = 'Stop'\n").len(),
        1
    );
    assert_eq!(
        strictness_problems("Set-StrictMode -Version 2.0\n$ErrorActionPreference = 'Continue'\n")
            .len(),
        2
    );
    // Inside a function it does not apply to the script.
    assert_eq!(
        strictness_problems(
            "function Test-It {\n    Set-StrictMode -Version Latest\n    $ErrorActionPreference = 'Stop'\n}\n"
        )
        .len(),
        2
    );
    // A Pester container's param block comes first.
    assert!(
        strictness_problems(&format!(
            "param([hashtable] $Context)\r\n{STRICT_HEADER}Describe 'x' {{ }}\r\n"
        ))
        .is_empty()
    );
}

#[test]
fn alias_check_finds_aliases_in_pipelines_and_blocks() {
    let clean = "Get-ChildItem -Path $x | ForEach-Object -Process { $_.Name } | Where-Object -FilterScript { $_ }\nforeach ($i in 1..3) { Write-Output $i }\n";
    assert!(
        alias_problems(clean).is_empty(),
        "{:?}",
        alias_problems(clean)
    );
    let aliased = "gci -Path $x | % { $_.Name } | ? { $_ }\nif ($true) { ls; cat $f; sc.exe query; sc $f 'x' }\n$a = $b | select -First 1 | where { $_ } | foreach { $_ }\niex $s\n";
    let problems = alias_problems(aliased);
    for alias in [
        "gci", "%", "?", "ls", "cat", "sc", "select", "where", "foreach", "iex",
    ] {
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains(&format!("`{alias}`"))),
            "`{alias}` not reported: {problems:?}"
        );
    }
    assert!(
        !problems.iter().any(|problem| problem.contains("sc.exe")),
        "sc.exe is a program, not an alias: {problems:?}"
    );
}

#[test]
fn drift_check_finds_names_outside_the_table() {
    let table = "$script:HvSignalNames = @{\n    ServiceName = 'HvSignal'\n    HardwareId = 'Root\\HvSignal'\n    DriverBinary = 'hvsignal_driver.sys'\n}\n";
    assert!(name_drift_problems(table).is_empty());
    let tree = parse(table);
    let (_, entries) = names_table(&tree, table).expect("the table is found");
    assert_eq!(
        entries
            .iter()
            .map(|entry| (entry.key.as_str(), entry.value.as_str()))
            .collect::<Vec<_>>(),
        [
            ("ServiceName", "HvSignal"),
            ("HardwareId", "Root\\HvSignal"),
            ("DriverBinary", "hvsignal_driver.sys"),
        ]
    );
    let copies = format!(
        "{table}devgen /add /hardwareid 'Root\\HvSignal'\n$k = \"HKLM:\\SYSTEM\\CurrentControlSet\\Services\\$name\"\nGet-Service -Name 'HvSignal'\n$inf = 'hvsignal_driver.inf'\n"
    );
    let problems = name_drift_problems(&copies);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].starts_with("6:"), "{problems:?}");
    let traces = format!(
        "{table}$p = 'HvSignal.Console'\n$g = '{DRIVER_TRACE_PROVIDER_GUID}'\n$u = '{}'\n",
        CONSOLE_TRACE_PROVIDER_GUID.to_string().to_ascii_uppercase()
    );
    let problems = name_drift_problems(&traces);
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn json_check_reads_the_documented_keys() {
    let doc = "## Console program contract\n\n| `bench --json` | `calls`, `cycles.{min,median,max}`, `operations[]` with `first_status` |\n\n## Names\n\n`outside.key`\n";
    let documented = documented_json_paths(doc);
    for path in [
        "calls",
        "cycles",
        "cycles.min",
        "cycles.max",
        "operations",
        "first_status",
    ] {
        assert!(documented.contains(path), "{path}: {documented:?}");
    }
    assert!(!documented.contains("outside.key"), "{documented:?}");
    let source = "$a = Get-HvJsonValue -Result $r -Path 'cycles.median'\n\
$b = Get-HvJsonValue -Result $r -Path 'cycles.p99'\n\
$c = Get-HvJsonValue -Result $r -Path $path\n\
$d = Get-HvJsonValue -Result $r\n\
$e = Get-HvJsonValue -Result $r -Path 'outside.key'\n";
    let problems = undocumented_json_reads(source, &documented);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].starts_with("2:") && problems[0].contains("`cycles.p99`"));
    assert!(problems[1].contains("not a literal key path"));
    assert!(problems[2].contains("without -Path"));
    assert!(problems[3].contains("`outside.key`"));
}

#[test]
fn extraction_reads_wrappers_and_direct_calls() {
    let source = "$r = Invoke-HvSignal -Context $c -ArgumentList @('--json', 'signal', '-c', $id, '--repeat', 10) -AllowedExitCode @(1)\n\
Invoke-HvSignalCli -ExePath $p -ArgumentList @(\n    '--json',\n    'info'\n)\n\
& hvsignal.exe --json status 18\n\
hvsignal scan --from 1 --to $to --yes\n\
Invoke-HvSignalNonElevated -Context $c -ArgumentList 'info', '--json'\n";
    let found = hvsignal_invocations(source).expect("all calls are literal");
    let lines: Vec<String> = found
        .iter()
        .map(|invocation| {
            invocation
                .tokens
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        lines,
        [
            "--json signal -c <$id> --repeat 10",
            "--json info",
            "--json status 18",
            "scan --from 1 --to <$to> --yes",
            "info --json",
        ]
    );
}

#[test]
fn extraction_rejects_arguments_it_cannot_read() {
    let dynamic = "Invoke-HvSignal -Context $c -ArgumentList $arguments\n";
    let problems = hvsignal_invocations(dynamic).expect_err("a variable argument list");
    assert!(problems[0].contains("not a literal array"), "{problems:?}");
    let missing = "Invoke-HvSignalCli -ExePath $p\n";
    let problems = hvsignal_invocations(missing).expect_err("no argument list");
    assert!(
        problems[0].contains("without an -ArgumentList"),
        "{problems:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// devgen comes from the host's WDK, never from the package
// ------------------------------------------------------------------------------------------------

/// The source text of every definition of the function `name` in `source`.
fn function_definitions(source: &str, name: &str) -> Vec<String> {
    let tree = parse(source);
    let mut found = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.kind() == "function_statement" {
            let defined = named_children(node)
                .into_iter()
                .find(|child| child.kind() == "function_name")
                .map(|child| text(child, source));
            if defined.is_some_and(|defined| defined.eq_ignore_ascii_case(name)) {
                found.push(code_text(node, source));
            }
        }
    });
    found
}

/// The text of `node` with every comment in it blanked out, so a check reads only code.
fn code_text(node: Node<'_>, source: &str) -> String {
    let mut code = text(node, source).to_owned();
    let start = node.start_byte();
    walk(node, &mut |inner| {
        if inner.kind() == "comment" {
            let range = inner.start_byte() - start..inner.end_byte() - start;
            code.replace_range(range.clone(), &" ".repeat(range.len()));
        }
    });
    code
}

/// What is wrong with how the entry point finds and copies `devgen.exe`: it is Microsoft's WDK
/// tool and may not be redistributed, so the harness must take it from the host's WDK (or
/// `-DevgenPath`), never from the driver package, and copy it into the guest itself.
fn devgen_problems(entry_point: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let finders = function_definitions(entry_point, "Find-HvDevgen");
    let roots = function_definitions(entry_point, "Get-HvWdkToolsRoot");
    if finders.len() != 1 || roots.len() != 1 {
        return vec![format!(
            "Find-HvDevgen and Get-HvWdkToolsRoot must be defined once each (found {} and {})",
            finders.len(),
            roots.len()
        )];
    }
    let finder = finders[0].to_ascii_lowercase();
    // Any variable or parameter naming the package ($PackagePath, $PackageDirectory, ...).
    for package in ["$package", "-package"] {
        if finder.contains(package) {
            problems.push(format!("Find-HvDevgen looks at the package ({package:?})"));
        }
    }
    for needed in [
        "get-hvwdktoolsroot",
        "$env:wdktoolroot",
        "x64\\devgen.exe",
        "-literalpath $path",
    ] {
        if !finder.contains(needed) {
            problems.push(format!("Find-HvDevgen does not use {needed:?}"));
        }
    }
    let root = roots[0].to_ascii_lowercase();
    for needed in ["wdkcontentroot", "kitsroot10", "windows kits\\10\\tools"] {
        if !root.contains(needed) {
            problems.push(format!("Get-HvWdkToolsRoot does not look at {needed:?}"));
        }
    }
    for resolver in function_definitions(entry_point, "Resolve-HvPackage") {
        if resolver.to_ascii_lowercase().contains("devgen") {
            problems.push("Resolve-HvPackage takes devgen from the package".to_owned());
        }
    }
    let tree = parse(entry_point);
    let given_path = commands(&tree, entry_point)
        .into_iter()
        .filter(|(node, name)| {
            name.as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case("Find-HvDevgen"))
                && code_text(*node, entry_point)
                    .to_ascii_lowercase()
                    .contains("-path $devgenpath")
        })
        .count();
    if given_path != 1 {
        problems.push(format!(
            "expected one Find-HvDevgen -Path $DevgenPath, found {given_path}"
        ));
    }
    let copies = commands(&tree, entry_point)
        .into_iter()
        .filter(|(node, name)| {
            let call = text(*node, entry_point);
            name.as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case("Copy-Item"))
                && call.contains("$devgen")
                && call.contains("-ToSession")
        })
        .count();
    if copies != 1 {
        problems.push(format!(
            "expected one Copy-Item of $devgen into the guest session, found {copies}"
        ));
    }
    problems
}

#[test]
fn devgen_comes_from_the_host_wdk_and_is_copied_into_the_guest() {
    let scripts = load_scripts();
    let entry_point = script(&scripts, "Invoke-HvSignalVmTest.ps1");
    assert_eq!(devgen_problems(&entry_point.source), Vec::<String>::new());
}

#[test]
fn devgen_check_catches_a_package_copy() {
    let finder = "function Get-HvWdkToolsRoot { $env:WDKContentRoot; 'KitsRoot10'; 'Windows Kits\\10\\Tools' }\r\n\
                  function Find-HvDevgen { param([string] $Path) Test-Path -LiteralPath $Path; $env:WDKToolRoot; Get-HvWdkToolsRoot; 'x64\\devgen.exe' }\r\n\
                  $devgen = Find-HvDevgen -Path $DevgenPath\r\n\
                  Copy-Item -LiteralPath $devgen -Destination $d -ToSession $s\r\n";
    assert_eq!(devgen_problems(finder), Vec::<String>::new());
    // Words in comments are not code: a finder that only mentions WDKToolRoot does not use it.
    let in_comment = finder.replace("$env:WDKToolRoot;", "<# $env:WDKToolRoot #>");
    assert_eq!(
        devgen_problems(&in_comment),
        ["Find-HvDevgen does not use \"$env:wdktoolroot\""]
    );
    let ignores_path = finder.replace("-Path $DevgenPath", "");
    assert_eq!(
        devgen_problems(&ignores_path),
        ["expected one Find-HvDevgen -Path $DevgenPath, found 0"]
    );
    let from_package = finder.replace(
        "param([string] $Path)",
        "param([string] $Path, [string] $PackagePath) Join-Path -Path $PackagePath -ChildPath 'devgen.exe';",
    );
    let problems = devgen_problems(&from_package);
    assert!(
        problems.iter().any(|p| p.contains("looks at the package")),
        "{problems:?}"
    );
    let resolver = format!(
        "{finder}function Resolve-HvPackage {{ Join-Path -Path $Path -ChildPath 'devgen.exe' }}\r\n"
    );
    assert_eq!(
        devgen_problems(&resolver),
        ["Resolve-HvPackage takes devgen from the package"]
    );
    let no_copy = finder.replace("-ToSession $s", "");
    assert_eq!(
        devgen_problems(&no_copy),
        ["expected one Copy-Item of $devgen into the guest session, found 0"]
    );
    assert_eq!(devgen_problems("function Find-HvDevgen { }\r\n").len(), 1);
}

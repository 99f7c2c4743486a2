//! The Hyper-V VM harness (`tests/hyperv/*.ps1`, `*.psm1`) parses, is strict, uses no aliases,
//! names the project's artefacts exactly as the code does, and calls the console program only
//! with commands and flags of its contract.
//!
//! The harness itself only runs on a Windows Hyper-V host; this test is what checks it on every
//! CI run. Every check works on the tree-sitter-powershell parse tree, and each has a unit test
//! below that feeds it a broken snippet, so none of them can pass vacuously.
//!
//! Console-program command lines are found by [`hvsignal_invocations`]: every call of the
//! harness's wrappers (`Invoke-HvSignal`, `Invoke-HvSignalNonElevated`, `Invoke-HvSignalCli`)
//! with its `-ArgumentList` array, and every direct `hvsignal`/`hvsignal.exe` command. Each yields
//! a token list ([`Token::Literal`] or [`Token::Dynamic`] for variables and expressions) that
//! [`contract_problems`] checks against the contract of docs/ARCHITECTURE.md. The same token
//! lists can be fed to the console program's clap definition (with sample values in place of
//! the dynamic tokens) for a stricter check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use hvsignal_proto::names::{
    DRIVER_BINARY, HARDWARE_ID, POLICY_KEY_PATH, RAW_POLICY_VALUE_NAME, SERVICE_NAME,
};
use tree_sitter::{Node, Parser, Tree};

// ------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn harness_dir() -> PathBuf {
    root().join("tests").join("hyperv")
}

/// Every `.ps1` and `.psm1` below `dir`, sorted.
fn script_paths(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", current.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| {
                    extension.eq_ignore_ascii_case("ps1") || extension.eq_ignore_ascii_case("psm1")
                })
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
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

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("tree-sitter-powershell loads into this tree-sitter version");
    parser
        .parse(source, None)
        .expect("tree-sitter returns a tree without a timeout or cancellation")
}

fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// `line:column`, both 1-based.
fn position(node: Node<'_>) -> String {
    let point = node.start_position();
    format!("{}:{}", point.row + 1, point.column + 1)
}

/// Calls `visit` on every node below (and including) `node`, in document order.
fn walk<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>)) {
    visit(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, visit);
    }
}

fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

fn first_line(snippet: &str) -> String {
    let line = snippet.lines().next().unwrap_or("");
    let mut shown: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        shown.push('…');
    }
    shown
}

/// The value of a string literal node: quotes removed, `''` and `""` unescaped; `None` for an
/// expandable string that interpolates variables or sub-expressions.
fn string_value(node: Node<'_>, source: &str) -> Option<String> {
    let raw = text(node, source);
    let mut interpolates = false;
    walk(node, &mut |inner| {
        if matches!(inner.kind(), "variable" | "sub_expression") {
            interpolates = true;
        }
    });
    if interpolates {
        return None;
    }
    if let Some(body) = raw
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return Some(body.replace("''", "'"));
    }
    if let Some(body) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return Some(body.replace("\"\"", "\"").replace("`\"", "\""));
    }
    Some(raw.to_owned())
}

/// The name of a command node as the shell resolves it: `Get-Item`, `& hvsignal.exe`,
/// `& 'C:\tools\hvsignal.exe'`; `None` for a computed name such as `& $path`.
fn command_name(node: Node<'_>, source: &str) -> Option<String> {
    let name = node.child_by_field_name("command_name")?;
    match name.kind() {
        "command_name" => Some(text(name, source).to_owned()),
        "command_name_expr" => match named_children(name).as_slice() {
            [inner] if inner.kind() == "command_name" => Some(text(*inner, source).to_owned()),
            [inner] if inner.kind() == "string_literal" => string_value(*inner, source),
            _ => None,
        },
        _ => None,
    }
}

/// Every command node of a tree with its name (see [`command_name`]).
fn commands<'t>(tree: &'t Tree, source: &str) -> Vec<(Node<'t>, Option<String>)> {
    let mut found = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.kind() == "command" {
            found.push((node, command_name(node, source)));
        }
    });
    found
}

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

/// The value of `node` when it is (a wrapper chain around) exactly one string literal.
fn single_string_literal(node: Node<'_>, source: &str) -> Option<String> {
    let mut literals = Vec::new();
    let mut other_leaves = 0;
    walk(node, &mut |inner| {
        if inner.kind() == "string_literal" {
            literals.push(inner);
        } else if inner.named_child_count() == 0
            && inner.is_named()
            && !matches!(
                inner.kind(),
                "verbatim_string_characters" | "expandable_string_literal"
            )
        {
            other_leaves += 1;
        }
    });
    match literals.as_slice() {
        [literal] if other_leaves == 0 => string_value(*literal, source),
        _ => None,
    }
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
];

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
        let fragment = NAME_FRAGMENTS
            .iter()
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
// Console-program command lines
// ------------------------------------------------------------------------------------------------

/// One argument of a console-program command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal (string or number) argument, as the program receives it.
    Literal(String),
    /// An argument computed at run time (a variable or an expression), as written.
    Dynamic(String),
}

impl fmt::Display for Token {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(value) => write!(formatter, "{value}"),
            Self::Dynamic(expression) => write!(formatter, "<{expression}>"),
        }
    }
}

/// One console-program command line found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    /// `line:column` of the call.
    position: String,
    /// The wrapper (or `hvsignal`) that was called.
    via: String,
    tokens: Vec<Token>,
}

impl fmt::Display for Invocation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({}): hvsignal", self.position, self.via)?;
        for token in &self.tokens {
            write!(formatter, " {token}")?;
        }
        Ok(())
    }
}

/// The harness functions that run the console program with an `-ArgumentList` array.
const WRAPPERS: &[&str] = &[
    "Invoke-HvSignal",
    "Invoke-HvSignalNonElevated",
    "Invoke-HvSignalCli",
];

/// Node kinds that only wrap a single inner expression.
const WRAPPER_KINDS: &[&str] = &[
    "pipeline",
    "pipeline_chain",
    "logical_expression",
    "bitwise_expression",
    "comparison_expression",
    "additive_expression",
    "multiplicative_expression",
    "format_expression",
    "range_expression",
    "array_literal_expression",
    "unary_expression",
    "parenthesized_expression",
    "array_expression",
    "statement_list",
];

/// The elements of an array expression (`@('a', 'b')`, `'a', 'b'`, `@('a'\n'b')`), or the
/// expression itself when it is a single value.
fn array_elements(node: Node<'_>) -> Vec<Node<'_>> {
    let children = named_children(node);
    let is_wrapper = WRAPPER_KINDS.contains(&node.kind());
    if node.kind() == "array_literal_expression" && children.len() > 1 {
        return children;
    }
    if node.kind() == "statement_list" {
        return children.into_iter().flat_map(array_elements).collect();
    }
    if is_wrapper && children.len() == 1 {
        return array_elements(children[0]);
    }
    vec![node]
}

/// The token one array element or command argument stands for.
fn token(node: Node<'_>, source: &str) -> Token {
    let mut literal = None;
    if let Some(value) = single_string_literal(node, source) {
        literal = Some(value);
    } else {
        let mut leaves = Vec::new();
        walk(node, &mut |inner| {
            if inner.named_child_count() == 0 && inner.is_named() {
                leaves.push(inner);
            }
        });
        if let [leaf] = leaves.as_slice()
            && matches!(
                leaf.kind(),
                "decimal_integer_literal"
                    | "hexadecimal_integer_literal"
                    | "generic_token"
                    | "command_parameter"
            )
        {
            literal = Some(text(*leaf, source).to_owned());
        }
    }
    literal.map_or_else(
        || Token::Dynamic(text(node, source).to_owned()),
        Token::Literal,
    )
}

/// Every console-program command line in `source`, or the calls whose arguments cannot be read
/// statically (a wrapper without `-ArgumentList`, or with a variable instead of a literal
/// array): those would escape the contract check, so they are errors.
fn hvsignal_invocations(source: &str) -> Result<Vec<Invocation>, Vec<String>> {
    let tree = parse(source);
    let mut invocations = Vec::new();
    let mut problems = Vec::new();
    for (node, name) in commands(&tree, source) {
        let Some(name) = name else { continue };
        let elements: Vec<Node<'_>> = node
            .child_by_field_name("command_elements")
            .map(|elements| {
                named_children(elements)
                    .into_iter()
                    .filter(|element| element.kind() != "command_argument_sep")
                    .collect()
            })
            .unwrap_or_default();
        let bare = name
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&name)
            .trim_end_matches(".exe")
            .trim_end_matches(".EXE");
        if bare.eq_ignore_ascii_case("hvsignal") {
            let tokens = elements
                .iter()
                .flat_map(|element| array_elements(*element))
                .map(|element| token(element, source))
                .collect();
            invocations.push(Invocation {
                position: position(node),
                via: name.clone(),
                tokens,
            });
            continue;
        }
        let Some(wrapper) = WRAPPERS
            .iter()
            .find(|wrapper| wrapper.eq_ignore_ascii_case(&name))
        else {
            continue;
        };
        let argument_list = elements.iter().position(|element| {
            element.kind() == "command_parameter"
                && text(*element, source).eq_ignore_ascii_case("-ArgumentList")
        });
        let Some(value) = argument_list.and_then(|index| elements.get(index + 1)) else {
            problems.push(format!(
                "{}: {wrapper} is called without an -ArgumentList array",
                position(node)
            ));
            continue;
        };
        let mut is_array = false;
        walk(*value, &mut |inner| {
            if inner.kind() == "array_expression" {
                is_array = true;
            }
        });
        let items = array_elements(*value);
        if !is_array && items.len() < 2 {
            problems.push(format!(
                "{}: {wrapper} -ArgumentList `{}` is not a literal array; write the arguments as @(...)",
                position(node),
                first_line(text(*value, source))
            ));
            continue;
        }
        invocations.push(Invocation {
            position: position(node),
            via: (*wrapper).to_owned(),
            tokens: items.into_iter().map(|item| token(item, source)).collect(),
        });
    }
    if problems.is_empty() {
        Ok(invocations)
    } else {
        Err(problems)
    }
}

/// A flag of the console program and whether it takes a value.
struct Flag {
    names: &'static [&'static str],
    value: Value,
}

/// What a flag's value may be.
#[derive(Clone, Copy)]
enum Value {
    None,
    Number,
    Path,
    OneOf(&'static [&'static str]),
}

/// A subcommand: its flags, required flags and positional arguments.
struct Subcommand {
    name: &'static str,
    flags: &'static [Flag],
    required: &'static [&'static str],
    /// (minimum, maximum) positional arguments.
    positionals: (usize, usize),
}

const GLOBAL_FLAGS: &[Flag] = &[
    Flag {
        names: &["--backend"],
        value: Value::OneOf(&["device", "model"]),
    },
    Flag {
        names: &["--world"],
        value: Value::Path,
    },
    Flag {
        names: &["--json"],
        value: Value::None,
    },
];

const FLAG_NUMBER: Flag = Flag {
    names: &["-f"],
    value: Value::Number,
};

/// The console-program contract of docs/ARCHITECTURE.md.
const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "info",
        flags: &[],
        required: &[],
        positionals: (0, 0),
    },
    Subcommand {
        name: "signal",
        flags: &[
            Flag {
                names: &["-c"],
                value: Value::Number,
            },
            FLAG_NUMBER,
            Flag {
                names: &["--repeat"],
                value: Value::Number,
            },
            Flag {
                names: &["--memory"],
                value: Value::None,
            },
            Flag {
                names: &["--dry-run"],
                value: Value::None,
            },
            Flag {
                names: &["--rsvd"],
                value: Value::Number,
            },
            Flag {
                names: &["--rep-count"],
                value: Value::Number,
            },
            Flag {
                names: &["--rep-start"],
                value: Value::Number,
            },
            Flag {
                names: &["--var-header"],
                value: Value::Number,
            },
            Flag {
                names: &["--control-bits"],
                value: Value::Number,
            },
        ],
        required: &["-c"],
        positionals: (0, 0),
    },
    Subcommand {
        name: "bench",
        flags: &[
            Flag {
                names: &["-c"],
                value: Value::Number,
            },
            FLAG_NUMBER,
            Flag {
                names: &["--calls"],
                value: Value::Number,
            },
            Flag {
                names: &["--memory"],
                value: Value::None,
            },
        ],
        required: &["-c"],
        positionals: (0, 0),
    },
    Subcommand {
        name: "scan",
        flags: &[
            Flag {
                names: &["--from"],
                value: Value::Number,
            },
            Flag {
                names: &["--to"],
                value: Value::Number,
            },
            FLAG_NUMBER,
            Flag {
                names: &["--yes"],
                value: Value::None,
            },
        ],
        required: &["--from", "--to"],
        positionals: (0, 0),
    },
    Subcommand {
        name: "status",
        flags: &[],
        required: &[],
        positionals: (1, 1),
    },
    Subcommand {
        name: "conform",
        flags: &[
            Flag {
                names: &["--profile"],
                value: Value::OneOf(&["tlfs", "kvm", "qemu", "openvmm"]),
            },
            Flag {
                names: &["--connection"],
                value: Value::Number,
            },
        ],
        required: &[],
        positionals: (0, usize::MAX),
    },
];

/// Whether `text` is a number as the console program reads it (decimal, `0x`, `0b`).
fn is_number(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest, 2)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c == '_' || c.is_digit(radix))
}

fn find_flag<'f>(flags: &'f [Flag], name: &str) -> Option<&'f Flag> {
    flags.iter().find(|flag| flag.names.contains(&name))
}

/// Where one command line leaves the contract; empty when it keeps to it.
fn contract_problems(invocation: &Invocation) -> Vec<String> {
    let mut problems = Vec::new();
    let mut subcommand: Option<&Subcommand> = None;
    let mut seen = BTreeSet::new();
    let mut positionals = 0usize;
    let mut tokens = invocation.tokens.iter();
    while let Some(current) = tokens.next() {
        let Token::Literal(word) = current else {
            match subcommand {
                Some(command) if command.positionals.1 > positionals => positionals += 1,
                Some(_) => problems.push(format!(
                    "`{current}` stands where a flag is expected; flags must be literal"
                )),
                None => problems.push(format!("the subcommand must be literal, found `{current}`")),
            }
            continue;
        };
        let flag = if word.starts_with('-') {
            find_flag(GLOBAL_FLAGS, word)
                .or_else(|| subcommand.and_then(|command| find_flag(command.flags, word)))
        } else {
            None
        };
        if word.starts_with('-') {
            let Some(flag) = flag else {
                problems.push(format!(
                    "`{word}` is not a flag of `{}` in the contract",
                    subcommand.map_or("hvsignal", |command| command.name)
                ));
                continue;
            };
            seen.insert(word.clone());
            let value = match flag.value {
                Value::None => continue,
                _ => tokens.next(),
            };
            let Some(value) = value else {
                problems.push(format!("`{word}` needs a value"));
                continue;
            };
            if let Token::Literal(value) = value {
                match flag.value {
                    Value::Number if !is_number(value) => {
                        problems.push(format!("`{word} {value}`: not a number"));
                    }
                    Value::OneOf(allowed) if !allowed.contains(&value.as_str()) => {
                        problems.push(format!("`{word} {value}`: expected one of {allowed:?}"));
                    }
                    _ => {}
                }
            }
            continue;
        }
        match subcommand {
            None => match SUBCOMMANDS.iter().find(|command| command.name == word) {
                Some(command) => subcommand = Some(command),
                None => problems.push(format!("`{word}` is not a command of the contract")),
            },
            Some(command) if command.positionals.1 > positionals => positionals += 1,
            Some(command) => problems.push(format!(
                "`{word}`: `{}` takes no further arguments",
                command.name
            )),
        }
    }
    match subcommand {
        None => problems.push("no command".to_owned()),
        Some(command) => {
            for required in command.required {
                if !seen.contains(*required) {
                    problems.push(format!("`{}` needs `{required}`", command.name));
                }
            }
            if positionals < command.positionals.0 {
                problems.push(format!(
                    "`{}` needs {} argument(s)",
                    command.name, command.positionals.0
                ));
            }
        }
    }
    problems
        .into_iter()
        .map(|problem| format!("{invocation}: {problem}"))
        .collect()
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

fn check_each(check: fn(&str) -> Vec<String>) -> BTreeMap<String, Vec<String>> {
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
fn every_console_program_call_keeps_to_the_contract() {
    let invocations = harness_invocations();
    let problems: Vec<String> = invocations.iter().flat_map(contract_problems).collect();
    assert!(
        problems.is_empty(),
        "calls outside the console program's contract:\n{}",
        problems.join("\n")
    );
    // The scenarios use every command the issue asks for; an empty or partial extraction would
    // make the check above vacuous.
    let used: BTreeSet<String> = invocations
        .iter()
        .filter_map(|invocation| {
            invocation.tokens.iter().find_map(|token| match token {
                Token::Literal(word) if !word.starts_with('-') => Some(word.clone()),
                _ => None,
            })
        })
        .collect();
    let expected: BTreeSet<String> = ["bench", "conform", "info", "scan", "signal", "status"]
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
    let architecture = std::fs::read_to_string(root().join("docs").join("ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md");
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
}

fn invocation(tokens: &[&str]) -> Invocation {
    Invocation {
        position: "1:1".to_owned(),
        via: "test".to_owned(),
        tokens: tokens
            .iter()
            .map(|token| match token.strip_prefix('$') {
                Some(_) => Token::Dynamic((*token).to_owned()),
                None => Token::Literal((*token).to_owned()),
            })
            .collect(),
    }
}

#[test]
fn contract_check_accepts_the_contract() {
    for tokens in [
        &["--json", "info"][..],
        &[
            "--backend",
            "model",
            "--json",
            "signal",
            "-c",
            "$id",
            "--memory",
            "--repeat",
            "10",
        ],
        &[
            "signal",
            "-c",
            "0x2001",
            "-f",
            "3",
            "--rep-count",
            "1",
            "--control-bits",
            "0x8000000",
        ],
        &[
            "--json", "bench", "-c", "$live", "--calls", "$calls", "--memory",
        ],
        &["scan", "--from", "1", "--to", "4096", "--yes"],
        &["--json", "status", "18"],
        &[
            "conform",
            "--profile",
            "tlfs",
            "--connection",
            "$live",
            "$file",
            "cases.toml",
        ],
        &["--world", "$world", "signal", "-c", "1", "--dry-run"],
    ] {
        let problems = contract_problems(&invocation(tokens));
        assert!(problems.is_empty(), "{tokens:?}: {problems:?}");
    }
}

#[test]
fn contract_check_rejects_what_the_contract_lacks() {
    for (tokens, expected) in [
        (&["--json", "inf"][..], "not a command"),
        (&["signal", "--connection", "1"], "not a flag of `signal`"),
        (
            &["signal", "-c", "1", "--calls", "5"],
            "not a flag of `signal`",
        ),
        (&["signal", "--memory"], "needs `-c`"),
        (&["signal", "-c", "one"], "not a number"),
        (&["scan", "--from", "1"], "needs `--to`"),
        (&["status"], "needs 1 argument"),
        (&["info", "extra"], "takes no further arguments"),
        (&["conform", "--profile", "hyperv"], "expected one of"),
        (&["--backend", "driver", "info"], "expected one of"),
        (&["$command", "-c", "1"], "must be literal"),
        (&["signal", "-c", "1", "$flag"], "flags must be literal"),
        (&["--json"], "no command"),
        (&["bench", "-c"], "needs a value"),
    ] {
        let problems = contract_problems(&invocation(tokens));
        assert!(
            problems.iter().any(|problem| problem.contains(expected)),
            "{tokens:?} should report `{expected}`: {problems:?}"
        );
    }
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

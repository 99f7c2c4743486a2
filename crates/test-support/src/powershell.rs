//! Reading the Hyper-V VM harness (`tests/hyperv/*.ps1`, `*.psm1`) with tree-sitter-powershell:
//! the parse, the walk over its commands, and the console-program command lines it runs
//! ([`hvsignal_invocations`]).
//!
//! Shared by two test crates: the root package's `tests/hyperv_harness.rs`, which checks the
//! scripts themselves, and the console program's unit tests (`app/src/cli/harness_check.rs`),
//! which feed every command line to the real clap definition.

use std::fmt;
use std::path::{Path, PathBuf};

use tree_sitter::{Node, Parser, Tree};

// ------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------

/// Every `.ps1` and `.psm1` below `dir`, sorted.
///
/// # Panics
///
/// When a directory below `dir` cannot be listed: the check that asked would be vacuous.
#[must_use]
pub fn script_paths(dir: &Path) -> Vec<PathBuf> {
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

/// The tree-sitter-powershell parse of `source` (errors are nodes of the tree, see
/// `Node::has_error`).
///
/// # Panics
///
/// When the grammar does not load into this tree-sitter version (a dependency mismatch).
#[must_use]
pub fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("tree-sitter-powershell loads into this tree-sitter version");
    parser
        .parse(source, None)
        .expect("tree-sitter returns a tree without a timeout or cancellation")
}

/// The source text `node` spans.
#[must_use]
pub fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// `line:column`, both 1-based.
#[must_use]
pub fn position(node: Node<'_>) -> String {
    let point = node.start_position();
    format!("{}:{}", point.row + 1, point.column + 1)
}

/// Calls `visit` on every node below (and including) `node`, in document order.
pub fn walk<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>)) {
    visit(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, visit);
    }
}

/// The named children of `node`, in order.
#[must_use]
pub fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// The first line of `snippet`, cut to 60 characters (`…` marks a cut), for messages.
#[must_use]
pub fn first_line(snippet: &str) -> String {
    let line = snippet.lines().next().unwrap_or("");
    let mut shown: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        shown.push('…');
    }
    shown
}

/// The value of a string literal node: quotes removed, `''` and `""` unescaped; `None` for an
/// expandable string that interpolates variables or sub-expressions.
#[must_use]
pub fn string_value(node: Node<'_>, source: &str) -> Option<String> {
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
#[must_use]
pub fn command_name(node: Node<'_>, source: &str) -> Option<String> {
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
#[must_use]
pub fn commands<'t>(tree: &'t Tree, source: &str) -> Vec<(Node<'t>, Option<String>)> {
    let mut found = Vec::new();
    walk(tree.root_node(), &mut |node| {
        if node.kind() == "command" {
            found.push((node, command_name(node, source)));
        }
    });
    found
}

/// The value of `node` when it is (a wrapper chain around) exactly one string literal.
#[must_use]
pub fn single_string_literal(node: Node<'_>, source: &str) -> Option<String> {
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

/// One argument of a console-program command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
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
pub struct Invocation {
    /// `line:column` of the call.
    pub position: String,
    /// The wrapper (or `hvsignal`) that was called.
    pub via: String,
    /// The arguments after the program name, in order.
    pub tokens: Vec<Token>,
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
pub const WRAPPERS: &[&str] = &[
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
/// array): those would escape the checks on the command lines, so they are errors.
///
/// # Errors
///
/// Every such call, as "line:column: what is wrong".
pub fn hvsignal_invocations(source: &str) -> Result<Vec<Invocation>, Vec<String>> {
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

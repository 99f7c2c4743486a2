//! The repository stands on its own: every citation in code, docs and program output resolves
//! inside the repository (or is a public URL), and nothing cites the developers' private notes.
//!
//! Over every text file git tracks (plus untracked files that are not ignored, so a new file is
//! checked before its first commit), this test fails on:
//!
//! - a mention of the developers' design notes or reference file, which users do not have: the
//!   design file's name, a path into the shared folder next to the repository, "reference"
//!   followed by a section sign or the word "notes", or a section sign followed by a digit (the
//!   reference file's numbering). The forbidden strings are built with `concat!` below, so this
//!   file does not contain them and needs no exception;
//! - a relative Markdown link `[text](path)` or `[text](path#anchor)` in a `.md` file whose file
//!   does not exist, or whose anchor is not the GitHub anchor of a heading of the target (links to
//!   URLs are not fetched);
//! - a mention of a project document — `docs/<name>.md`, or a bare upper-case `<NAME>.md` such as
//!   `README.md` or `MODEL.md` — that names no existing file (a bare name may be relative to the
//!   mentioning file, to the repository root or to `docs/`);
//! - a section citation that names no heading of the cited document. A citation is a document
//!   mention followed by `, ` and either a quoted title (`docs/WINDOWS.md, "Raw mode"`) or a
//!   capitalised one (`docs/HYPERCALL.md, Control word`). A quoted title must equal a heading (or
//!   the heading without a trailing parenthesis, as in "Console program contract"); an
//!   unquoted one must begin with a heading, followed by a non-word character (so
//!   `docs/HYPERCALL.md, KVM, step 10` cites the heading "KVM"). Titles may wrap onto the next
//!   comment line: line breaks and comment leaders (`//!`, `///`, `//`, `#`, `;`) are read as one
//!   space. Headings are compared without backticks and ignoring case.
//!
//! What it does not check: prose that names a section without the `<name>.md, ` form, the content
//! of a cited section, and URLs (no network in tests). Each check has its own unit test below
//! that feeds it a broken snippet, so none passes vacuously.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Strings no tracked file may contain (compared ignoring case).
const FORBIDDEN: &[&str] = &[
    concat!("DESIGN", ".md"),
    concat!("..", "/shared"),
    concat!("shared", "/reference"),
    concat!("hyperv-signal", "-event.md"),
    concat!("reference", " \u{a7}"),
    concat!("reference", " notes"),
];

// ------------------------------------------------------------------------------------------------
// The files
// ------------------------------------------------------------------------------------------------

/// Every file git knows about or would add (tracked, plus untracked files that are not ignored),
/// relative to the repository root. Without git (an exported tarball) every file below the root
/// except `target/` and `.git/`.
fn repository_files() -> Vec<PathBuf> {
    let output = std::process::Command::new("git")
        .current_dir(root())
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    if let Ok(output) = output
        && output.status.success()
    {
        let mut files: Vec<PathBuf> = output
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .filter(|path| root().join(path).is_file())
            .collect();
        files.sort();
        files.dedup();
        return files;
    }
    let mut files = Vec::new();
    walk(&root(), Path::new(""), &mut files);
    files.sort();
    files
}

fn walk(base: &Path, relative: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(base.join(relative)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if relative.as_os_str().is_empty() && (name == "target" || name == ".git") {
            continue;
        }
        let path = relative.join(&name);
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(base, &path, files);
        } else {
            files.push(path);
        }
    }
}

/// The file's text, or `None` for a binary file (a NUL byte, or not UTF-8).
fn text_of(path: &Path) -> Option<String> {
    let bytes = std::fs::read(root().join(path)).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Every text file of the repository with its contents.
fn text_files() -> Vec<(PathBuf, String)> {
    let files: Vec<(PathBuf, String)> = repository_files()
        .into_iter()
        .filter_map(|path| text_of(&path).map(|text| (path, text)))
        .collect();
    assert!(
        files.iter().any(|(path, _)| path == Path::new("README.md"))
            && files
                .iter()
                .any(|(path, _)| path == Path::new("docs/HYPERCALL.md"))
            && files
                .iter()
                .any(|(path, _)| path.extension().is_some_and(|e| e == "rs")),
        "the file list misses README.md, docs/HYPERCALL.md or the Rust sources: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    files
}

// ------------------------------------------------------------------------------------------------
// Forbidden mentions
// ------------------------------------------------------------------------------------------------

/// "line: what" for every forbidden mention in `text`.
fn forbidden_mentions(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        for forbidden in FORBIDDEN {
            if lower.contains(&forbidden.to_lowercase()) {
                problems.push(format!("line {}: cites {forbidden:?}", number + 1));
            }
        }
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{a7}' && chars.peek().is_some_and(char::is_ascii_digit) {
                problems.push(format!(
                    "line {}: a numbered section sign (the private reference's numbering)",
                    number + 1
                ));
                break;
            }
        }
    }
    problems
}

// ------------------------------------------------------------------------------------------------
// Headings and anchors
// ------------------------------------------------------------------------------------------------

/// The headings of a Markdown text, outside fenced code blocks, without `#`s and backticks.
fn headings(markdown: &str) -> Vec<String> {
    let mut headings = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let title = line[hashes..].trim().trim_end_matches('#').trim();
            headings.push(title.replace('`', ""));
        }
    }
    headings
}

/// GitHub's anchor of each heading: lower case, only letters, digits, `-`, `_` and spaces kept,
/// spaces turned into `-`; a repeated anchor gets `-1`, `-2`, ….
fn anchors(markdown: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    headings(markdown)
        .iter()
        .map(|heading| {
            let slug: String = heading
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            let count = seen.entry(slug.clone()).or_insert(0);
            let anchor = if *count == 0 {
                slug
            } else {
                format!("{slug}-{count}")
            };
            *count += 1;
            anchor
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Markdown links
// ------------------------------------------------------------------------------------------------

/// The targets of the inline links `[text](target)` of a Markdown text, outside fenced code
/// blocks and inline code, with their line numbers.
fn markdown_links(markdown: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut fenced = false;
    for (number, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Inline code spans cannot hold links: blank them out.
        let mut in_code = false;
        let visible: String = line
            .chars()
            .map(|c| {
                if c == '`' {
                    in_code = !in_code;
                    ' '
                } else if in_code {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let mut rest = visible.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            links.push((number + 1, target.trim_matches(['<', '>']).to_owned()));
            rest = &after[end..];
        }
    }
    links
}

/// Problems with the relative links of the Markdown file `path` (relative to the root).
fn link_problems(
    path: &Path,
    markdown: &str,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let directory = path.parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for (line, target) in markdown_links(markdown) {
        if target.is_empty()
            || target.contains("://")
            || target.starts_with("mailto:")
            || target.starts_with("crate::")
        {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target.as_str(), None),
        };
        let linked = if file.is_empty() {
            path.to_path_buf()
        } else {
            normalize(&directory.join(file))
        };
        let Some(contents) =
            read(&linked).or_else(|| root().join(&linked).is_dir().then(String::new))
        else {
            problems.push(format!(
                "line {line}: link to {target}: no file {}",
                linked.display()
            ));
            continue;
        };
        if let Some(anchor) = anchor
            && linked.extension().is_some_and(|e| e == "md")
            && !anchors(&contents).iter().any(|a| a == anchor)
        {
            problems.push(format!(
                "line {line}: link to {target}: {} has no heading with the anchor #{anchor}",
                linked.display()
            ));
        }
    }
    problems
}

/// `a/b/../c` → `a/c`, `./a` → `a`.
fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(part) => parts.push(part),
            _ => {}
        }
    }
    parts.iter().collect()
}

// ------------------------------------------------------------------------------------------------
// Document mentions and section citations
// ------------------------------------------------------------------------------------------------

/// One mention of a project document: where it is, the path as written, and the text after it.
struct Mention<'t> {
    line: usize,
    written: &'t str,
    after: &'t str,
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Every `docs/<name>.md` and every bare upper-case `<NAME>.md` in `text`.
fn document_mentions(text: &str) -> Vec<Mention<'_>> {
    let mut mentions = Vec::new();
    let mut search = 0;
    while let Some(found) = text[search..].find(".md") {
        let end = search + found + 3;
        search = end;
        if text[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let start = text[..end - 3]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_path_char(c))
            .last()
            .map_or(end - 3, |(i, _)| i);
        let written = text[start..end].trim_start_matches("./");
        let stem = written
            .rsplit('/')
            .next()
            .unwrap_or(written)
            .trim_end_matches(".md");
        let project_document = written.starts_with("docs/")
            || (!written.contains('/')
                && stem.starts_with(|c: char| c.is_ascii_uppercase())
                && stem
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        // A path that is part of a longer one (`some/docs/X.md`) is not the project's.
        let preceded_by_path = text[..start].ends_with(['/', '\\']);
        if !project_document || preceded_by_path {
            continue;
        }
        let line = text[..start].matches('\n').count() + 1;
        mentions.push(Mention {
            line,
            written,
            after: &text[end..],
        });
    }
    mentions
}

/// The repository file a mention in `from` names, if it exists.
fn resolve(from: &Path, written: &str, exists: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    let directory = from.parent().unwrap_or(Path::new(""));
    let mut candidates = vec![PathBuf::from(written)];
    if !written.starts_with("docs/") {
        candidates.insert(0, normalize(&directory.join(written)));
        candidates.push(Path::new("docs").join(written));
    }
    candidates.into_iter().find(|candidate| exists(candidate))
}

/// The text after a mention with line breaks and comment leaders read as single spaces and
/// backticks removed, at most `limit` characters.
fn following_text(after: &str, limit: usize) -> String {
    let mut out = String::new();
    for (index, line) in after.split('\n').enumerate() {
        let piece = if index == 0 {
            line
        } else {
            out.push(' ');
            line.trim_start()
                .trim_start_matches(['/', '!', '#', ';', '*', '>'])
                .trim_start()
        };
        out.push_str(&piece.replace(['`', '\r'], ""));
        if out.chars().count() >= limit {
            break;
        }
    }
    out.chars().take(limit).collect()
}

/// The section a mention cites, if it cites one: `Some(Ok(heading))` when it names a heading of
/// `document`, `Some(Err(title))` when it does not.
fn cited_section(after: &str, document: &str) -> Option<Result<String, String>> {
    let rest = after.strip_prefix(", ")?;
    let text = following_text(rest, 200);
    let headings = headings(document);
    if let Some(quoted) = text.strip_prefix('"') {
        let title = quoted.split('"').next().unwrap_or(quoted);
        return Some(
            headings
                .iter()
                .find(|h| {
                    h.eq_ignore_ascii_case(title)
                        || h.split_once(" (")
                            .is_some_and(|(short, _)| short.eq_ignore_ascii_case(title))
                })
                .cloned()
                .ok_or_else(|| title.to_owned()),
        );
    }
    if !text.starts_with(|c: char| c.is_uppercase()) {
        return None;
    }
    let lower = text.to_lowercase();
    let found = headings
        .iter()
        .filter(|heading| {
            let heading = heading.to_lowercase();
            lower.starts_with(&heading)
                && !lower[heading.len()..].starts_with(|c: char| c.is_alphanumeric())
        })
        .max_by_key(|heading| heading.len())
        .cloned();
    Some(found.ok_or_else(|| text.chars().take(60).collect()))
}

/// Problems with the document mentions and section citations of the file `path`.
fn mention_problems(
    path: &Path,
    text: &str,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for mention in document_mentions(text) {
        let Some(target) = resolve(path, mention.written, &|p| read(p).is_some()) else {
            problems.push(format!(
                "line {}: {} does not exist",
                mention.line, mention.written
            ));
            continue;
        };
        let document = read(&target).unwrap_or_default();
        if let Some(Err(title)) = cited_section(mention.after, &document) {
            problems.push(format!(
                "line {}: {}, {title:?}…: {} has no such heading (headings: {:?})",
                mention.line,
                mention.written,
                target.display(),
                headings(&document)
            ));
        }
    }
    problems
}

// ------------------------------------------------------------------------------------------------
// The repository
// ------------------------------------------------------------------------------------------------

fn read_from_repository(path: &Path) -> Option<String> {
    let full = root().join(path);
    full.is_file().then(|| text_of(path)).flatten()
}

fn report(problems: &BTreeMap<String, Vec<String>>) -> String {
    problems
        .iter()
        .map(|(file, list)| format!("{file}:\n  {}", list.join("\n  ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn nothing_cites_the_private_design_notes_or_reference() {
    let mut problems = BTreeMap::new();
    for (path, text) in text_files() {
        let found = forbidden_mentions(&text);
        if !found.is_empty() {
            problems.insert(path.display().to_string(), found);
        }
    }
    assert!(problems.is_empty(), "{}", report(&problems));
}

#[test]
fn every_relative_markdown_link_resolves() {
    let mut problems = BTreeMap::new();
    let mut links = 0;
    for (path, text) in text_files() {
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        links += markdown_links(&text).len();
        let found = link_problems(&path, &text, &read_from_repository);
        if !found.is_empty() {
            problems.insert(path.display().to_string(), found);
        }
    }
    assert!(
        links > 20,
        "only {links} links found: the link reader is broken"
    );
    assert!(problems.is_empty(), "{}", report(&problems));
}

#[test]
fn every_document_mention_and_section_citation_resolves() {
    let mut problems = BTreeMap::new();
    let mut citations = 0;
    for (path, text) in text_files() {
        for mention in document_mentions(&text) {
            if let Some(target) = resolve(&path, mention.written, &|p| root().join(p).is_file()) {
                let document = read_from_repository(&target).unwrap_or_default();
                citations += usize::from(cited_section(mention.after, &document).is_some());
            }
        }
        let found = mention_problems(&path, &text, &read_from_repository);
        if !found.is_empty() {
            problems.insert(path.display().to_string(), found);
        }
    }
    assert!(
        citations > 20,
        "only {citations} section citations found: the citation reader is broken"
    );
    assert!(problems.is_empty(), "{}", report(&problems));
}

// ------------------------------------------------------------------------------------------------
// The checks themselves catch what they are for
// ------------------------------------------------------------------------------------------------

/// A tiny in-memory repository for the checks below.
fn fake(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
    let files: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
        .collect();
    move |path: &Path| files.get(path).cloned()
}

const DOC: &str = "# Title\n\n## Control word\n\ntext\n\n### `tlfs` — fixed order\n\n```\n## not a heading\n```\n\n## KVM\n";

#[test]
fn forbidden_mentions_are_found() {
    for bad in [
        concat!("see DESIGN", ".md, Raw mode"),
        concat!("(Reference", " \u{a7}7d row)"),
        concat!("the reference", " notes say"),
        concat!("in ..", "/shared/x"),
        concat!("shared", "/reference/", "hyperv-signal", "-event.md"),
        "the \u{a7}7a quirk",
    ] {
        assert!(!forbidden_mentions(bad).is_empty(), "{bad:?}");
    }
    assert_eq!(
        forbidden_mentions("fine\nsee docs/HYPERCALL.md, KVM\n\u{a7} alone"),
        Vec::<String>::new()
    );
    assert_eq!(
        forbidden_mentions(concat!("ok\nx DESIGN", ".MD")),
        vec![format!("line 2: cites {:?}", FORBIDDEN[0])]
    );
}

#[test]
fn headings_and_anchors_are_read_as_github_does() {
    assert_eq!(
        headings(DOC),
        ["Title", "Control word", "tlfs — fixed order", "KVM"]
    );
    assert_eq!(
        anchors("# A b\n## A b\n## `x` — y (z)\n"),
        ["a-b", "a-b-1", "x--y-z"]
    );
}

#[test]
fn broken_links_are_found() {
    // Lower-case names, so that the mention check over this file does not read them as
    // project documents.
    let read = fake(&[("guide/a.md", DOC), ("guide/b.md", "[ok](a.md#kvm)")]);
    assert_eq!(
        link_problems(Path::new("guide/b.md"), "[ok](a.md#kvm)", &read),
        Vec::<String>::new()
    );
    let text = "[a](a.md) [b](missing.md) [c](a.md#nope) [d](https://x.y/z) `[e](e.md)`\n```\n[f](f.md)\n```\n[g](#control-word)";
    assert_eq!(
        link_problems(Path::new("guide/a.md"), text, &read),
        [
            "line 1: link to missing.md: no file guide/missing.md",
            "line 1: link to a.md#nope: guide/a.md has no heading with the anchor #nope",
        ]
    );
    assert_eq!(
        link_problems(
            Path::new("README.md"),
            "[x](guide/a.md#control-word) [y](a.md)",
            &read
        ),
        ["line 1: link to a.md: no file a.md"]
    );
}

#[test]
fn mentions_and_section_citations_are_checked() {
    let read = fake(&[("docs/HYPERCALL.md", DOC), ("README.md", "# R\n")]);
    let good = "// (docs/HYPERCALL.md, Control word) and docs/HYPERCALL.md, KVM, step 3\n\
                /// docs/HYPERCALL.md,\n/// Control word; docs/HYPERCALL.md, which is lower case;\n\
                README.md; crates/x/docs/Y.md; notes.md; docs/<name>.md";
    // The strings below are built with concat! so that the check over this file does not read
    // them as citations.
    let quoted = concat!("docs/HYPERCALL.md", ", \"tlfs — fixed order\"");
    for text in [good, quoted] {
        assert_eq!(
            mention_problems(Path::new("src/a.rs"), text, &read),
            Vec::<String>::new(),
            "{text}"
        );
    }
    // A quoted title may leave out the heading's trailing parenthesis; an unquoted one may not
    // stop inside a word.
    let read_contract = fake(&[(
        concat!("docs/C", ".md"),
        "## Console contract (the harness relies on it)\n",
    )]);
    let short = concat!(
        "docs/C",
        ".md, \"Console contract\" and docs/C",
        ".md, Console contracts"
    );
    let problems = mention_problems(Path::new("a.rs"), short, &read_contract);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("\"Console contracts\""),
        "{problems:#?}"
    );
    // A bare name resolves relative to the file, the root or docs/.
    assert_eq!(
        mention_problems(
            Path::new(concat!("docs/X", ".md")),
            "see HYPERCALL.md, KVM",
            &read
        ),
        Vec::<String>::new()
    );
    let bad = concat!(
        "docs/MISSING",
        ".md\ndocs/HYPERCALL",
        ".md, Control words are\ndocs/HYPERCALL",
        ".md, \"KVM steps\"\nTESTING.md"
    );
    let problems = mention_problems(Path::new("src/a.rs"), bad, &read);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with(concat!("line 1: docs/MISSING", ".md does not exist")));
    assert!(problems[1].starts_with("line 2: docs/HYPERCALL.md, \"Control words are"));
    assert!(problems[2].starts_with("line 3: docs/HYPERCALL.md, \"KVM steps\""));
    assert!(problems[3].starts_with("line 4: TESTING.md does not exist"));
}

//! Output: aligned tables with colour only on a terminal (and never with `NO_COLOR` set), and
//! JSON documents that always carry `command`, `backend` and `simulated`.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use hvcall::HvStatus;
use serde::Serialize;

/// Colour, decided once for stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

/// The colours used.
#[derive(Clone, Copy, Debug)]
enum Color {
    Red = 31,
    Green = 32,
    Yellow = 33,
    Cyan = 36,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
    #[must_use]
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            color: !no_color && io::stdout().is_terminal(),
        }
    }

    /// No colour at all.
    #[cfg(test)]
    #[must_use]
    pub const fn plain() -> Self {
        Self { color: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn colored(self, color: Color, text: &str) -> String {
        self.paint(&(color as u8).to_string(), text)
    }

    /// Bold text.
    #[must_use]
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dimmed text (notes, units).
    #[must_use]
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Good news.
    #[must_use]
    pub fn good(self, text: &str) -> String {
        self.colored(Color::Green, text)
    }

    /// What `good` puts before and after its text, for text written piece by piece.
    #[must_use]
    pub fn good_marks(self) -> (&'static str, &'static str) {
        if self.color {
            ("\x1b[32m", "\x1b[0m")
        } else {
            ("", "")
        }
    }

    /// Bad news.
    #[must_use]
    pub fn bad(self, text: &str) -> String {
        self.colored(Color::Red, text)
    }

    /// A warning or an informational difference.
    #[must_use]
    pub fn warn(self, text: &str) -> String {
        self.colored(Color::Yellow, text)
    }

    /// A highlighted item.
    #[must_use]
    pub fn accent(self, text: &str) -> String {
        self.colored(Color::Cyan, text)
    }

    /// A status name, green for success, red otherwise.
    #[must_use]
    pub fn status(self, status: HvStatus) -> String {
        let text = status_name(status);
        if status.is_success() {
            self.good(&text)
        } else {
            self.bad(&text)
        }
    }
}

/// `HV_STATUS_…` or `unknown (0x1234)`.
#[must_use]
pub fn status_name(status: HvStatus) -> String {
    status.name().map_or_else(
        || format!("unknown HV_STATUS {:#06x}", status.code()),
        str::to_owned,
    )
}

/// A status for a table cell: its name without `HV_STATUS_`, or `unknown 0x1234`.
#[must_use]
pub fn short_status_name(status: StatusJson) -> String {
    status.name.map_or_else(
        || format!("unknown {:#06x}", status.code),
        |n| n.trim_start_matches("HV_STATUS_").to_owned(),
    )
}

/// The number of terminal columns `text` takes (ANSI colour sequences take none).
#[must_use]
pub fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// Column alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table with a header row, aligned columns and two spaces between columns.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and alignments.
    #[must_use]
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            headers: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (cells may carry colour).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, indented by `indent` spaces, headers in bold.
    #[must_use]
    pub fn render(&self, style: Style, indent: usize) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| visible_width(h)).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(visible_width(cell));
            }
        }
        let mut out = String::new();
        let header_cells: Vec<String> = self.headers.iter().map(|h| style.bold(h)).collect();
        for cells in std::iter::once(&header_cells).chain(&self.rows) {
            let mut line = " ".repeat(indent);
            for (index, cell) in cells.iter().enumerate().take(columns) {
                let width = widths.get(index).copied().unwrap_or(0);
                let pad = " ".repeat(width.saturating_sub(visible_width(cell)));
                let last = index + 1 == columns;
                match self.align.get(index).copied().unwrap_or(Align::Left) {
                    Align::Left if last => line.push_str(cell),
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
                if !last {
                    line.push_str("  ");
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// Label/value lines with the values aligned: `  Label     value`.
#[derive(Debug, Default)]
pub struct Fields {
    rows: Vec<(String, String)>,
}

impl Fields {
    /// An empty list.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one line.
    pub fn add(&mut self, label: &str, value: impl Into<String>) {
        self.rows.push((label.to_owned(), value.into()));
    }

    /// The lines, indented by `indent` spaces.
    #[must_use]
    pub fn render(&self, indent: usize) -> String {
        let width = self
            .rows
            .iter()
            .map(|(l, _)| visible_width(l))
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.rows {
            let pad = " ".repeat(width.saturating_sub(visible_width(label)));
            let _ = writeln!(out, "{}{label}{pad}  {value}", " ".repeat(indent));
        }
        out
    }
}

/// A human report being built, line by line.
#[derive(Debug, Default)]
pub struct Text(String);

impl Text {
    /// An empty report.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `line` and a newline.
    pub fn line(&mut self, line: impl AsRef<str>) {
        self.0.push_str(line.as_ref());
        self.0.push('\n');
    }

    /// Appends an empty line.
    pub fn blank(&mut self) {
        self.0.push('\n');
    }

    /// Appends text as it is (e.g. a rendered table).
    pub fn push(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
    }

    /// Writes the report to `out`.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.0.as_bytes())
    }
}

/// A status value in JSON: `{"code": 18, "name": "HV_STATUS_INVALID_CONNECTION_ID"}`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct StatusJson {
    /// The numeric HV_STATUS.
    pub code: u16,
    /// The TLFS name, `null` when unknown.
    pub name: Option<&'static str>,
}

impl From<HvStatus> for StatusJson {
    fn from(status: HvStatus) -> Self {
        Self {
            code: status.code(),
            name: status.name(),
        }
    }
}

/// The envelope of every JSON document.
#[derive(Debug, Serialize)]
pub struct Document<'a, T: Serialize> {
    /// The command that produced the document.
    pub command: &'a str,
    /// `device` or `model`.
    pub backend: &'a str,
    /// True for the model backend.
    pub simulated: bool,
    /// The command's own keys.
    #[serde(flatten)]
    pub body: T,
}

/// Writes `document` as pretty JSON and a newline to stdout.
///
/// # Errors
/// Writing to stdout failed.
pub fn print_json<T: Serialize>(document: &T) -> io::Result<()> {
    write_json(&mut io::stdout().lock(), document)
}

/// Writes `document` as pretty JSON and a newline to `out`, through a buffer (stdout alone
/// would flush at every newline of the document). What was serialized before an error is
/// still written.
///
/// # Errors
/// Writing failed, or serializing `document` did.
pub fn write_json<T: Serialize>(out: &mut dyn Write, document: &T) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, document).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()
}

/// `0x` and at least `digits` hex digits.
#[must_use]
pub fn hex(value: u64, digits: usize) -> String {
    format!("{value:#0width$x}", width = digits + 2)
}

/// Bytes as space-separated hex pairs: `01 20 00 00`.
#[must_use]
pub fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Formats a 64-bit value as `0x` and 16 hex digits with `_` between 4-digit groups
/// (`0x0000_0000_0001_005d`).
#[must_use]
pub fn hex64_grouped(value: u64) -> String {
    let digits = format!("{value:016x}");
    let groups: Vec<&str> = (0..4)
        .filter_map(|i| digits.get(i * 4..i * 4 + 4))
        .collect();
    format!("0x{}", groups.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_ignoring_colour() {
        let mut table = Table::new(&[
            ("id", Align::Right),
            ("status", Align::Left),
            ("n", Align::Right),
        ]);
        table.row(vec![
            "0x2001".into(),
            "\x1b[32mOK\x1b[0m".into(),
            "1".into(),
        ]);
        table.row(vec!["5".into(), "HV_STATUS_X".into(), "100".into()]);
        assert_eq!(
            table.render(Style::plain(), 2),
            "      id  status         n\n  0x2001  \x1b[32mOK\x1b[0m             1\n       5  HV_STATUS_X  100\n"
        );
    }

    #[test]
    fn fields_align_values() {
        let mut fields = Fields::new();
        fields.add("a", "1");
        fields.add("longer", "2");
        assert_eq!(fields.render(1), " a       1\n longer  2\n");
    }

    #[test]
    fn widths_and_hex() {
        assert_eq!(visible_width("\x1b[1mabc\x1b[0m"), 3);
        let color = Style { color: true };
        let (open, close) = color.good_marks();
        assert_eq!(format!("{open}abc{close}"), color.good("abc"));
        assert_eq!(Style::plain().good_marks(), ("", ""));
        assert_eq!(hex(0x12, 4), "0x0012");
        assert_eq!(hex_bytes(&[1, 0x20, 0]), "01 20 00");
        assert_eq!(hex64_grouped(0x1_005D), "0x0000_0000_0001_005d");
        assert_eq!(hex64_grouped(u64::MAX), "0xffff_ffff_ffff_ffff");
        assert_eq!(
            status_name(HvStatus::from_code(0x1234)),
            "unknown HV_STATUS 0x1234"
        );
        assert_eq!(
            serde_json::to_string(&StatusJson::from(HvStatus::INVALID_CONNECTION_ID)).unwrap(),
            r#"{"code":18,"name":"HV_STATUS_INVALID_CONNECTION_ID"}"#
        );
        assert_eq!(
            serde_json::to_string(&StatusJson::from(HvStatus::from_code(1))).unwrap(),
            r#"{"code":1,"name":null}"#
        );
    }
}

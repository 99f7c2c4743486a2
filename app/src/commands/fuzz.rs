//! `hvsignal fuzz`: seeded pseudo-random HvCallSignalEvent calls, weighted toward boundaries,
//! each status compared with the chosen profile's model; a crash-safe log and its replay.
//!
//! Design (docs/CLI.md, `fuzz`):
//! - **Generator.** Entry `K` (its seed position) is a pure function of the seed, `K` and the
//!   generator's parameters (raw mode, memory convention available, live connections and their
//!   flag counts): it draws outputs `64·K + 1 …` of SplitMix64 seeded with the seed, so any entry
//!   can be regenerated without the ones before it. The convention is drawn per block of 64
//!   entries (one full request).
//! - **Oracle.** Every request is sent to the backend and to the model of the chosen profile
//!   ([`conformance::model_client`], the model `conform` runs its cases on): on the model backend
//!   over the same world, on the device over [`conformance::device_world`] of the live
//!   connections. The oracle's status for a call is the profile's expectation; any other status
//!   observed is a finding.
//! - **Log.** Before a request is sent its entries are appended to the log and flushed to disk
//!   (`File::sync_data`); a replay re-issues them exactly, up to the last complete line.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hvcall::{CONNECTION_ID_MASK, HvStatus, HypercallControl, PAGE_SIZE, SignalEventInput};
use hvmodel::{Profile, splitmix64};
use hvsignal_proto::{
    CallingConvention, MAX_OPERATIONS, Operation, OperationResult, SignalRequest,
};
use serde::Serialize;

use crate::call;
use crate::cli::{BackendKind, FuzzArgs};
use crate::client::{Client, DriverError};
use crate::conformance;
use crate::context::{Context, Session};
use crate::exit::{AppError, CommandResult, EnvironmentError, Exit, InputFileError, UsageError};
use crate::issued::{CallJson, IssuedCall};
use crate::progress;
use crate::report::{self, Align, StatusJson, Style, Table, Text};

/// The first word of a fuzz log.
pub const LOG_MAGIC: &str = "hvsignal-fuzz-log";
/// The log format version this hvsignal writes and reads.
pub const LOG_VERSION: u32 = 1;
/// Calls issued when neither `--iterations` nor `--duration` is given.
pub const DEFAULT_ITERATIONS: u64 = 1000;
/// The device's assumed flag count of a live connection's port, without `--flag-count`.
pub const DEFAULT_FLAG_COUNT: u16 = 16;
/// The quick scan that finds the live connections covers ids 0 to this.
pub const SCAN_TO: u32 = 0xFFFF;
/// Findings listed in the JSON document (all are counted); the human report lists fewer.
pub const LISTED_FINDINGS: usize = 100;
const SHOWN_FINDINGS: usize = 20;
/// Draws of the generator reserved for one entry (it uses fewer).
const DRAWS_PER_ENTRY: u64 = 64;
/// Entries per block of one convention (a full request).
const BLOCK: u64 = MAX_OPERATIONS as u64;
/// The positions of the control-word bits the TLFS reserves (hvcall's
/// [`HypercallControl::RESERVED_MASK`]: 30:27, 47:44, 63:60), low to high.
const RESERVED_BITS: [u32; 12] = reserved_bit_positions();
/// The input page, in the `u64` the generator draws.
const PAGE: u64 = PAGE_SIZE as u64;
/// The SignalEvent input's size, in the `u64` the generator draws.
const INPUT_SIZE: u64 = SignalEventInput::SIZE as u64;

/// The positions of the control word's reserved bits, low to high. Evaluated only in a `const`
/// item, so an index out of bounds stops the build.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated in a const item only: an out-of-bounds index fails the build"
)]
const fn reserved_bit_positions() -> [u32; 12] {
    let mut positions = [0; 12];
    let mut found = 0;
    let mut bit = 0;
    while bit < 64 {
        if HypercallControl::RESERVED_MASK & (1 << bit) != 0 {
            // A mask of more than 12 bits fails the build here (index out of bounds).
            positions[found] = bit;
            found += 1;
        }
        bit += 1;
    }
    assert!(
        found == positions.len(),
        "the TLFS reserves 12 control-word bits"
    );
    positions
}

/// Set by the Ctrl-C handler: the run stops before its next request.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The draws of one entry: outputs `64·K + 1, 64·K + 2, …` of SplitMix64(seed).
struct Draws {
    seed: u64,
    next: u64,
}

impl Draws {
    const fn new(seed: u64, index: u64) -> Self {
        Self {
            seed,
            next: index.wrapping_mul(DRAWS_PER_ENTRY).wrapping_add(1),
        }
    }

    const fn draw(&mut self) -> u64 {
        let value = splitmix64::nth(self.seed, self.next);
        self.next = self.next.wrapping_add(1);
        value
    }

    /// A value in `0..bound` (Lemire's multiply-shift; `bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.draw()) * u128::from(bound);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// A value in `low..=high` (`high` itself when it is below `low`).
    fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return high;
        }
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy + Default>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(index).copied().unwrap_or_default()
    }

    /// One of `items` or, as often as each of them, a value in `low..=high`.
    fn pick_or_range(&mut self, items: &[u64], low: u64, high: u64) -> u64 {
        let index = usize::try_from(self.below(items.len() as u64 + 1)).unwrap_or(0);
        match items.get(index) {
            Some(item) => *item,
            None => self.range(low, high),
        }
    }
}

fn narrow16(value: u64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

fn narrow32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// One generated (or logged) call: everything the request carries for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Seed position.
    pub index: u64,
    /// Memory convention.
    pub memory: bool,
    /// ConnectionId field (bits 31:24 only in raw mode).
    pub connection_id: u32,
    /// FlagNumber.
    pub flag: u16,
    /// RsvdZ (raw mode).
    pub rsvd: u16,
    /// Control-word bits 63:17 (raw mode): reserved bits, nested, rep fields, header size.
    pub control_bits: u64,
    /// Offset of the input in the input page (memory convention, raw mode).
    pub input_offset: u16,
}

impl Entry {
    /// The entry's convention.
    const fn convention(&self) -> CallingConvention {
        call::convention(self.memory)
    }

    /// The call, checked as `signal` checks its command line.
    fn planned(&self, raw: bool) -> Result<Operation, AppError> {
        if !raw && (self.rsvd != 0 || self.control_bits != 0 || self.input_offset != 0) {
            return Err(UsageError::BadValue(
                "RsvdZ, control bits and the input offset are raw-mode fields: they are 0 \
                 unless the log's header says raw=1"
                    .to_owned(),
            )
            .into());
        }
        let operation = Operation {
            rsvd_z: self.rsvd,
            extra_control: self.control_bits,
            input_offset: self.input_offset,
            ..Operation::new(self.connection_id, self.flag, 1)
        };
        Ok(call::check(operation, self.convention(), raw)?)
    }

    /// The entry's log line, without the newline.
    fn log_line(&self) -> String {
        format!(
            "{} {} {:#010x} {} {:#06x} {:#018x} {}",
            self.index,
            if self.memory { "memory" } else { "fast" },
            self.connection_id,
            self.flag,
            self.rsvd,
            self.control_bits,
            self.input_offset
        )
    }

    fn parse(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split(' ').collect();
        let [index, convention, id, flag, rsvd, control, offset] = words.as_slice() else {
            return Err(format!(
                "an entry has 7 fields (index, fast|memory, connection id, flag, RsvdZ, control \
                 bits, input offset), this line has {}",
                words.len()
            ));
        };
        Ok(Self {
            index: number(index, "an entry index", u64::MAX)?,
            memory: match *convention {
                "fast" => false,
                "memory" => true,
                other => return Err(format!("`{other}` is not a convention: fast or memory")),
            },
            connection_id: narrow32(number(id, "a connection id", u64::from(u32::MAX))?),
            flag: narrow16(number(flag, "a flag number", u64::from(u16::MAX))?),
            rsvd: narrow16(number(rsvd, "RsvdZ", u64::from(u16::MAX))?),
            control_bits: number(control, "control bits", u64::MAX)?,
            input_offset: narrow16(number(offset, "an input offset", PAGE - 1)?),
        })
    }

    /// The `signal` command line that issues exactly this call.
    fn signal_command(&self, raw: bool, target: &[String]) -> String {
        let mut words = vec!["hvsignal".to_owned()];
        words.extend(target.iter().cloned());
        words.extend([
            "signal".to_owned(),
            "-c".to_owned(),
            format!("{:#x}", self.connection_id),
            "-f".to_owned(),
            self.flag.to_string(),
        ]);
        if self.memory {
            words.push("--memory".to_owned());
        }
        if raw {
            words.push("--raw".to_owned());
        }
        if self.rsvd != 0 {
            words.extend(["--rsvd".to_owned(), format!("{:#x}", self.rsvd)]);
        }
        if self.control_bits != 0 {
            words.extend([
                "--control-bits".to_owned(),
                format!("{:#x}", self.control_bits),
            ]);
        }
        if self.input_offset != 0 {
            words.extend(["--input-offset".to_owned(), self.input_offset.to_string()]);
        }
        words.join(" ")
    }
}

/// A number of a log line, 0 to `max`.
fn number(text: &str, what: &'static str, max: u64) -> Result<u64, String> {
    crate::numbers::parse_in_range(text, 0, max, what).map_err(|e| e.to_string())
}

/// A path for a command line: quoted when it holds a space or a quote.
fn quote(text: &str) -> String {
    if text.contains([' ', '\'', '"']) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text.to_owned()
    }
}

/// The generator: what entry `K` is, for one seed and one set of parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    /// The seed.
    pub seed: u64,
    /// Raw mode.
    pub raw: bool,
    /// The memory convention may be drawn.
    pub memory: bool,
    /// Live connections and their ports' flag counts.
    pub live: Vec<(u32, u16)>,
    /// Flag count for ids that are not live.
    pub flag_count: u16,
}

impl Generator {
    /// Entry `index`.
    #[must_use]
    pub fn entry(&self, index: u64) -> Entry {
        let mut d = Draws::new(self.seed, index);
        // The convention is the block's: the first draw of the block's first entry decides it
        // for the 64 entries of the block, so that requests are full.
        let block = index - index % BLOCK;
        let mut first = Draws::new(self.seed, block);
        let memory = self.memory && first.chance(25);
        let _ = d.draw();
        let live = |d: &mut Draws| {
            let i = usize::try_from(d.below(self.live.len() as u64)).unwrap_or(0);
            self.live.get(i).copied().unwrap_or((0, self.flag_count))
        };
        let kind = d.below(100);
        let has_live = !self.live.is_empty();
        let (mut id, flag_count) = if has_live && kind < 35 {
            live(&mut d)
        } else if has_live && kind < 50 {
            let (id, _) = live(&mut d);
            let id = if d.chance(50) {
                id.wrapping_add(1)
            } else {
                id.wrapping_sub(1)
            } & CONNECTION_ID_MASK;
            (id, self.flag_count_of(id))
        } else if kind < 65 {
            let id = d.pick(&[0, 1, CONNECTION_ID_MASK - 1, CONNECTION_ID_MASK]);
            (id, self.flag_count_of(id))
        } else {
            let id = narrow32(d.below(u64::from(CONNECTION_ID_MASK) + 1));
            (id, self.flag_count_of(id))
        };
        if self.raw && d.chance(20) {
            // The reserved bits 31:24 above the id.
            let high = narrow32(d.pick_or_range(&[0x01, 0x80, 0xFF], 1, 0xFF));
            id |= high << CONNECTION_ID_MASK.count_ones();
        }
        let count = u64::from(flag_count);
        let flag = match d.below(100) {
            0..30 => 0,
            30..55 => narrow16(d.below(count)),
            55..65 => flag_count.saturating_sub(1),
            65..75 => flag_count,
            75..85 => flag_count.saturating_add(1),
            85..93 => 0xFFFF,
            _ => narrow16(d.below(1 << 16)),
        };
        let mut entry = Entry {
            index,
            memory,
            connection_id: id,
            flag,
            rsvd: 0,
            control_bits: 0,
            input_offset: 0,
        };
        if self.raw {
            self.raw_fields(&mut d, &mut entry);
        }
        entry
    }

    /// RsvdZ, one control-word field, and the input offset.
    fn raw_fields(&self, d: &mut Draws, entry: &mut Entry) {
        let _ = self;
        if d.chance(15) {
            entry.rsvd = narrow16(d.pick_or_range(&[1, 0x8000, 0xFFFF], 1, 0xFFFF));
        }
        let mut header = 0u64;
        if d.chance(40) {
            // Each field is placed by hvcall's control-word layout; every drawn value fits it.
            let empty = HypercallControl::from_raw(0);
            let placed =
                |field: Result<HypercallControl, _>| field.map_or(0, HypercallControl::raw);
            let rep_max = u64::from(HypercallControl::REP_MAX);
            entry.control_bits = match d.below(5) {
                0 => 1 << d.pick(&RESERVED_BITS),
                1 => placed(empty.with_rep_count(narrow16(d.pick_or_range(
                    &[1, rep_max],
                    1,
                    rep_max,
                )))),
                2 => placed(empty.with_rep_start(narrow16(d.pick_or_range(
                    &[1, rep_max],
                    1,
                    rep_max,
                )))),
                3 => {
                    // The memory convention's input and header must end inside the page.
                    let max = if entry.memory {
                        (PAGE - INPUT_SIZE) / 8
                    } else {
                        u64::from(HypercallControl::VARIABLE_HEADER_MAX)
                    };
                    header = d.pick_or_range(&[1, 2, max], 1, max);
                    placed(empty.with_variable_header_size(narrow16(header)))
                }
                _ => HypercallControl::NESTED_BIT,
            };
        }
        if entry.memory {
            let last = PAGE - INPUT_SIZE - header * 8;
            entry.input_offset = narrow16(match d.below(7) {
                0 => 0,
                1 => 8.min(last),
                2 => d.below(last / 8 + 1) * 8,
                3 => d.range(1, 7.min(last)),
                4 => d.below(last + 1),
                5 => last,
                _ => last.saturating_sub(1),
            });
        }
    }

    fn flag_count_of(&self, id: u32) -> u16 {
        self.live
            .iter()
            .find(|(live, _)| *live == id)
            .map_or(self.flag_count, |(_, count)| *count)
    }
}

/// A live connection and its port's flag count.
type LiveConnection = (u32, u16);

/// The first line of a log: the format version and what the entries were generated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHeader {
    /// The generator (its seed and parameters).
    pub generator: Generator,
    /// The profile the run compared with.
    pub profile: Profile,
}

impl LogHeader {
    fn line(&self) -> String {
        let g = &self.generator;
        let live: Vec<String> = g
            .live
            .iter()
            .map(|(id, count)| format!("{id:#x}:{count}"))
            .collect();
        format!(
            "{LOG_MAGIC} {LOG_VERSION} seed={:#018x} profile={} raw={} memory={} flag_count={} \
             live={}",
            g.seed,
            self.profile.name(),
            u8::from(g.raw),
            u8::from(g.memory),
            g.flag_count,
            if live.is_empty() {
                "-".to_owned()
            } else {
                live.join(",")
            }
        )
    }

    fn parse(line: &str) -> Result<Self, String> {
        let mut words = line.split(' ');
        if words.next() != Some(LOG_MAGIC) {
            return Err(format!(
                "it does not start with `{LOG_MAGIC}`: not a fuzz log (written by hvsignal fuzz \
                 --log)"
            ));
        }
        match words.next() {
            Some(v) if v == LOG_VERSION.to_string() => {}
            Some(v) => {
                return Err(format!(
                    "format version `{v}`: this hvsignal reads version {LOG_VERSION}"
                ));
            }
            None => return Err("the format version is missing".to_owned()),
        }
        let mut fields = BTreeMap::new();
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("`{word}` is not key=value"))?;
            if fields.insert(key, value).is_some() {
                return Err(format!("key `{key}` is given twice"));
            }
        }
        let mut take = |key: &str| {
            fields
                .remove(key)
                .ok_or_else(|| format!("key `{key}` is missing"))
        };
        let flag = |key: &str, value: &str| match value {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(format!("key `{key}`: `{value}` is not 0 or 1")),
        };
        let seed =
            crate::numbers::parse_u64(take("seed")?).map_err(|e| format!("key `seed`: {e}"))?;
        let profile = take("profile")?
            .parse::<Profile>()
            .map_err(|e| format!("key `profile`: {e}"))?;
        let raw = flag("raw", take("raw")?)?;
        let memory = flag("memory", take("memory")?)?;
        let flag_count = crate::numbers::flag_count(take("flag_count")?)
            .map_err(|e| format!("key `flag_count`: {e}"))?;
        let live_text = take("live")?;
        let mut connections = Vec::new();
        if live_text != "-" {
            for item in live_text.split(',') {
                let parsed = item.split_once(':').and_then(|(id, count)| {
                    Some((
                        crate::numbers::connection_id(id).ok()?,
                        crate::numbers::flag_count(count).ok()?,
                    ))
                });
                connections.push(parsed.ok_or_else(|| {
                    format!("key `live`: `{item}` is not ID:FLAG_COUNT (0x2001:16)")
                })?);
            }
        }
        if let Some(key) = fields.keys().next() {
            return Err(format!("unknown key `{key}`"));
        }
        Ok(Self {
            generator: Generator {
                seed,
                raw,
                memory,
                live: connections,
                flag_count,
            },
            profile,
        })
    }
}

/// An open log: every entry is on disk before its request is sent.
struct Log {
    file: File,
}

impl Log {
    /// Creates the log file, refusing one that exists; the header is written later
    /// ([`Self::start`]), once the run's parameters are known.
    fn create(path: &Path) -> Result<Self, AppError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| UsageError::LogNotCreated {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self { file })
    }

    /// Writes the header, before any entry.
    fn start(&mut self, path: &Path, header: &LogHeader) -> Result<(), AppError> {
        self.write(&format!("{}\n", header.line()))
            .map_err(|source| {
                AppError::from(EnvironmentError::LogNotWritten {
                    what: format!("--log {}", path.display()),
                    source,
                })
            })
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), AppError> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&entry.log_line());
            text.push('\n');
        }
        self.write(&text).map_err(|source| {
            AppError::from(EnvironmentError::LogNotWritten {
                what: "cannot write the fuzz log".to_owned(),
                source,
            })
        })
    }
}

/// The longest line a log may hold: an entry is under 100 bytes; the header holds about 12
/// bytes per live connection, and a quick scan finds at most 65 536 of them.
const MAX_LOG_LINE: usize = 1 << 20;

/// The lines of a log file, one at a time, so memory stays bounded by [`MAX_LOG_LINE`]
/// whatever the size of the log.
struct LogLines {
    name: String,
    reader: BufReader<File>,
    /// The number of the last line read (1 is the header).
    line: usize,
    /// Bytes after the last newline, known once every line was read.
    cut_off: usize,
}

impl LogLines {
    fn error(&self, message: &str) -> AppError {
        InputFileError::FuzzLog {
            name: self.name.clone(),
            line: Some(self.line),
            message: message.to_owned(),
        }
        .into()
    }

    /// The next complete line without its line ending; `None` at the end, with the bytes of a
    /// last line that has no newline counted in [`Self::cut_off`].
    fn next_line(&mut self) -> Result<Option<String>, AppError> {
        let mut bytes = Vec::new();
        (&mut self.reader)
            .take(MAX_LOG_LINE as u64 + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| InputFileError::FuzzLog {
                name: self.name.clone(),
                line: None,
                message: e.to_string(),
            })?;
        if bytes.last() != Some(&b'\n') {
            if bytes.len() > MAX_LOG_LINE {
                self.line += 1;
                return Err(self.error(&format!(
                    "longer than {MAX_LOG_LINE} bytes: not a line hvsignal fuzz writes"
                )));
            }
            self.cut_off = bytes.len();
            return Ok(None);
        }
        self.line += 1;
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| self.error(&format!("not UTF-8 text ({e})")))
    }
}

/// A log read back: every complete line (ended by a newline) must be valid; bytes after the
/// last newline are an entry cut off by a crash and are left out.
pub struct LogReader {
    lines: LogLines,
    /// The header, read when the log was opened.
    pub header: LogHeader,
    last_index: Option<u64>,
}

impl LogReader {
    /// Opens a log and reads its header.
    ///
    /// # Errors
    /// The path is not a regular file or cannot be read, or the log has no valid complete
    /// header line (exit 2, naming the file and line).
    pub fn open(path: &Path) -> Result<Self, AppError> {
        let name = path.display().to_string();
        let file = hvmodel::input::open_input_file(path).map_err(|e| InputFileError::FuzzLog {
            name: name.clone(),
            line: None,
            message: e.to_string(),
        })?;
        let mut lines = LogLines {
            name,
            reader: BufReader::new(file),
            line: 0,
            cut_off: 0,
        };
        let Some(line) = lines.next_line()? else {
            return Err(InputFileError::FuzzLog {
                name: lines.name,
                line: None,
                message: format!(
                    "it has no complete header line (`{LOG_MAGIC} {LOG_VERSION} seed=…`): not a \
                     fuzz log, or cut off before its first entry"
                ),
            }
            .into());
        };
        let header = LogHeader::parse(&line).map_err(|e| lines.error(&e))?;
        Ok(Self {
            lines,
            header,
            last_index: None,
        })
    }

    /// Bytes after the last newline: known once every entry was read.
    #[must_use]
    pub const fn cut_off(&self) -> usize {
        self.lines.cut_off
    }

    /// The next complete entry, checked as the run would issue it; `None` after the last.
    ///
    /// # Errors
    /// A line that is not a valid entry, or whose index does not follow the one before.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, AppError> {
        let Some(line) = self.lines.next_line()? else {
            return Ok(None);
        };
        let entry = Entry::parse(&line).map_err(|e| self.lines.error(&e))?;
        if let Some(last) = self.last_index.filter(|last| *last >= entry.index) {
            return Err(self.lines.error(&format!(
                "entry {} does not follow entry {last}: indexes increase",
                entry.index
            )));
        }
        entry
            .planned(self.header.generator.raw)
            .map_err(|e| self.lines.error(&e.to_string()))?;
        self.last_index = Some(entry.index);
        Ok(Some(entry))
    }
}

/// The entries of a log chosen by `--from` and `--iterations`, read as they are issued.
/// Reading stops at the first bad line; the error is kept for after the run.
struct ChosenEntries<'a> {
    log: &'a mut LogReader,
    from: u64,
    left: u64,
    error: Option<AppError>,
}

impl Iterator for ChosenEntries<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while self.left > 0 && self.error.is_none() {
            match self.log.next_entry() {
                Ok(Some(entry)) if entry.index >= self.from => {
                    self.left -= 1;
                    return Some(entry);
                }
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => self.error = Some(e),
            }
        }
        None
    }
}

/// What a first pass over a log found.
struct LogCheck {
    /// Entries `--from` and `--iterations` choose.
    chosen: u64,
    /// The index of the last complete entry.
    last: Option<u64>,
    /// Bytes after the last newline.
    cut_off: usize,
}

/// Reads every entry of the log at `path` once, issuing nothing: a bad line is refused before
/// any call is made, and the number of entries `--from`/`--iterations` choose is known for the
/// progress bar.
fn check_log(path: &Path, from: u64, most: u64) -> Result<LogCheck, AppError> {
    let mut log = LogReader::open(path)?;
    let mut check = LogCheck {
        chosen: 0,
        last: None,
        cut_off: 0,
    };
    while let Some(entry) = log.next_entry()? {
        if entry.index >= from && check.chosen < most {
            check.chosen += 1;
        }
        check.last = Some(entry.index);
    }
    check.cut_off = log.cut_off();
    Ok(check)
}

/// The `fuzz --json` document body.
#[derive(Debug, Serialize)]
struct FuzzDocument {
    seed: String,
    profile: &'static str,
    raw: bool,
    world: Option<String>,
    replay: Option<ReplayJson>,
    live_connections: Vec<LiveJson>,
    scan: Option<ScanJson>,
    log: Option<String>,
    summary: SummaryJson,
    findings: Vec<FindingJson>,
    /// Why the run stopped before its end (a failed request), null when it ran to its end.
    stopped_by: Option<StoppedJson>,
}

#[derive(Debug, Serialize)]
struct StoppedJson {
    kind: &'static str,
    message: String,
    exit_code: u8,
    #[serde(skip)]
    exit: Exit,
}

#[derive(Debug, Serialize)]
struct ReplayJson {
    file: String,
    from: u64,
    entries: u64,
    cut_off_bytes: usize,
}

#[derive(Debug, Serialize)]
struct LiveJson {
    connection_id: u32,
    flag_count: u16,
}

#[derive(Debug, Serialize)]
struct ScanJson {
    from: u32,
    to: u32,
    calls: u64,
}

#[derive(Debug, Serialize)]
struct SummaryJson {
    calls: u64,
    requests: u64,
    statuses: Vec<StatusCountJson>,
    findings: u64,
    interrupted: bool,
    elapsed_seconds: f64,
    calls_per_second: f64,
}

#[derive(Debug, Serialize)]
struct StatusCountJson {
    #[serde(flatten)]
    status: StatusJson,
    calls: u64,
}

#[derive(Debug, Serialize)]
struct FindingJson {
    index: u64,
    expected: StatusJson,
    observed: StatusJson,
    #[serde(flatten)]
    call: CallJson,
    signal_command: String,
    replay_command: Option<String>,
}

impl FuzzDocument {
    /// The document of a finished run (no scan, log or replay yet).
    fn new(
        session: &Session,
        generator: &Generator,
        profile: Profile,
        tally: Tally,
        started: Instant,
    ) -> Self {
        Self {
            seed: format!("{:#018x}", generator.seed),
            profile: profile.name(),
            raw: generator.raw,
            world: session.world.as_ref().map(|w| w.source.clone()),
            replay: None,
            live_connections: generator
                .live
                .iter()
                .map(|&(connection_id, flag_count)| LiveJson {
                    connection_id,
                    flag_count,
                })
                .collect(),
            scan: None,
            log: None,
            summary: summary(&tally, started.elapsed()),
            findings: tally.listed,
            stopped_by: tally.stopped_by.map(|e| StoppedJson {
                kind: e.kind(),
                message: e.to_string(),
                exit_code: e.exit().code(),
                exit: e.exit(),
            }),
        }
    }
}

/// What a run did.
#[derive(Default)]
struct Tally {
    calls: u64,
    requests: u64,
    statuses: BTreeMap<u16, u64>,
    findings: u64,
    listed: Vec<FindingJson>,
    interrupted: bool,
    /// What stopped the run part way (the device failed a request): the calls before it are
    /// still summarised, and the run exits with this error's status.
    stopped_by: Option<AppError>,
}

/// How a run ends.
struct Limit {
    calls: Option<u64>,
    until: Option<Instant>,
}

/// What to say of each finding.
struct Replay<'a> {
    raw: bool,
    /// The global options that reach the same backend and world: `--backend B [--world W]`.
    target: Vec<String>,
    log: Option<&'a str>,
    profile: Profile,
}

/// `--backend B [--world W]` of this run, so a printed command reaches the same place.
fn target_options(ctx: &Context) -> Vec<String> {
    let mut words = vec!["--backend".to_owned(), ctx.backend.name().to_owned()];
    if let Some(world) = &ctx.world {
        words.extend(["--world".to_owned(), quote(&world.display().to_string())]);
    }
    words
}

/// Runs the command.
///
/// # Errors
/// Bad arguments or log (exit 2), a missing environment or refused raw mode (exit 3).
pub fn run(ctx: &Context, args: &FuzzArgs) -> CommandResult {
    install_interrupt_handler();
    if let Some(path) = &args.replay {
        return replay(ctx, args, path);
    }
    if !args.raw {
        for &id in &args.connections {
            hvcall::check_connection_id(id).map_err(|source| UsageError::ConnectionIdTooLarge {
                option: "--connection",
                source,
                remedy: ". Add --raw to fuzz with it (raw mode)",
            })?;
        }
    }
    let mut session = ctx.open(None)?;
    let query = session.client.query()?;
    if args.raw && !query.raw_allowed() {
        return Err(EnvironmentError::RawRefused(ctx.backend).into());
    }
    // The log is created before the quick scan signals anything: an existing file refuses the
    // run while nothing has been issued yet.
    let mut log = args.log.as_deref().map(Log::create).transpose()?;
    let flag_count = args.flag_count.unwrap_or(DEFAULT_FLAG_COUNT);
    let (live, scan) = match live_set(ctx, args, &mut session) {
        Ok(found) => found,
        Err(error) => {
            if let Some(path) = &args.log {
                // Still empty: nothing was logged or issued from it.
                let _ = std::fs::remove_file(path);
            }
            return Err(error);
        }
    };
    let profile = args.profile.unwrap_or_else(|| {
        session
            .world
            .as_ref()
            .map_or(Profile::Tlfs, |w| w.world.profile())
    });
    let generator = Generator {
        seed: args.seed.unwrap_or_else(clock_seed),
        raw: args.raw,
        memory: query.memory_convention_available(),
        live,
        flag_count,
    };
    let mut oracle = oracle(&session, &generator, profile)?;
    let header = LogHeader {
        generator: generator.clone(),
        profile,
    };
    if let (Some(log), Some(path)) = (log.as_mut(), args.log.as_deref()) {
        log.start(path, &header)?;
    }
    let limit = Limit {
        calls: match args.duration {
            Some(_) => None,
            None => Some(args.iterations.unwrap_or(DEFAULT_ITERATIONS)),
        },
        until: args.duration.map(|d| Instant::now() + d),
    };
    let log_name = args.log.as_ref().map(|p| p.display().to_string());
    let how = Replay {
        raw: generator.raw,
        target: target_options(ctx),
        log: log_name.as_deref(),
        profile,
    };
    let bar = bar(ctx, &limit, args.duration);
    let mut entries = (0u64..).map(|k| generator.entry(k));
    let started = Instant::now();
    let tally = drive(
        &mut session.client,
        &mut oracle,
        &mut entries,
        &limit,
        log.as_mut(),
        args.max_rate,
        &how,
        &bar,
    )?;
    bar.finish_and_clear();
    let mut document = FuzzDocument::new(&session, &generator, profile, tally, started);
    document.scan = scan;
    document.log = log_name;
    finish(ctx, &session, &document)
}

/// The live connections (given, or found by the quick scan) with their ports' flag counts.
fn live_set(
    ctx: &Context,
    args: &FuzzArgs,
    session: &mut Session,
) -> Result<(Vec<LiveConnection>, Option<ScanJson>), AppError> {
    if ctx.backend == BackendKind::Model && args.flag_count.is_some() {
        let _ = writeln!(
            io::stderr(),
            "hvsignal: warning: --flag-count is ignored on the model backend: each port's flag \
             count comes from the world"
        );
    }
    let flag_count = args.flag_count.unwrap_or(DEFAULT_FLAG_COUNT);
    let (live_ids, scan) = if args.connections.is_empty() {
        let _ = writeln!(
            io::stderr(),
            "hvsignal: warning: fuzz signals every live connection it hits, and its quick scan \
             of ids 0x0-{SCAN_TO:#x} signals each one it finds"
        );
        let live = quick_scan(&mut session.client)?;
        (
            live,
            Some(ScanJson {
                from: 0,
                to: SCAN_TO,
                calls: u64::from(SCAN_TO) + 1,
            }),
        )
    } else {
        let mut ids = args.connections.clone();
        ids.sort_unstable();
        ids.dedup();
        (ids, None)
    };
    let live = live_ids
        .iter()
        .map(|&id| {
            let count = session.world.as_ref().map_or(flag_count, |w| {
                w.world
                    .connection(id & CONNECTION_ID_MASK)
                    .and_then(|c| w.world.port(c.port))
                    .map_or(DEFAULT_FLAG_COUNT, |p| p.flag_count)
            });
            (id, count)
        })
        .collect();
    Ok((live, scan))
}

fn replay(ctx: &Context, args: &FuzzArgs, path: &Path) -> CommandResult {
    let from = args.from.unwrap_or(0);
    let most = args.iterations.unwrap_or(u64::MAX);
    let check = check_log(path, from, most)?;
    if check.chosen == 0 {
        return Err(UsageError::BadValue(match check.last {
            Some(last) => format!(
                "--from {from}: fuzz log {} has no entry at or after it (its last entry is \
                 {last})",
                path.display()
            ),
            None => format!(
                "fuzz log {}: it has no complete entry to replay",
                path.display()
            ),
        })
        .into());
    }
    let mut log = LogReader::open(path)?;
    let mut session = ctx.open(None)?;
    let query = session.client.query()?;
    let generator = log.header.generator.clone();
    if generator.raw && !query.raw_allowed() {
        return Err(EnvironmentError::RawRefused(ctx.backend).into());
    }
    let profile = args.profile.unwrap_or(log.header.profile);
    let mut oracle = oracle(&session, &generator, profile)?;
    if check.cut_off > 0 {
        let _ = writeln!(
            io::stderr(),
            "hvsignal: warning: fuzz log {}: its last {} bytes are an entry cut off mid-write \
             (a crash while it was written); replaying up to the last complete entry",
            path.display(),
            check.cut_off
        );
    }
    let log_name = path.display().to_string();
    let how = Replay {
        raw: generator.raw,
        target: target_options(ctx),
        log: Some(&log_name),
        profile,
    };
    let limit = Limit {
        calls: None,
        until: None,
    };
    let bar = progress::bar_when(!ctx.json, check.chosen, "calls");
    let started = Instant::now();
    let mut entries = ChosenEntries {
        log: &mut log,
        from,
        left: check.chosen,
        error: None,
    };
    let tally = drive(
        &mut session.client,
        &mut oracle,
        &mut entries,
        &limit,
        None,
        args.max_rate,
        &how,
        &bar,
    );
    bar.finish_and_clear();
    // The log changed under the replay (its first pass read it whole): say so, not a summary.
    if let Some(error) = entries.error {
        return Err(error);
    }
    let tally = tally?;
    let mut document = FuzzDocument::new(&session, &generator, profile, tally, started);
    document.replay = Some(ReplayJson {
        file: log_name.clone(),
        from,
        entries: check.chosen,
        cut_off_bytes: check.cut_off,
    });
    finish(ctx, &session, &document)
}

/// The oracle: the model of `profile`, over the backend's world (model) or over the live
/// connections (device).
fn oracle(session: &Session, generator: &Generator, profile: Profile) -> Result<Client, AppError> {
    let world = if let Some(loaded) = &session.world {
        loaded.world.clone()
    } else {
        let ids: Vec<u32> = generator
            .live
            .iter()
            .map(|(id, _)| *id & CONNECTION_ID_MASK)
            .collect();
        conformance::device_world(&ids, generator.flag_count, generator.raw)?
    };
    Ok(conformance::model_client(world, profile))
}

/// Signals ids 0 to [`SCAN_TO`] once each and returns those that answered SUCCESS.
fn quick_scan(client: &mut Client) -> Result<Vec<u32>, AppError> {
    let operations: Vec<Operation> = (0..=SCAN_TO).map(|id| Operation::new(id, 0, 1)).collect();
    let results = client.run(
        CallingConvention::Fast,
        false,
        &operations,
        None,
        &mut |_| {},
    )?;
    Ok(results
        .iter()
        .filter(|o| o.first_hv_status() == HvStatus::SUCCESS)
        .map(|o| o.connection_id)
        .collect())
}

fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    splitmix64::mix(
        u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id()),
    )
}

/// The first Ctrl-C stops the run after the request in flight, with the summary; a second one
/// ends the program at once (exit 130, as a shell reports SIGINT), for a request that hangs.
fn install_interrupt_handler() {
    // A second installation (never in one run of the program) fails harmlessly.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            let _ = writeln!(io::stderr(), "hvsignal: interrupted twice: stopping now");
            std::process::exit(130);
        }
    });
}

fn bar(ctx: &Context, limit: &Limit, duration: Option<Duration>) -> indicatif::ProgressBar {
    match (limit.calls, duration) {
        (Some(calls), _) => progress::bar_when(!ctx.json, calls, "calls"),
        (None, Some(d)) => progress::bar_when(!ctx.json, d.as_secs().max(1), "s"),
        (None, None) => progress::bar_when(false, 0, "calls"),
    }
}

/// Issues entries in requests of one convention until the limit, the entries' end or Ctrl-C;
/// each request's entries are logged before it is sent.
#[allow(clippy::too_many_arguments, reason = "one run's parts, used once")]
fn drive(
    client: &mut Client,
    oracle: &mut Client,
    entries: &mut dyn Iterator<Item = Entry>,
    limit: &Limit,
    mut log: Option<&mut Log>,
    max_rate: Option<u32>,
    how: &Replay<'_>,
    bar: &indicatif::ProgressBar,
) -> Result<Tally, AppError> {
    let per_request = max_rate.map_or(MAX_OPERATIONS, |rate| {
        usize::try_from(rate / 10)
            .unwrap_or(MAX_OPERATIONS)
            .clamp(1, MAX_OPERATIONS)
    });
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut held: Option<Entry> = None;
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            tally.interrupted = true;
            break;
        }
        if limit.until.is_some_and(|until| Instant::now() >= until) {
            break;
        }
        let room = limit
            .calls
            .map_or(per_request, |calls| {
                usize::try_from(calls.saturating_sub(tally.calls)).unwrap_or(per_request)
            })
            .min(per_request);
        let mut batch: Vec<Entry> = Vec::new();
        while batch.len() < room {
            let Some(next) = held.take().or_else(|| entries.next()) else {
                break;
            };
            if batch
                .first()
                .is_some_and(|first| first.memory != next.memory)
            {
                held = Some(next);
                break;
            }
            batch.push(next);
        }
        let Some(first) = batch.first() else { break };
        let convention = first.convention();
        let calls = batch
            .iter()
            .map(|e| e.planned(how.raw))
            .collect::<Result<Vec<_>, _>>()?;
        let mut request = SignalRequest::new(convention, how.raw);
        for call in &calls {
            request.push(*call).map_err(DriverError::Build)?;
        }
        if let Some(log) = log.as_deref_mut() {
            log.append(&batch)?;
        }
        if let Some(rate) = max_rate {
            #[allow(clippy::cast_precision_loss, reason = "a pace, not a count")]
            let due = Duration::from_secs_f64(tally.calls as f64 / f64::from(rate));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let answers = client
            .results(&request)
            .and_then(|observed| {
                check_answers(&calls, &observed)?;
                Ok((observed, oracle.results(&request)?))
            })
            .map_err(AppError::from);
        let (observed, expected) = match answers {
            Ok(answers) => answers,
            Err(error) => {
                tally.stopped_by = Some(error);
                break;
            }
        };
        tally.requests += 1;
        for ((entry, call), (seen, wanted)) in
            batch.iter().zip(&calls).zip(observed.iter().zip(&expected))
        {
            let (seen, wanted) = (seen.first_hv_status(), wanted.first_hv_status());
            tally.calls += 1;
            *tally.statuses.entry(seen.code()).or_insert(0) += 1;
            if seen != wanted {
                tally.findings += 1;
                if tally.listed.len() < LISTED_FINDINGS {
                    tally.listed.push(finding(entry, call, wanted, seen, how));
                }
            }
        }
        match limit.until {
            Some(_) => bar.set_position(started.elapsed().as_secs()),
            None => bar.set_position(tally.calls),
        }
    }
    Ok(tally)
}

/// The driver answered each call of the request: one call each, for the connection asked.
fn check_answers(calls: &[Operation], answers: &[OperationResult]) -> Result<(), DriverError> {
    for (index, (call, answer)) in calls.iter().zip(answers).enumerate() {
        let asked = call.connection_id;
        if answer.connection_id != asked || answer.calls != 1 {
            return Err(DriverError::WrongAnswer(format!(
                "the driver answered operation {index} with {} call(s) of connection {:#x}, \
                 for one call of {asked:#x}",
                answer.calls, answer.connection_id
            )));
        }
    }
    Ok(())
}

fn finding(
    entry: &Entry,
    call: &Operation,
    expected: HvStatus,
    observed: HvStatus,
    how: &Replay<'_>,
) -> FindingJson {
    let target = how.target.join(" ");
    FindingJson {
        index: entry.index,
        expected: expected.into(),
        observed: observed.into(),
        call: IssuedCall::planned(call, entry.convention()).json(),
        signal_command: entry.signal_command(how.raw, &how.target),
        replay_command: how.log.map(|log| {
            format!(
                "hvsignal {target} fuzz --replay {} --from {} --iterations 1 --profile {}",
                quote(log),
                entry.index,
                how.profile.name()
            )
        }),
    }
}

#[allow(clippy::cast_precision_loss, reason = "a rate")]
fn summary(tally: &Tally, elapsed: Duration) -> SummaryJson {
    let seconds = elapsed.as_secs_f64();
    SummaryJson {
        calls: tally.calls,
        requests: tally.requests,
        statuses: tally
            .statuses
            .iter()
            .map(|(&code, &calls)| StatusCountJson {
                status: HvStatus::from_code(code).into(),
                calls,
            })
            .collect(),
        findings: tally.findings,
        interrupted: tally.interrupted,
        elapsed_seconds: seconds,
        calls_per_second: if seconds > 0.0 {
            tally.calls as f64 / seconds
        } else {
            0.0
        },
    }
}

fn finish(ctx: &Context, session: &Session, document: &FuzzDocument) -> CommandResult {
    let exit = match &document.stopped_by {
        Some(stopped) => {
            let _ = writeln!(
                io::stderr(),
                "hvsignal: error: the run stopped after {} calls: {}",
                document.summary.calls,
                stopped.message
            );
            stopped.exit
        }
        None => Exit::from_all_success(document.summary.findings == 0),
    };
    ctx.report("fuzz", ctx.banner(session), document, |text, style| {
        render(text, style, document);
    })?;
    Ok(exit)
}

fn render(text: &mut Text, style: Style, d: &FuzzDocument) {
    text.line(format!(
        "{} seed {}, profile {}{}",
        style.bold("Fuzzing HvCallSignalEvent:"),
        d.seed,
        d.profile,
        if d.raw { ", raw mode" } else { "" }
    ));
    let connections = if d.live_connections.is_empty() {
        "none".to_owned()
    } else {
        d.live_connections
            .iter()
            .map(|l| format!("{:#x} ({} flags)", l.connection_id, l.flag_count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut fields = report::Fields::new();
    match (&d.replay, &d.scan) {
        (Some(r), _) => {
            fields.add(
                "replay",
                format!("{} from entry {}, {} entries", r.file, r.from, r.entries),
            );
        }
        (None, Some(s)) => fields.add(
            "live connections",
            format!("{connections} (quick scan of {:#x}-{:#x})", s.from, s.to),
        ),
        (None, None) => fields.add("live connections", connections),
    }
    if let Some(log) = &d.log {
        fields.add("log", log.as_str());
    }
    text.push(fields.render(2));
    text.blank();
    let mut table = Table::new(&[("status", Align::Left), ("calls", Align::Right)]);
    for s in &d.summary.statuses {
        table.row(vec![
            format!(
                "{} ({})",
                report::short_status_name(s.status),
                report::hex(u64::from(s.status.code), 4)
            ),
            s.calls.to_string(),
        ]);
    }
    text.push(table.render(style, 2));
    text.blank();
    render_findings(text, style, d);
    let s = &d.summary;
    let line = format!(
        "Summary: {} calls in {} requests, {} finding{}{}",
        s.calls,
        s.requests,
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        if s.interrupted {
            " (interrupted by Ctrl-C)"
        } else {
            ""
        }
    );
    text.line(if s.findings == 0 {
        style.good(&line)
    } else {
        style.bad(&line)
    });
    text.line(format!(
        "  {:.0} calls/s ({:.3} s)",
        s.calls_per_second, s.elapsed_seconds
    ));
}

fn render_findings(text: &mut Text, style: Style, d: &FuzzDocument) {
    if d.findings.is_empty() {
        return;
    }
    text.line(style.bold(&format!(
        "Findings (statuses the {} model does not answer)",
        d.profile
    )));
    for f in d.findings.iter().take(SHOWN_FINDINGS) {
        text.line(format!(
            "  #{} {} connection {:#x} flag {}: expected {}, observed {}",
            f.index,
            f.call.convention,
            f.call.connection_id,
            f.call.flag,
            report::short_status_name(f.expected),
            style.bad(&report::short_status_name(f.observed))
        ));
        text.line(format!(
            "      RCX {}  RDX {}  R8 {}",
            f.call.registers.rcx,
            f.call
                .registers
                .rdx
                .as_deref()
                .unwrap_or(&format!("input GPA + {:#x}", f.call.input_offset)),
            f.call.registers.r8
        ));
        text.line(format!("      {}", f.signal_command));
        if let Some(replay) = &f.replay_command {
            text.line(format!("      {replay}"));
        }
    }
    let more = d.summary.findings.saturating_sub(SHOWN_FINDINGS as u64);
    if more > 0 {
        text.line(format!(
            "  … and {more} more (--json lists {LISTED_FINDINGS})"
        ));
    }
    text.blank();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::model::ModelTransport;
    use crate::transport::{Transport, TransportError};

    /// The model, failing every signal request after the first `good` ones with
    /// STATUS_INSUFFICIENT_RESOURCES, as a driver in trouble would.
    struct FailsAfter {
        model: ModelTransport,
        good: usize,
    }

    impl Transport for FailsAfter {
        fn device_control(
            &mut self,
            ioctl_code: u32,
            input: &[u8],
            output_capacity: usize,
        ) -> Result<Vec<u8>, TransportError> {
            if ioctl_code == hvsignal_proto::IOCTL_HVSIGNAL_SIGNAL {
                if self.good == 0 {
                    return Err(TransportError::NtStatus(
                        hvsignal_proto::STATUS_INSUFFICIENT_RESOURCES,
                    ));
                }
                self.good -= 1;
            }
            self.model
                .device_control(ioctl_code, input, output_capacity)
        }
    }

    /// A request the device fails part way stops the run and keeps the calls before it: their
    /// counts and the error are in the summary, not lost with it.
    #[test]
    fn a_failed_request_stops_the_run_and_keeps_its_tally() {
        let world = hvmodel::World::builtin();
        let mut client = Client::new(
            Box::new(FailsAfter {
                model: ModelTransport::new(world.clone()),
                good: 2,
            }),
            BackendKind::Model,
        );
        let mut oracle = conformance::model_client(world, Profile::Tlfs);
        let generator = Generator {
            memory: false,
            ..generator(false)
        };
        let how = Replay {
            raw: false,
            target: Vec::new(),
            log: None,
            profile: Profile::Tlfs,
        };
        let limit = Limit {
            calls: Some(1000),
            until: None,
        };
        let tally = drive(
            &mut client,
            &mut oracle,
            &mut (0u64..).map(|k| generator.entry(k)),
            &limit,
            None,
            None,
            &how,
            &indicatif::ProgressBar::hidden(),
        )
        .unwrap();
        assert_eq!((tally.requests, tally.calls), (2, 128));
        assert_eq!(tally.statuses.values().sum::<u64>(), 128);
        let stopped = tally.stopped_by.expect("the failure is kept");
        assert_eq!(stopped.exit(), Exit::Environment);
        assert!(
            stopped.to_string().contains("0xc000009a"),
            "names the status: {stopped}"
        );
    }

    /// SplitMix64's published first outputs for seed 0 (the reference implementation's).
    #[test]
    fn the_generator_is_splitmix64() {
        let mut d = Draws::new(0, 0);
        assert_eq!(d.draw(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(d.draw(), 0x6E78_9E6A_A1B9_65F4);
        let mut later = Draws::new(0, 1);
        let mut skipped = Draws::new(0, 0);
        for _ in 0..DRAWS_PER_ENTRY {
            skipped.draw();
        }
        assert_eq!(later.draw(), skipped.draw());
    }

    fn generator(raw: bool) -> Generator {
        Generator {
            seed: 42,
            raw,
            memory: true,
            live: vec![(0x2001, 16), (0x2002, 1)],
            flag_count: 16,
        }
    }

    /// Every generated entry is a call `signal` would issue (no `InputBeyondPage` and no other
    /// refusal), its log line reads back as itself, and every boundary class occurs.
    #[test]
    fn every_entry_is_issuable_and_round_trips_through_the_log() {
        for raw in [false, true] {
            let g = generator(raw);
            let mut seen_high = false;
            let mut seen_misaligned = false;
            let mut seen_header_memory = false;
            let mut seen_reserved = false;
            for k in 0..20_000 {
                let e = g.entry(k);
                let call = e.planned(raw).unwrap_or_else(|err| panic!("{e:?}: {err}"));
                assert_eq!(Entry::parse(&e.log_line()), Ok(e));
                let control = call.control(e.convention());
                let header = control.variable_header_size();
                if e.memory {
                    assert!(usize::from(e.input_offset) + 8 + usize::from(header) * 8 <= 4096);
                }
                seen_high |= e.connection_id > 0x00FF_FFFF;
                seen_misaligned |= e.memory && !e.input_offset.is_multiple_of(8);
                seen_header_memory |= e.memory && header > 0;
                seen_reserved |= control.reserved_bits() != 0;
            }
            assert_eq!(
                (
                    seen_high,
                    seen_misaligned,
                    seen_header_memory,
                    seen_reserved
                ),
                (raw, raw, raw, raw)
            );
        }
    }

    #[test]
    fn flags_hit_the_port_s_count_and_just_above() {
        let g = generator(false);
        let flags: Vec<(u32, u16)> = (0..2000)
            .map(|k| g.entry(k))
            .map(|e| (e.connection_id, e.flag))
            .collect();
        for wanted in [
            (0x2002, 0),
            (0x2002, 1),
            (0x2002, 2),
            (0x2001, 15),
            (0x2001, 16),
        ] {
            assert!(flags.contains(&wanted), "{wanted:?}");
        }
        assert!(flags.iter().any(|(_, f)| *f == 0xFFFF));
        for end in [0, 1, 0x00FF_FFFE, 0x00FF_FFFF, 0x2000, 0x2003] {
            assert!(flags.iter().any(|(id, _)| *id == end), "{end:#x}");
        }
    }

    #[test]
    fn the_header_round_trips_and_bad_headers_say_why() {
        let header = LogHeader {
            generator: generator(true),
            profile: Profile::Kvm,
        };
        assert_eq!(
            header.line(),
            "hvsignal-fuzz-log 1 seed=0x000000000000002a profile=kvm raw=1 memory=1 \
             flag_count=16 live=0x2001:16,0x2002:1"
        );
        assert_eq!(LogHeader::parse(&header.line()), Ok(header));
        assert_eq!(
            LogHeader::parse("hvsignal-fuzz-log 2 seed=1"),
            Err("format version `2`: this hvsignal reads version 1".to_owned())
        );
        assert_eq!(
            LogHeader::parse(
                "hvsignal-fuzz-log 1 seed=1 profile=tlfs raw=0 memory=1 flag_count=16"
            ),
            Err("key `live` is missing".to_owned())
        );
    }
}

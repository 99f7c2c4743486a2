//! `hvsignal scan`: probe a range of connection ids and group them by the status they answered.
//! Every live connection found is really signalled.
//!
//! The scan streams: ids are probed a chunk at a time, `--json` writes each chunk's `results`
//! as it arrives, and what the summary needs is kept as [`Runs`], whose size grows with the
//! number of runs of equal statuses, not with the number of ids.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};

use hvcall::HvStatus;
use hvsignal_proto::{
    CallingConvention, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, Operation, SignalRequest,
};
use indicatif::ProgressBar;
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::cli::ScanArgs;
use crate::client::{Client, DriverError};
use crate::context::Context;
use crate::exit::{AppError, CommandResult, Exit, UsageError};
use crate::progress;
use crate::report::{Align, StatusJson, Style, Table};

/// Ranges larger than this need `--yes`.
pub const CONFIRM_ABOVE: u64 = 4096;

/// Ids probed at a time: four requests. Their statuses are all the scan holds of them until
/// they are written (and recorded in [`Runs`]).
const CHUNK: u32 = 256;
const _: () = assert!((CHUNK as usize).is_multiple_of(MAX_OPERATIONS));

// Every id is one operation of one call, so a request carries MAX_OPERATIONS ids.
const _: () = assert!(MAX_CALLS_PER_REQUEST as usize >= MAX_OPERATIONS);

/// The requests a scan of `ids` ids takes: `MAX_OPERATIONS` ids per request (known before the
/// scan, so that `--json` can write it ahead of the streamed results).
fn requests_for(ids: u64) -> u64 {
    ids.div_ceil(MAX_OPERATIONS as u64)
}

/// The status of every id scanned so far, in id order, as runs: stretches of consecutive ids
/// that answered the same status.
///
/// Memory grows with the number of runs, not of ids. A closed run is two LEB128 numbers in
/// `log`: the index of its status in `statuses`, then its length − 1. The length costs at most
/// as many bytes as the run has ids (one byte up to 128 ids), the index one byte while fewer
/// than 128 distinct statuses have been seen (at most three). So a scan of N ids keeps at most
/// 2·N bytes of runs with fewer than 128 distinct statuses, 4·N bytes whatever the statuses;
/// the worst case is statuses alternating at every id: 32 MiB for the 2^24 ids of the full
/// range. An ordinary world keeps a few bytes: each stretch of ids that answers differently
/// from its neighbours adds at most two runs.
#[derive(Debug)]
struct Runs {
    /// Each distinct status, in order of first appearance, with the number of its ids.
    statuses: Vec<(HvStatus, u64)>,
    /// The index in `statuses` of each status code seen.
    index: HashMap<u16, usize>,
    /// The closed runs.
    log: Vec<u8>,
    /// The open run: its status index and status, and its length.
    open: Option<(usize, HvStatus, u32)>,
    /// The first id.
    first: u32,
}

impl Runs {
    fn new(first: u32) -> Self {
        Self {
            statuses: Vec::new(),
            index: HashMap::new(),
            log: Vec::new(),
            open: None,
            first,
        }
    }

    /// Records the status of the next id.
    fn push(&mut self, status: HvStatus) {
        if let Some((_, open, len)) = &mut self.open
            && *open == status
        {
            *len += 1;
            return;
        }
        self.close();
        let next = self.statuses.len();
        let index = *self.index.entry(status.code()).or_insert(next);
        if index == next {
            self.statuses.push((status, 0));
        }
        self.open = Some((index, status, 1));
    }

    /// Closes the open run: after the last id, before reading.
    fn close(&mut self) {
        if let Some((index, _, len)) = self.open.take() {
            leb128(&mut self.log, index as u64);
            leb128(&mut self.log, u64::from(len - 1));
            if let Some((_, count)) = self.statuses.get_mut(index) {
                *count += u64::from(len);
            }
        }
    }

    /// The statuses seen in status-code order, each with its index and number of ids.
    fn groups(&self) -> Vec<(usize, HvStatus, u64)> {
        let mut groups: Vec<_> = self
            .statuses
            .iter()
            .enumerate()
            .map(|(index, &(status, count))| (index, status, count))
            .collect();
        groups.sort_by_key(|&(_, status, _)| status.code());
        groups
    }

    /// The index of `status`, if any id answered it.
    fn index_of(&self, status: HvStatus) -> Option<usize> {
        self.index.get(&status.code()).copied()
    }

    /// The `[first, last]` ranges of the ids of status `index`, in id order (closed runs only).
    fn ranges(&self, index: usize) -> RangesOf<'_> {
        RangesOf {
            log: &self.log,
            at: 0,
            next_id: u64::from(self.first),
            index: index as u64,
        }
    }

    /// Ids that answered `status`, in id order.
    fn ids(&self, status: HvStatus) -> impl Iterator<Item = u32> + '_ {
        self.index_of(status)
            .into_iter()
            .flat_map(|index| self.ranges(index))
            .flat_map(|[first, last]| first..=last)
    }

    /// Bytes held for the closed runs.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.log.len()
    }
}

/// Appends `value` as unsigned LEB128.
fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Reads one unsigned LEB128 number at `*at`.
fn read_leb128(log: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *log.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// The ranges of one status, decoded from the run log.
#[derive(Debug)]
struct RangesOf<'a> {
    log: &'a [u8],
    at: usize,
    next_id: u64,
    index: u64,
}

impl Iterator for RangesOf<'_> {
    type Item = [u32; 2];

    fn next(&mut self) -> Option<[u32; 2]> {
        loop {
            let index = read_leb128(self.log, &mut self.at)?;
            let len = read_leb128(self.log, &mut self.at)? + 1;
            let first = self.next_id;
            self.next_id += len;
            if index == self.index {
                // Ids are 24-bit: both ends fit.
                return Some([
                    u32::try_from(first).ok()?,
                    u32::try_from(first + len - 1).ok()?,
                ]);
            }
        }
    }
}

/// Where the statuses come from, a chunk of consecutive ids at a time.
trait Probe {
    /// Appends the next chunk's `(id, status)` pairs to `out`, in id order; appends nothing
    /// when every id is done.
    fn next_chunk(&mut self, out: &mut Vec<(u32, HvStatus)>) -> Result<(), AppError>;

    /// Requests sent so far.
    fn requests(&self) -> u64;
}

/// The driver (or model) probing the ids of a range.
struct ClientProbe<'a> {
    client: &'a mut Client,
    flag: u16,
    /// The next id to probe; `None` when done.
    next: Option<u32>,
    last: u32,
    done: u64,
    requests: u64,
    bar: ProgressBar,
}

impl Probe for ClientProbe<'_> {
    fn next_chunk(&mut self, out: &mut Vec<(u32, HvStatus)>) -> Result<(), AppError> {
        let Some(first) = self.next else {
            return Ok(());
        };
        let last = first.saturating_add(CHUNK - 1).min(self.last);
        let mut ids = first..=last;
        while !ids.is_empty() {
            // One request: MAX_OPERATIONS ids, one call each.
            let mut request = SignalRequest::new(CallingConvention::Fast, false);
            let start = out.len();
            for id in ids.by_ref().take(MAX_OPERATIONS) {
                request
                    .push(Operation::new(id, self.flag, 1))
                    .map_err(DriverError::Build)?;
                out.push((id, HvStatus::SUCCESS)); // until the answer
            }
            let results = self.client.results(&request)?;
            self.requests += 1;
            let sent = out.get_mut(start..).unwrap_or_default();
            for ((id, status), result) in sent.iter_mut().zip(&results) {
                if result.connection_id != *id || result.calls != 1 {
                    return Err(DriverError::WrongAnswer(format!(
                        "the driver answered {} calls of connection {:#x} for one call of {id:#x}",
                        result.calls, result.connection_id
                    ))
                    .into());
                }
                *status = result.last_hv_status();
            }
            self.done += sent.len() as u64;
            self.bar.set_position(self.done);
        }
        self.next = if last == self.last {
            self.bar.finish_and_clear();
            None
        } else {
            Some(last + 1)
        };
        Ok(())
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}

/// A scan in progress: the chunk just probed and the runs of every id before it.
struct Scan<'a> {
    probe: Box<dyn Probe + 'a>,
    chunk: Vec<(u32, HvStatus)>,
    /// `chunk` holds a chunk not yet handed out.
    ready: bool,
    runs: Runs,
    /// Why the probe stopped during `--json` output.
    error: Option<AppError>,
}

impl<'a> Scan<'a> {
    fn new(first: u32, probe: Box<dyn Probe + 'a>) -> Self {
        Self {
            probe,
            chunk: Vec::with_capacity(CHUNK as usize),
            ready: false,
            runs: Runs::new(first),
            error: None,
        }
    }

    /// Probes the next chunk into `chunk` unless one is ready, and records its runs; false
    /// when every id is done.
    fn advance(&mut self) -> Result<bool, AppError> {
        if std::mem::take(&mut self.ready) {
            return Ok(true);
        }
        self.chunk.clear();
        self.probe.next_chunk(&mut self.chunk)?;
        for &(_, status) in &self.chunk {
            self.runs.push(status);
        }
        if self.chunk.is_empty() {
            self.runs.close();
            return Ok(false);
        }
        Ok(true)
    }

    /// Probes the first chunk and keeps it for `advance`: a failure of the first request
    /// then comes before any output.
    fn start(&mut self) -> Result<(), AppError> {
        self.ready = self.advance()?;
        Ok(())
    }

    /// Probes every id left.
    fn finish(&mut self) -> Result<(), AppError> {
        while self.advance()? {}
        Ok(())
    }
}

/// The `scan --json` body. `results` probes the ids as it is written; `live_connections` and
/// `summary`, written after it, read the runs.
#[derive(Serialize)]
struct ScanDocument<'s, 'a> {
    from: u32,
    to: u32,
    flag: u16,
    world: Option<String>,
    profile: Option<&'static str>,
    ids: u64,
    requests: u64,
    results: Results<'s, 'a>,
    live_connections: LiveJson<'s, 'a>,
    summary: SummaryJson<'s, 'a>,
}

#[derive(Debug, Serialize)]
struct ResultJson {
    connection_id: u32,
    status: StatusJson,
}

/// `results[]`, probed while written.
struct Results<'s, 'a>(&'s RefCell<Scan<'a>>);

impl Serialize for Results<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut scan = self.0.borrow_mut();
        let mut seq = serializer.serialize_seq(None)?;
        loop {
            match scan.advance() {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    let message = error.to_string();
                    scan.error = Some(error);
                    return Err(S::Error::custom(message));
                }
            }
            for &(connection_id, status) in &scan.chunk {
                seq.serialize_element(&ResultJson {
                    connection_id,
                    status: status.into(),
                })?;
            }
        }
        seq.end()
    }
}

/// `live_connections[]`: the ids that answered SUCCESS.
struct LiveJson<'s, 'a>(&'s RefCell<Scan<'a>>);

impl Serialize for LiveJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scan = self.0.borrow();
        serializer.collect_seq(scan.runs.ids(HvStatus::SUCCESS))
    }
}

/// `summary[]`: one group per status, in status-code order.
struct SummaryJson<'s, 'a>(&'s RefCell<Scan<'a>>);

#[derive(Serialize)]
struct GroupJson<'r> {
    status: StatusJson,
    count: u64,
    ranges: RangesJson<'r>,
}

struct RangesJson<'r>(&'r Runs, usize);

impl Serialize for RangesJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.ranges(self.1))
    }
}

impl Serialize for SummaryJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scan = self.0.borrow();
        let runs = &scan.runs;
        serializer.collect_seq(
            runs.groups()
                .into_iter()
                .map(|(index, status, count)| GroupJson {
                    status: status.into(),
                    count,
                    ranges: RangesJson(runs, index),
                }),
        )
    }
}

fn check(args: &ScanArgs) -> Result<u64, UsageError> {
    for (option, value) in [("--from", args.from), ("--to", args.to)] {
        hvcall::check_connection_id(value).map_err(|source| UsageError::ConnectionIdTooLarge {
            option,
            source,
            remedy: "",
        })?;
    }
    if args.from > args.to {
        return Err(UsageError::BadValue(format!(
            "--from {:#x} is above --to {:#x}: give the range low to high",
            args.from, args.to
        )));
    }
    let count = u64::from(args.to - args.from) + 1;
    if count > CONFIRM_ABOVE && !args.yes {
        return Err(UsageError::NotConfirmed(format!(
            "the range {:#x}..={:#x} has {count} ids, more than {CONFIRM_ABOVE}: a scan signals \
             every live connection it finds; add --yes to confirm",
            args.from, args.to
        )));
    }
    Ok(count)
}

/// Runs the command. The exit status follows grep: 0 when the scan found at least one live
/// connection, 1 when it found none (2 usage, 3 environment, as for every command).
///
/// # Errors
/// A bad range or missing `--yes` (exit 2), no hypervisor or device (exit 3).
pub fn run(ctx: &Context, args: &ScanArgs) -> CommandResult {
    let count = check(args)?;
    let mut session = ctx.open(None)?;
    let _ = writeln!(
        io::stderr(),
        "hvsignal: warning: scan signals every live connection it finds: each one gets flag {} \
         set and its SINT raised on the receiving side",
        args.flag
    );
    // Streamed JSON on a terminal would interleave with the bar.
    let bar = progress::bar_when(!ctx.json || !io::stdout().is_terminal(), count, "ids");
    let world = session.world.as_ref().map(|w| w.source.clone());
    let profile = session.world.as_ref().map(|w| w.world.profile().name());
    let banner = ctx.banner(&session);
    let probe = ClientProbe {
        client: &mut session.client,
        flag: args.flag,
        next: Some(args.from),
        last: args.to,
        done: 0,
        requests: 0,
        bar,
    };
    let mut scan = Scan::new(args.from, Box::new(probe));
    scan.start()?;
    let header = Header {
        from: args.from,
        to: args.to,
        flag: args.flag,
        world,
        profile,
        ids: count,
    };
    let scan = write_report(ctx, &header, banner, scan, &mut io::stdout().lock())?;
    // grep's convention: 0 = found at least one live connection, 1 = found none.
    let live = scan.runs.index_of(HvStatus::SUCCESS).is_some();
    Ok(Exit::from_all_success(live))
}

/// The keys of the document known before the scan.
#[derive(Debug)]
struct Header {
    from: u32,
    to: u32,
    flag: u16,
    world: Option<String>,
    profile: Option<&'static str>,
    ids: u64,
}

/// Writes the report to `out` and returns the finished scan. The JSON document probes the ids
/// as it is written: if a request fails part-way, it stops where the scan did (it is not valid
/// JSON) and the error is returned. The human report is written once every id is probed.
fn write_report<'a>(
    ctx: &Context,
    header: &Header,
    banner: Option<String>,
    scan: Scan<'a>,
    out: &mut dyn Write,
) -> Result<Scan<'a>, AppError> {
    let requests = requests_for(header.ids);
    let cell = RefCell::new(scan);
    let document = ScanDocument {
        from: header.from,
        to: header.to,
        flag: header.flag,
        world: header.world.clone(),
        profile: header.profile,
        ids: header.ids,
        requests,
        results: Results(&cell),
        live_connections: LiveJson(&cell),
        summary: SummaryJson(&cell),
    };
    let written = ctx.report_streaming(out, "scan", banner, &document, || {
        cell.borrow_mut().finish()?;
        Ok::<_, AppError>(|out: &mut dyn Write, style| render(out, style, header, &cell.borrow()))
    });
    drop(document);
    let mut scan = cell.into_inner();
    if let Some(error) = scan.error.take() {
        // The error document, if any, starts on a line of its own.
        let _ = writeln!(out);
        let _ = out.flush();
        return Err(error);
    }
    written?;
    if scan.probe.requests() != requests {
        return Err(DriverError::WrongAnswer(format!(
            "the scan took {} requests, not the {requests} its document states",
            scan.probe.requests()
        ))
        .into());
    }
    Ok(scan)
}

/// The human report, written from the runs.
fn render(out: &mut dyn Write, style: Style, header: &Header, scan: &Scan<'_>) -> io::Result<()> {
    let requests = scan.probe.requests();
    writeln!(
        out,
        "{} {:#x}..={:#x} ({} ids), flag {}: {} calls in {} request{}",
        style.bold("Scan"),
        header.from,
        header.to,
        header.ids,
        header.flag,
        header.ids,
        requests,
        if requests == 1 { "" } else { "s" }
    )?;
    // The table's last column is left-aligned, so its cells need no width: the table is
    // rendered without them and each row's ranges written after it.
    let groups = scan.runs.groups();
    let mut table = Table::new(&[
        ("status", Align::Left),
        ("ids", Align::Right),
        ("connection ids", Align::Left),
    ]);
    for &(_, status, count) in &groups {
        table.row(vec![style.status(status), count.to_string(), String::new()]);
    }
    let rendered = table.render(style, 2);
    let mut lines = rendered.lines();
    if let Some(head) = lines.next() {
        writeln!(out, "{head}")?;
    }
    for (line, &(index, _, _)) in lines.zip(&groups) {
        write!(out, "{line}  ")?;
        write_ranges(out, scan.runs.ranges(index))?;
        writeln!(out)?;
    }
    writeln!(out)?;
    match scan.runs.index_of(HvStatus::SUCCESS) {
        None => writeln!(out, "Live connections: none"),
        Some(index) => {
            let live = groups
                .iter()
                .find(|&&(i, _, _)| i == index)
                .map_or(0, |&(_, _, count)| count);
            let (open, close) = style.good_marks();
            write!(out, "Live connections ({live}): {open}")?;
            write_ranges(out, scan.runs.ranges(index))?;
            writeln!(out, "{close}")
        }
    }
}

/// `0x2001-0x2004, 0x2010`.
fn write_ranges(out: &mut dyn Write, ranges: impl Iterator<Item = [u32; 2]>) -> io::Result<()> {
    for (n, [a, b]) in ranges.enumerate() {
        if n > 0 {
            out.write_all(b", ")?;
        }
        if a == b {
            write!(out, "{a:#x}")?;
        } else {
            write!(out, "{a:#x}-{b:#x}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hvcall::CONNECTION_ID_MASK;

    use super::*;
    use crate::cli::BackendKind;

    /// Statuses from a list, `chunk` ids at a time.
    struct ListProbe {
        statuses: Vec<(u32, HvStatus)>,
        at: usize,
        chunk: usize,
        fail_at: Option<usize>,
    }

    impl Probe for ListProbe {
        fn next_chunk(&mut self, out: &mut Vec<(u32, HvStatus)>) -> Result<(), AppError> {
            if self.fail_at.is_some_and(|f| self.at >= f) {
                return Err(DriverError::WrongAnswer("the request failed".to_owned()).into());
            }
            let end = (self.at + self.chunk).min(self.statuses.len());
            out.extend_from_slice(self.statuses.get(self.at..end).unwrap_or(&[]));
            self.at = end;
            Ok(())
        }

        fn requests(&self) -> u64 {
            requests_for(self.at as u64)
        }
    }

    fn list_scan(statuses: &[(u32, HvStatus)], chunk: usize) -> Scan<'static> {
        let first = statuses.first().map_or(0, |s| s.0);
        Scan::new(
            first,
            Box::new(ListProbe {
                statuses: statuses.to_vec(),
                at: 0,
                chunk,
                fail_at: None,
            }),
        )
    }

    /// The document exactly as the scan built it before it streamed: every result in memory.
    #[derive(Serialize)]
    struct OldDocument {
        from: u32,
        to: u32,
        flag: u16,
        world: Option<String>,
        profile: Option<&'static str>,
        ids: u64,
        requests: u64,
        results: Vec<ResultJson>,
        live_connections: Vec<u32>,
        summary: Vec<OldGroup>,
    }

    #[derive(Serialize)]
    struct OldGroup {
        status: StatusJson,
        count: u64,
        ranges: Vec<[u32; 2]>,
    }

    fn old_ranges(ids: &[u32]) -> Vec<[u32; 2]> {
        let mut out: Vec<[u32; 2]> = Vec::new();
        for &id in ids {
            match out.last_mut() {
                Some(r) if r[1].checked_add(1) == Some(id) => r[1] = id,
                _ => out.push([id, id]),
            }
        }
        out
    }

    fn old_document(ctx: &Context, header: &Header, results: &[(u32, HvStatus)]) -> String {
        let mut groups: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for &(id, status) in results {
            groups.entry(status.code()).or_default().push(id);
        }
        let document = OldDocument {
            from: header.from,
            to: header.to,
            flag: header.flag,
            world: header.world.clone(),
            profile: header.profile,
            ids: header.ids,
            requests: requests_for(header.ids),
            results: results
                .iter()
                .map(|&(connection_id, status)| ResultJson {
                    connection_id,
                    status: status.into(),
                })
                .collect(),
            live_connections: groups
                .get(&HvStatus::SUCCESS.code())
                .cloned()
                .unwrap_or_default(),
            summary: groups
                .iter()
                .map(|(&code, ids)| OldGroup {
                    status: HvStatus::from_code(code).into(),
                    count: ids.len() as u64,
                    ranges: old_ranges(ids),
                })
                .collect(),
        };
        let mut out = Vec::new();
        crate::report::write_json(&mut out, &ctx.document("scan", document)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn context() -> Context {
        Context {
            backend: BackendKind::Model,
            world: None,
            json: true,
            style: Style::plain(),
        }
    }

    fn header(results: &[(u32, HvStatus)]) -> Header {
        Header {
            from: results.first().map_or(0, |r| r.0),
            to: results.last().map_or(0, |r| r.0),
            flag: 3,
            world: Some("built-in".to_owned()),
            profile: Some("tlfs"),
            ids: results.len() as u64,
        }
    }

    fn streamed(results: &[(u32, HvStatus)], chunk: usize) -> String {
        let ctx = context();
        let mut scan = list_scan(results, chunk);
        scan.start().unwrap();
        let mut out = Vec::new();
        write_report(&ctx, &header(results), None, scan, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn worlds() -> Vec<Vec<(u32, HvStatus)>> {
        let (ok, port, conn) = (
            HvStatus::SUCCESS,
            HvStatus::INVALID_PORT_ID,
            HvStatus::INVALID_CONNECTION_ID,
        );
        let odd = HvStatus::from_code(0x1234);
        let pattern = |from: u32, n: u32, f: &dyn Fn(u32) -> HvStatus| {
            (from..from + n).map(|id| (id, f(id))).collect::<Vec<_>>()
        };
        vec![
            // One id, live.
            pattern(0x2001, 1, &|_| ok),
            // None live: `live_connections` empty.
            pattern(0x3000, 300, &|_| conn),
            // The built-in world's shape.
            pattern(0x1f00, 0x201, &|id| {
                if (0x2001..=0x2004).contains(&id) {
                    ok
                } else {
                    conn
                }
            }),
            // Statuses alternating at every id, across chunk boundaries.
            pattern(0xff_fe00, 0x200, &|id| if id % 2 == 0 { ok } else { port }),
            // Four statuses, one unknown, in runs of varying length, up to the last id.
            pattern(0xff_f000, 0x1000, &|id| match (id / 7 + id % 3) % 4 {
                0 => ok,
                1 => port,
                2 => odd,
                _ => conn,
            }),
        ]
    }

    #[test]
    fn streamed_json_is_the_document_the_scan_built_in_memory() {
        let ctx = context();
        for results in worlds() {
            let old = old_document(&ctx, &header(&results), &results);
            for chunk in [1, 64, 4096] {
                assert_eq!(streamed(&results, chunk), old, "chunk {chunk}");
            }
        }
    }

    #[test]
    fn runs_keep_at_most_two_bytes_per_id_with_few_statuses() {
        // The worst case: the status changes at every id.
        let mut runs = Runs::new(0);
        let n = 100_000u32;
        for id in 0..n {
            runs.push(if id % 2 == 0 {
                HvStatus::SUCCESS
            } else {
                HvStatus::INVALID_PORT_ID
            });
        }
        runs.close();
        assert_eq!(runs.bytes(), 2 * n as usize);
        assert_eq!(runs.ids(HvStatus::SUCCESS).count(), n as usize / 2);
        assert_eq!(runs.ranges(1).nth(2), Some([5, 5]));
        // One status: one run, whatever the length.
        let mut runs = Runs::new(0);
        for _ in 0..=CONNECTION_ID_MASK {
            runs.push(HvStatus::INVALID_CONNECTION_ID);
        }
        runs.close();
        assert_eq!(runs.bytes(), 1 + 4);
        assert_eq!(
            runs.ranges(0).collect::<Vec<_>>(),
            [[0, CONNECTION_ID_MASK]]
        );
        assert_eq!(
            runs.groups(),
            [(0, HvStatus::INVALID_CONNECTION_ID, 1 << 24)]
        );
    }

    #[test]
    fn leb128_round_trips() {
        let mut log = Vec::new();
        let values = [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(CONNECTION_ID_MASK),
        ];
        for v in values {
            leb128(&mut log, v);
        }
        assert_eq!(log.len(), 1 + 1 + 1 + 2 + 2 + 3 + 4);
        let mut at = 0;
        for v in values {
            assert_eq!(read_leb128(&log, &mut at), Some(v));
        }
        assert_eq!(read_leb128(&log, &mut at), None);
    }

    #[test]
    fn a_failure_part_way_stops_the_document_and_returns_the_error() {
        let results: Vec<_> = (0..200).map(|id| (id, HvStatus::SUCCESS)).collect();
        let mut scan = Scan::new(
            0,
            Box::new(ListProbe {
                statuses: results.clone(),
                at: 0,
                chunk: 64,
                fail_at: Some(128),
            }),
        );
        scan.start().unwrap();
        let mut out = Vec::new();
        let error = write_report(&context(), &header(&results), None, scan, &mut out)
            .err()
            .unwrap();
        assert!(
            matches!(&error, AppError::Driver(DriverError::WrongAnswer(m)) if m == "the request failed")
        );
        let text = String::from_utf8(out).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        assert!(text.contains("\"connection_id\": 127,"), "{text}");
        assert!(!text.contains("\"connection_id\": 128,"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn the_human_report_comes_out_under_the_banner_once_every_id_is_probed() {
        let results = worlds().swap_remove(0);
        let ctx = Context {
            json: false,
            ..context()
        };
        let scan = list_scan(&results, 64);
        let mut out = Vec::new();
        let scan = write_report(
            &ctx,
            &header(&results),
            Some("simulated".to_owned()),
            scan,
            &mut out,
        )
        .unwrap();
        assert_eq!(scan.runs.groups(), [(0, HvStatus::SUCCESS, 1)]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "simulated\n\n\
             Scan 0x2001..=0x2001 (1 ids), flag 3: 1 calls in 1 request\n\
             \x20 status             ids  connection ids\n\
             \x20 HV_STATUS_SUCCESS    1  0x2001\n\
             \n\
             Live connections (1): 0x2001\n"
        );
    }

    #[test]
    fn human_report_streams_the_same_table() {
        let results = worlds().swap_remove(2);
        let mut scan = list_scan(&results, 64);
        scan.finish().unwrap();
        let mut out = Vec::new();
        render(&mut out, Style::plain(), &header(&results), &scan).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Scan 0x1f00..=0x2100 (513 ids), flag 3: 513 calls in 9 requests\n\
             \x20 status                           ids  connection ids\n\
             \x20 HV_STATUS_SUCCESS                  4  0x2001-0x2004\n\
             \x20 HV_STATUS_INVALID_CONNECTION_ID  509  0x1f00-0x2000, 0x2005-0x2100\n\
             \n\
             Live connections (4): 0x2001-0x2004\n"
        );
        let results = worlds().swap_remove(1);
        let mut scan = list_scan(&results, 64);
        scan.finish().unwrap();
        let mut out = Vec::new();
        render(&mut out, Style::plain(), &header(&results), &scan).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("0x3000-0x312b\n\nLive connections: none\n")
        );
    }

    #[test]
    fn requests_are_known_before_the_scan() {
        assert_eq!(requests_for(1), 1);
        assert_eq!(requests_for(64), 1);
        assert_eq!(requests_for(65), 2);
        assert_eq!(requests_for(1 << 24), 1 << 18);
    }

    #[test]
    fn range_checks() {
        let args = |from, to, yes| ScanArgs {
            from,
            to,
            flag: 0,
            yes,
            target: crate::cli::TargetArgs::default(),
        };
        assert_eq!(check(&args(1, 4096, false)).unwrap(), 4096);
        assert!(
            matches!(check(&args(0, 4096, false)), Err(UsageError::NotConfirmed(m)) if m.contains("--yes"))
        );
        assert_eq!(check(&args(0, 4096, true)).unwrap(), 4097);
        assert!(
            matches!(check(&args(5, 4, false)), Err(UsageError::BadValue(m)) if m.starts_with("--from 0x5"))
        );
        assert_eq!(
            check(&args(0, 0x0100_0000, true)).unwrap_err().to_string(),
            "--to: connection id 0x1000000 does not fit 24 bits (0 to 0xffffff); bits 31:24 are \
             reserved"
        );
    }
}

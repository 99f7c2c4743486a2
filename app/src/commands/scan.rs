//! `hvsignal scan`: probe a range of connection ids and group them by the status they answered.
//! Every live connection found is really signalled.

use std::collections::BTreeMap;
use std::io::Write;

use hvcall::{CONNECTION_ID_MASK, HvStatus};
use hvsignal_proto::{CallingConvention, MAX_OPERATIONS, Operation};
use serde::Serialize;

use crate::cli::ScanArgs;
use crate::client::Job;
use crate::context::Context;
use crate::exit::{AppError, CommandResult, Exit};
use crate::progress;
use crate::report::{self, Align, StatusJson, Style, Table, Text};

/// Ranges larger than this need `--yes`.
pub const CONFIRM_ABOVE: u64 = 4096;

/// Ids sent to the client at a time (a whole number of requests).
const CHUNK: usize = MAX_OPERATIONS * 64;

#[derive(Debug, Serialize)]
struct ScanDocument {
    from: u32,
    to: u32,
    flag: u16,
    world: Option<String>,
    profile: Option<&'static str>,
    ids: u64,
    requests: u64,
    results: Vec<ResultJson>,
    live_connections: Vec<u32>,
    summary: Vec<GroupJson>,
}

#[derive(Debug, Serialize)]
struct ResultJson {
    connection_id: u32,
    status: StatusJson,
}

#[derive(Debug, Serialize)]
struct GroupJson {
    status: StatusJson,
    count: u64,
    ranges: Vec<[u32; 2]>,
}

/// Consecutive ids as `[first, last]` ranges.
fn ranges(ids: &[u32]) -> Vec<[u32; 2]> {
    let mut out: Vec<[u32; 2]> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some(r) if r[1].checked_add(1) == Some(id) => r[1] = id,
            _ => out.push([id, id]),
        }
    }
    out
}

/// `0x2001-0x2004, 0x2010`.
fn ranges_text(ranges: &[[u32; 2]]) -> String {
    ranges
        .iter()
        .map(|[a, b]| {
            if a == b {
                format!("{a:#x}")
            } else {
                format!("{a:#x}-{b:#x}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check(args: &ScanArgs) -> Result<u64, AppError> {
    for (name, value) in [("--from", args.from), ("--to", args.to)] {
        if value > CONNECTION_ID_MASK {
            return Err(AppError::Usage(format!(
                "{name} {value:#x}: a connection id is 24 bits (0 to 0xffffff)"
            )));
        }
    }
    if args.from > args.to {
        return Err(AppError::Usage(format!(
            "--from {:#x} is above --to {:#x}: give the range low to high",
            args.from, args.to
        )));
    }
    let count = u64::from(args.to - args.from) + 1;
    if count > CONFIRM_ABOVE && !args.yes {
        return Err(AppError::Usage(format!(
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
        std::io::stderr(),
        "hvsignal: warning: scan signals every live connection it finds: each one gets flag {} \
         set and its SINT raised on the receiving side",
        args.flag
    );
    let bar = progress::bar(count, "ids");
    let mut results: Vec<(u32, HvStatus)> = Vec::new();
    let mut requests = 0u64;
    let ids: Vec<u32> = (args.from..=args.to).collect();
    for chunk in ids.chunks(CHUNK) {
        let jobs: Vec<Job> = chunk
            .iter()
            .map(|&id| Job {
                operation: Operation::new(id, args.flag, 1),
                calls: 1,
            })
            .collect();
        let base = results.len() as u64;
        let outcomes =
            session
                .client
                .run(CallingConvention::Fast, false, &jobs, None, &mut |done| {
                    requests += 1;
                    bar.set_position(base + done);
                })?;
        results.extend(outcomes.iter().map(|o| (o.connection_id, o.last_status)));
    }
    bar.finish_and_clear();
    let mut groups: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
    for &(id, status) in &results {
        groups.entry(status.code()).or_default().push(id);
    }
    let live: Vec<u32> = groups
        .get(&HvStatus::SUCCESS.code())
        .cloned()
        .unwrap_or_default();
    // grep's convention: 0 = found at least one live connection, 1 = found none.
    let exit = Exit::from_all_success(!live.is_empty());
    let document = ScanDocument {
        from: args.from,
        to: args.to,
        flag: args.flag,
        world: session.world.as_ref().map(|w| w.source.clone()),
        profile: session.world.as_ref().map(|w| w.world.profile().name()),
        ids: count,
        requests,
        results: results
            .iter()
            .map(|&(connection_id, status)| ResultJson {
                connection_id,
                status: status.into(),
            })
            .collect(),
        live_connections: live,
        summary: groups
            .iter()
            .map(|(&code, ids)| GroupJson {
                status: HvStatus::from_code(code).into(),
                count: ids.len() as u64,
                ranges: ranges(ids),
            })
            .collect(),
    };
    if ctx.json {
        report::print_json(&ctx.document("scan", document))?;
        return Ok(exit);
    }
    let mut text = Text::new();
    if let Some(banner) = ctx.banner(&session) {
        text.line(banner);
        text.blank();
    }
    render(&mut text, ctx.style, &document);
    text.print()?;
    Ok(exit)
}

fn render(text: &mut Text, style: Style, document: &ScanDocument) {
    let d = document;
    text.line(format!(
        "{} {:#x}..={:#x} ({} ids), flag {}: {} calls in {} request{}",
        style.bold("Scan"),
        d.from,
        d.to,
        d.ids,
        d.flag,
        d.ids,
        d.requests,
        if d.requests == 1 { "" } else { "s" }
    ));
    let mut table = Table::new(&[
        ("status", Align::Left),
        ("ids", Align::Right),
        ("connection ids", Align::Left),
    ]);
    for g in &d.summary {
        let status = HvStatus::from_code(g.status.code);
        table.row(vec![
            style.status(status),
            g.count.to_string(),
            ranges_text(&g.ranges),
        ]);
    }
    text.push(table.render(style, 2));
    text.blank();
    text.line(if d.live_connections.is_empty() {
        "Live connections: none".to_owned()
    } else {
        format!(
            "Live connections ({}): {}",
            d.live_connections.len(),
            style.good(&ranges_text(&ranges(&d.live_connections)))
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_consecutive_ids() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), vec![[1, 3], [5, 5], [7, 8]]);
        assert_eq!(
            ranges_text(&ranges(&[0x2001, 0x2002, 0x2010])),
            "0x2001-0x2002, 0x2010"
        );
        assert!(ranges(&[]).is_empty());
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
            matches!(check(&args(0, 4096, false)), Err(AppError::Usage(m)) if m.contains("--yes"))
        );
        assert_eq!(check(&args(0, 4096, true)).unwrap(), 4097);
        assert!(
            matches!(check(&args(5, 4, false)), Err(AppError::Usage(m)) if m.starts_with("--from 0x5"))
        );
        assert!(
            matches!(check(&args(0, 0x0100_0000, true)), Err(AppError::Usage(m)) if m.starts_with("--to 0x1000000"))
        );
    }
}

//! `hvsignal bench`: the latency distribution of HvCallSignalEvent.

use serde::Serialize;

use hvsignal_proto::Operation;

use crate::call;
use crate::cli::{BenchArgs, RawArgs};
use crate::client::DriverError;
use crate::context::Context;
use crate::exit::{CommandResult, Exit};
use crate::issued;
use crate::latency::{Collector, Figures, Method, NanosecondFigures};
use crate::progress;
use crate::report::{self, Align, StatusJson, Style, Table, Text};

/// Above this many calls the quantiles come from the driver's histograms (each within 0.79 %
/// of exact) unless asked otherwise: exact quantiles keep every call's sample (4 bytes) in
/// memory.
pub const EXACT_LIMIT: u32 = 1_000_000;

#[derive(Debug, Serialize)]
struct BenchDocument {
    connection_id: u32,
    flag: u16,
    convention: &'static str,
    world: Option<String>,
    profile: Option<&'static str>,
    calls: u64,
    requests: u64,
    successes: u64,
    failures: u64,
    first_status: StatusJson,
    last_status: StatusJson,
    method: Method,
    quantile_error_bound: f64,
    timer_overhead_cycles: Option<u32>,
    tsc_frequency_hz: Option<u64>,
    cycles: Figures,
    nanoseconds: Option<NanosecondFigures>,
    calls_per_second: Option<f64>,
}

/// Runs the command.
///
/// # Errors
/// Bad arguments or world file (exit 2), no hypervisor or device (exit 3).
#[allow(clippy::cast_precision_loss, reason = "rates from cycle counts")]
pub fn run(ctx: &Context, args: &BenchArgs) -> CommandResult {
    let convention = call::convention(args.memory);
    let operation = call::plan(args.connection, args.flag, convention, &RawArgs::default())?;
    let method = if args.exact {
        Method::Exact
    } else if args.histogram || args.calls > EXACT_LIMIT {
        Method::Histogram
    } else {
        Method::Exact
    };
    let mut session = ctx.open(None)?;
    let tsc = session.client.query()?.tsc_frequency();
    let bar = progress::bar(u64::from(args.calls), "calls");
    let mut collector = Collector::new();
    let mut requests = 0u64;
    let operations = [Operation {
        repeat: args.calls,
        ..operation
    }];
    let results = session.client.run(
        convention,
        false,
        &operations,
        Some((&mut collector, method == Method::Exact)),
        &mut |done| {
            requests += 1;
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    let (Some(outcome), Some(cycles)) = (results.first(), collector.figures()) else {
        return Err(DriverError::WrongAnswer(
            "the driver returned no results for the benchmark".to_owned(),
        )
        .into());
    };
    let document = BenchDocument {
        connection_id: args.connection,
        flag: args.flag,
        convention: issued::convention_name(convention),
        world: session.world.as_ref().map(|w| w.source.clone()),
        profile: session.world.as_ref().map(|w| w.world.profile().name()),
        calls: outcome.calls.into(),
        requests,
        successes: outcome.successes.into(),
        failures: outcome.failures.into(),
        first_status: outcome.first_hv_status().into(),
        last_status: outcome.last_hv_status().into(),
        method: collector.method(),
        quantile_error_bound: collector.method().relative_error_bound(),
        timer_overhead_cycles: collector.timer_overhead(),
        tsc_frequency_hz: tsc,
        cycles,
        nanoseconds: tsc.map(|hz| cycles.nanoseconds(hz)),
        calls_per_second: tsc
            .filter(|_| cycles.mean > 0.0)
            .map(|hz| hz as f64 / cycles.mean),
    };
    let exit = Exit::from_all_success(outcome.failures == 0);
    ctx.report("bench", ctx.banner(&session), &document, |text, style| {
        render(text, style, &document, outcome.last_hv_status());
    })?;
    Ok(exit)
}

fn render(text: &mut Text, style: Style, document: &BenchDocument, last_status: hvcall::HvStatus) {
    let d = document;
    let cycles = d.cycles;
    text.line(format!(
        "{} connection {:#x}, flag {}, {} convention",
        style.bold("HvCallSignalEvent latency"),
        d.connection_id,
        d.flag,
        d.convention
    ));
    let status = if d.failures == 0 {
        style.good(&format!("all {} succeeded", d.successes))
    } else {
        style.bad(&format!(
            "{} failed, last status {}",
            d.failures,
            report::status_name(last_status)
        ))
    };
    text.line(format!(
        "  {} calls in {} request{}: {status}",
        d.calls,
        d.requests,
        if d.requests == 1 { "" } else { "s" }
    ));
    text.line(style.dim(match d.method {
        Method::Exact => "  quantiles: exact (every call's cycle count, sent by the driver)",
        Method::Histogram => {
            "  quantiles: from the driver's log-linear histograms, each within 0.79 % of exact (min, max, mean exact)"
        }
    }));
    if let Some(overhead) = d.timer_overhead_cycles {
        text.line(style.dim(&format!(
            "  timer overhead: {overhead} cycles per call (an empty timed region; included in every figure below)"
        )));
    }
    text.blank();
    let mut table = Table::new(&[
        ("", Align::Left),
        ("cycles", Align::Right),
        ("ns", Align::Right),
    ]);
    let ns = d.nanoseconds;
    let ns_cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let rows: [(&str, String, Option<f64>); 6] = [
        ("min", cycles.min.to_string(), ns.map(|n| n.min)),
        ("median", cycles.median.to_string(), ns.map(|n| n.median)),
        ("p90", cycles.p90.to_string(), ns.map(|n| n.p90)),
        ("p99", cycles.p99.to_string(), ns.map(|n| n.p99)),
        ("max", cycles.max.to_string(), ns.map(|n| n.max)),
        ("mean", format!("{:.1}", cycles.mean), ns.map(|n| n.mean)),
    ];
    for (name, c, n) in rows {
        table.row(vec![name.to_owned(), c, ns_cell(n)]);
    }
    text.push(table.render(style, 2));
    text.blank();
    text.line(match (d.calls_per_second, d.tsc_frequency_hz) {
        (Some(rate), Some(hz)) => {
            format!("  {rate:.0} calls/s back to back (TSC {hz} Hz / mean cycles)")
        }
        _ => "  calls/s unknown: the TSC frequency is not known".to_owned(),
    });
}

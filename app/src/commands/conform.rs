//! `hvsignal conform`: run conformance cases on the current backend and compare the observed
//! status with each profile's expectation.

use std::io::Write;

use hvmodel::Profile;
use serde::Serialize;

use crate::cli::{BackendKind, ConformArgs};
use crate::conformance::{self, Case, Observation, Runner, Verdict, verdict};
use crate::context::Context;
use crate::exit::{CommandResult, Exit};
use crate::report::{self, Align, Fields, StatusJson, Style, Table, Text};

#[derive(Debug, Serialize)]
struct ConformDocument {
    profile: String,
    profiles: Vec<ProfileJson>,
    world: Option<String>,
    cases: Vec<CaseJson>,
    summary: SummaryJson,
}

#[derive(Debug, Serialize)]
struct ProfileJson {
    profile: &'static str,
    summary: SummaryJson,
}

#[derive(Debug, Serialize)]
struct CaseJson {
    name: String,
    row: String,
    about: Option<String>,
    profile: &'static str,
    expectation: ExpectationKind,
    expected: Option<StatusJson>,
    observed: Option<StatusJson>,
    verdict: Verdict,
    firm: bool,
    note: Option<String>,
    reason: Option<String>,
    file: String,
    /// The world the case ran on (model): its own world file, else the default world (`--world`
    /// or `built-in`); null on the device and for cases that were not run.
    world: Option<String>,
}

/// What a case expects of one profile.
#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
enum ExpectationKind {
    /// A status is expected.
    #[serde(rename = "status")]
    Status,
    /// Nothing is expected: the call never reaches that layer.
    #[serde(rename = "n/a")]
    NotApplicable,
    /// The case file gives no expectation for this profile.
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Serialize, Default, Clone, Copy)]
struct SummaryJson {
    passed: u64,
    failed: u64,
    informational: u64,
    skipped: u64,
}

impl SummaryJson {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Info => self.informational += 1,
            Verdict::Skip => self.skipped += 1,
        }
    }

    fn merge(&mut self, o: Self) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.informational += o.informational;
        self.skipped += o.skipped;
    }
}

/// Runs the command.
///
/// # Errors
/// Bad case or world files (exit 2), no device (exit 3).
pub fn run(ctx: &Context, args: &ConformArgs) -> CommandResult {
    let cases = if args.files.is_empty() {
        conformance::builtin_cases()?
    } else {
        conformance::cases_from_files(&args.files)?
    };
    let mut document = ConformDocument {
        profile: String::new(),
        profiles: Vec::new(),
        world: None,
        cases: Vec::new(),
        summary: SummaryJson::default(),
    };
    let banner;
    let mut worlds: Vec<Option<String>> = vec![None; cases.len()];
    match ctx.backend {
        BackendKind::Model => {
            if let Some(id) = args.connection {
                let _ = writeln!(
                    std::io::stderr(),
                    "hvsignal: warning: --connection {id:#x} is ignored on the model backend: \
                     cases that need a live connection signal the first connection of their \
                     world"
                );
            }
            let loaded = ctx.load_world(None)?;
            for (world, case) in worlds.iter_mut().zip(&cases) {
                if case.untestable.is_none() {
                    *world = Some(case.own_world().unwrap_or(&loaded.source).to_owned());
                }
            }
            let profiles = if args.all_profiles {
                Profile::ALL.to_vec()
            } else {
                vec![args.profile.unwrap_or_else(|| loaded.world.profile())]
            };
            banner = ctx.style.warn(&format!(
                "simulated: model backend, world {}, profile {}",
                loaded.source,
                profiles
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            document.world = Some(loaded.source.clone());
            for profile in &profiles {
                let mut runner = Runner::Model {
                    default_world: &loaded.world,
                    profile: *profile,
                };
                let observations = observe(&mut runner, &cases)?;
                compare(&mut document, &cases, &observations, &worlds, &[*profile]);
            }
            document.profile = profile_label(&profiles);
        }
        BackendKind::Device => {
            let profiles = if args.all_profiles {
                Profile::ALL.to_vec()
            } else {
                vec![args.profile.unwrap_or(Profile::Tlfs)]
            };
            let mut session = ctx.open(None)?;
            banner = String::new();
            let mut runner = Runner::InstalledDriver {
                client: &mut session.client,
                connection: args.connection,
            };
            let observations = observe(&mut runner, &cases)?;
            compare(&mut document, &cases, &observations, &worlds, &profiles);
            document.profile = profile_label(&profiles);
        }
    }
    let exit = Exit::from_all_success(document.summary.failed == 0);
    let banner = (!banner.is_empty()).then_some(banner);
    ctx.report("conform", banner, &document, |text, style| {
        render(text, style, &document);
    })?;
    Ok(exit)
}

fn profile_label(profiles: &[Profile]) -> String {
    match profiles {
        [one] => one.name().to_owned(),
        _ => "all".to_owned(),
    }
}

fn observe(
    runner: &mut Runner<'_>,
    cases: &[Case],
) -> Result<Vec<Observation>, crate::exit::AppError> {
    cases.iter().map(|case| runner.run(case)).collect()
}

fn compare(
    document: &mut ConformDocument,
    cases: &[Case],
    observations: &[Observation],
    worlds: &[Option<String>],
    profiles: &[Profile],
) {
    for &profile in profiles {
        let mut summary = SummaryJson::default();
        for ((case, observed), world) in cases.iter().zip(observations).zip(worlds) {
            let expected = case.expectation(profile);
            let v = verdict(expected, observed);
            summary.add(v);
            document.cases.push(CaseJson {
                name: case.name.clone(),
                row: case.row.clone(),
                about: case.about.clone(),
                profile: profile.name(),
                expectation: match expected {
                    None => ExpectationKind::None,
                    Some(e) if e.status.is_none() => ExpectationKind::NotApplicable,
                    Some(_) => ExpectationKind::Status,
                },
                expected: expected.and_then(|e| e.status).map(StatusJson::from),
                observed: match observed {
                    Observation::Status(s) => Some((*s).into()),
                    Observation::Skipped(_) => None,
                },
                verdict: v,
                firm: expected.is_some_and(|e| e.firm),
                note: expected.and_then(|e| e.note.clone()),
                reason: match observed {
                    Observation::Skipped(r) => Some(r.clone()),
                    Observation::Status(_) => None,
                },
                file: case.file.clone(),
                world: world.clone(),
            });
        }
        document.summary.merge(summary);
        document.profiles.push(ProfileJson {
            profile: profile.name(),
            summary,
        });
    }
}

fn short(status: Option<StatusJson>) -> String {
    status.map_or_else(|| "-".to_owned(), report::short_status_name)
}

/// The distinct worlds the cases ran on, in order of first use, with their labels `w1`, `w2`…
fn world_labels(d: &ConformDocument) -> Vec<(String, &str)> {
    let mut worlds: Vec<&str> = Vec::new();
    for world in d.cases.iter().filter_map(|c| c.world.as_deref()) {
        if !worlds.contains(&world) {
            worlds.push(world);
        }
    }
    worlds
        .into_iter()
        .enumerate()
        .map(|(i, w)| (format!("w{}", i + 1), w))
        .collect()
}

fn render(text: &mut Text, style: Style, d: &ConformDocument) {
    let labels = world_labels(d);
    if !labels.is_empty() {
        text.line(format!(
            "{} (a fresh model per case, of the case's own world or the default one)",
            style.bold("Worlds the cases ran on")
        ));
        let mut fields = Fields::new();
        for (label, world) in &labels {
            if d.world.as_deref() == Some(*world) {
                fields.add(label, format!("{world} (default)"));
            } else {
                fields.add(label, *world);
            }
        }
        text.push(fields.render(2));
        text.blank();
    }
    let label_of = |world: Option<&str>| {
        world
            .and_then(|w| labels.iter().find(|(_, l)| *l == w))
            .map_or_else(|| "-".to_owned(), |(label, _)| label.clone())
    };
    for p in &d.profiles {
        text.line(format!(
            "{} profile {} (expected = {}'s answer)",
            style.bold("Conformance:"),
            p.profile,
            p.profile
        ));
        let mut columns = vec![("case", Align::Left)];
        if !labels.is_empty() {
            columns.push(("world", Align::Left));
        }
        columns.extend([
            ("expected", Align::Left),
            ("observed", Align::Left),
            ("verdict", Align::Left),
        ]);
        let mut table = Table::new(&columns);
        let mut reasons = Vec::new();
        for c in d.cases.iter().filter(|c| c.profile == p.profile) {
            let verdict = match c.verdict {
                Verdict::Pass => style.good("pass"),
                Verdict::Fail => style.bad("FAIL"),
                Verdict::Info => style.dim(match c.expectation {
                    ExpectationKind::None => "info (no expectation)",
                    ExpectationKind::NotApplicable => "info (n/a)",
                    ExpectationKind::Status
                        if c.expected.map(|e| e.code) == c.observed.map(|o| o.code) =>
                    {
                        "info (matches)"
                    }
                    ExpectationKind::Status => "info (differs)",
                }),
                Verdict::Skip => style.warn("skip"),
            };
            let expected = match c.expectation {
                ExpectationKind::None => "(none given)".to_owned(),
                ExpectationKind::NotApplicable => "n/a".to_owned(),
                ExpectationKind::Status => short(c.expected),
            };
            let mut row = vec![c.name.clone()];
            if !labels.is_empty() {
                row.push(label_of(c.world.as_deref()));
            }
            row.extend([expected, short(c.observed), verdict]);
            table.row(row);
            if let Some(r) = &c.reason {
                reasons.push(format!("{}: {r}", c.name));
            }
        }
        text.push(table.render(style, 2));
        let s = p.summary;
        text.line(format!(
            "  {}: {} passed, {} failed, {} informational, {} skipped",
            p.profile, s.passed, s.failed, s.informational, s.skipped
        ));
        if !reasons.is_empty() {
            text.line(style.dim("  skipped:"));
            for r in reasons {
                text.line(style.dim(&format!("    {r}")));
            }
        }
        text.blank();
    }
    let s = d.summary;
    let line = format!(
        "Summary: {} passed, {} failed, {} informational, {} skipped",
        s.passed, s.failed, s.informational, s.skipped
    );
    text.line(if s.failed == 0 {
        style.good(&line)
    } else {
        style.bad(&line)
    });
}

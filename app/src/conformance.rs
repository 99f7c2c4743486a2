//! Conformance cases: the file format (TOML, documented in docs/CLI.md, "Conformance case
//! files"), the built-in case set (`app/conformance/`), and the runner that issues each case on
//! the current backend and compares the status with each profile's expectation.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use hvcall::HvStatus;
use hvmodel::{Profile, World};
use serde::Deserialize;

use crate::call;
use crate::cli::{BackendKind, RawArgs};
use crate::client::{Client, DriverError};
use crate::exit::{AppError, InputFileError, UsageError};
use crate::transport::model::ModelTransport;

/// The built-in case files, embedded so `hvsignal conform` works from any directory.
pub const BUILTIN_CASES: &[(&str, &str)] = &[(
    "app/conformance/signal-event.toml",
    include_str!("../conformance/signal-event.toml"),
)];

/// World files cases may name, embedded, by their path from the repository root.
pub const EMBEDDED_WORLDS: &[(&str, &str)] = &[
    (
        "crates/hvmodel/worlds/default.toml",
        include_str!("../../crates/hvmodel/worlds/default.toml"),
    ),
    (
        "crates/hvmodel/worlds/access-denied.toml",
        include_str!("../../crates/hvmodel/worlds/access-denied.toml"),
    ),
    (
        "crates/hvmodel/worlds/malformed-calls.toml",
        include_str!("../../crates/hvmodel/worlds/malformed-calls.toml"),
    ),
    (
        "crates/hvmodel/worlds/invalid-port-id.toml",
        include_str!("../../crates/hvmodel/worlds/invalid-port-id.toml"),
    ),
    (
        "crates/hvmodel/worlds/invalid-vp-index.toml",
        include_str!("../../crates/hvmodel/worlds/invalid-vp-index.toml"),
    ),
    (
        "crates/hvmodel/worlds/invalid-synic-state.toml",
        include_str!("../../crates/hvmodel/worlds/invalid-synic-state.toml"),
    ),
    (
        "crates/hvmodel/worlds/invalid-parameter.toml",
        include_str!("../../crates/hvmodel/worlds/invalid-parameter.toml"),
    ),
    (
        "crates/hvmodel/worlds/openvmm.toml",
        include_str!("../../crates/hvmodel/worlds/openvmm.toml"),
    ),
    (
        "app/conformance/worlds/enforce-cpuid-no-signal-events.toml",
        include_str!("../conformance/worlds/enforce-cpuid-no-signal-events.toml"),
    ),
    (
        "app/conformance/worlds/caller-synic-inactive.toml",
        include_str!("../conformance/worlds/caller-synic-inactive.toml"),
    ),
];

/// One case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(rename = "case", default)]
    cases: Vec<CaseSpec>,
}

/// Which connection a case signals.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(
    untagged,
    expecting = "not a connection: give \"live\", \"unknown\" or a connection id number (e.g. \
                 0x2001)"
)]
pub enum ConnectionSpec {
    /// `"live"` or `"unknown"`.
    Named(ConnectionName),
    /// A fixed id.
    Id(u32),
}

/// The named connections.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionName {
    /// A connection that exists: the first of the world (model) or `--connection` (device).
    Live,
    /// An id no world and no guest has: 0xFEDCBA.
    Unknown,
}

/// The id `connection = "unknown"` signals.
pub const UNKNOWN_CONNECTION: u32 = 0x00FE_DCBA;

/// One expectation as written: `"SUCCESS"` (firm), `"n/a"` (informational, nothing expected)
/// or a table.
#[derive(Debug, Deserialize, Clone)]
#[serde(
    untagged,
    expecting = "not an expectation: give a status name (\"SUCCESS\", \"INVALID_PORT_ID\", \
                 \"HV_STATUS_INVALID_PORT_ID\"), \"n/a\", or a table { status = \"...\", \
                 firm = false, note = \"...\" } (firm and note optional)"
)]
enum ExpectSpec {
    Short(String),
    Full(ExpectTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ExpectTable {
    status: String,
    #[serde(default = "default_firm")]
    firm: bool,
    #[serde(default)]
    note: Option<String>,
}

const fn default_firm() -> bool {
    true
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct ExpectSet {
    tlfs: Option<ExpectSpec>,
    kvm: Option<ExpectSpec>,
    qemu: Option<ExpectSpec>,
    openvmm: Option<ExpectSpec>,
    xen: Option<ExpectSpec>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    row: String,
    #[serde(default)]
    about: Option<String>,
    #[serde(default)]
    connection: Option<ConnectionSpec>,
    #[serde(default)]
    connection_bits: Option<u32>,
    #[serde(default)]
    flag: Option<u16>,
    #[serde(default)]
    convention: Option<String>,
    #[serde(default)]
    rsvd: Option<u16>,
    #[serde(default)]
    rep_count: Option<u16>,
    #[serde(default)]
    rep_start: Option<u16>,
    #[serde(default)]
    var_header: Option<u16>,
    #[serde(default)]
    control_bits: Option<u64>,
    #[serde(default)]
    input_offset: Option<u16>,
    #[serde(default)]
    world: Option<String>,
    #[serde(default)]
    model_world: Option<String>,
    #[serde(default)]
    untestable: Option<String>,
    expect: ExpectSet,
}

/// An expectation of one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The status expected, `None` for "n/a" (the call never reaches that layer).
    pub status: Option<HvStatus>,
    /// A mismatch fails the run.
    pub firm: bool,
    /// Why, where the file says.
    pub note: Option<String>,
}

/// Where a case's world comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseWorld {
    /// The world given with `--world`, or the built-in one.
    Default,
    /// A world the case needs (device backend: skipped).
    Required(String, String),
    /// A world the model uses; the device runs the case too.
    ModelOnly(String, String),
}

/// A validated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// The row of the behaviour matrix (docs/HYPERCALL.md, Behaviour matrix).
    pub row: String,
    /// What the case does.
    pub about: Option<String>,
    /// The file it came from.
    pub file: String,
    /// The connection.
    pub connection: ConnectionSpec,
    /// Bits OR-ed into the id.
    pub connection_bits: u32,
    /// Flag number.
    pub flag: u16,
    /// Memory convention.
    pub memory: bool,
    /// Raw fields.
    pub raw: RawArgs,
    /// The world.
    pub world: CaseWorld,
    /// Why the case cannot be run through the driver, if so.
    pub untestable: Option<String>,
    /// Expectations by profile.
    pub expect: Vec<(Profile, Expectation)>,
}

impl Case {
    /// The world file a case names for the model (`world` or `model_world`), if any.
    #[must_use]
    pub fn own_world(&self) -> Option<&str> {
        match &self.world {
            CaseWorld::Default => None,
            CaseWorld::Required(path, _) | CaseWorld::ModelOnly(path, _) => Some(path),
        }
    }

    /// The expectation of `profile`.
    #[must_use]
    pub fn expectation(&self, profile: Profile) -> Option<&Expectation> {
        self.expect
            .iter()
            .find(|(p, _)| *p == profile)
            .map(|(_, e)| e)
    }
}

fn parse_status(
    text: &str,
    file: &str,
    case: &str,
    profile: Profile,
) -> Result<HvStatus, InputFileError> {
    HvStatus::from_name(text).ok_or_else(|| {
        InputFileError::CaseFile(format!(
            "{file}: case `{case}`: key `expect.{profile}`: `{text}` is not a known HV_STATUS name \
             (e.g. SUCCESS, INVALID_CONNECTION_ID, HV_STATUS_INVALID_PORT_ID), nor \"n/a\""
        ))
    })
}

fn expectation(
    spec: &ExpectSpec,
    file: &str,
    case: &str,
    profile: Profile,
) -> Result<Expectation, InputFileError> {
    let (status, firm, note) = match spec {
        ExpectSpec::Short(s) => (s.as_str(), true, None),
        ExpectSpec::Full(t) => (t.status.as_str(), t.firm, t.note.clone()),
    };
    if status.eq_ignore_ascii_case("n/a") {
        return Ok(Expectation {
            status: None,
            firm: false,
            note,
        });
    }
    Ok(Expectation {
        status: Some(parse_status(status, file, case, profile)?),
        firm,
        note,
    })
}

fn world_ref(
    name: &str,
    file: &str,
    case: &str,
    key: &str,
    base: Option<&Path>,
) -> Result<(String, String), InputFileError> {
    if let Some((path, text)) = EMBEDDED_WORLDS.iter().find(|(path, _)| *path == name) {
        return Ok(((*path).to_owned(), (*text).to_owned()));
    }
    let path = base.map_or_else(|| PathBuf::from(name), |dir| dir.join(name));
    hvmodel::input::read_input_file(&path)
        .map(|text| (path.display().to_string(), text))
        .map_err(|e| {
            InputFileError::CaseFile(format!(
                "{file}: case `{case}`: key `{key}`: world `{name}` is neither built in ({}) nor a \
                 readable world file ({}: {e})",
                EMBEDDED_WORLDS
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", "),
                path.display()
            ))
        })
}

/// Parses one case file's text; `file` names it in errors, `base` resolves world paths.
///
/// # Errors
/// Not TOML, an unknown key, a bad status name, a duplicate case name, or an unknown world:
/// the message names the file, the case and the key (exit 2).
pub fn parse_cases(
    text: &str,
    file: &str,
    base: Option<&Path>,
) -> Result<Vec<Case>, InputFileError> {
    let parsed: CaseFile = toml::from_str(text)
        .map_err(|e| InputFileError::CaseFile(format!("{file}: {}", e.to_string().trim_end())))?;
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for spec in parsed.cases {
        let case = spec.name.clone();
        if !names.insert(case.clone()) {
            return Err(InputFileError::CaseFile(format!(
                "{file}: case `{case}`: key `name`: the name is used twice; names must be unique"
            )));
        }
        let memory = match spec.convention.as_deref() {
            None | Some("fast") => false,
            Some("memory") => true,
            Some(other) => {
                return Err(InputFileError::CaseFile(format!(
                    "{file}: case `{case}`: key `convention`: `{other}` is not a convention; \
                     allowed: \"fast\", \"memory\""
                )));
            }
        };
        let world = match (&spec.world, &spec.model_world) {
            (Some(_), Some(_)) => {
                return Err(InputFileError::CaseFile(format!(
                    "{file}: case `{case}`: keys `world` and `model_world` exclude each other"
                )));
            }
            (Some(w), None) => {
                let (p, t) = world_ref(w, file, &case, "world", base)?;
                CaseWorld::Required(p, t)
            }
            (None, Some(w)) => {
                let (p, t) = world_ref(w, file, &case, "model_world", base)?;
                CaseWorld::ModelOnly(p, t)
            }
            (None, None) => CaseWorld::Default,
        };
        let mut expect = Vec::new();
        let set = &spec.expect;
        for (profile, e) in [
            (Profile::Tlfs, &set.tlfs),
            (Profile::Kvm, &set.kvm),
            (Profile::Qemu, &set.qemu),
            (Profile::Openvmm, &set.openvmm),
            (Profile::Xen, &set.xen),
        ] {
            if let Some(e) = e {
                expect.push((profile, expectation(e, file, &case, profile)?));
            }
        }
        if expect.is_empty() {
            return Err(InputFileError::CaseFile(format!(
                "{file}: case `{case}`: key `expect`: give at least one of tlfs, kvm, qemu, openvmm, xen"
            )));
        }
        out.push(Case {
            name: spec.name,
            row: spec.row,
            about: spec.about,
            file: file.to_owned(),
            connection: spec
                .connection
                .unwrap_or(ConnectionSpec::Named(ConnectionName::Live)),
            connection_bits: spec.connection_bits.unwrap_or(0),
            flag: spec.flag.unwrap_or(0),
            memory,
            raw: RawArgs {
                raw: spec.connection_bits.is_some_and(|b| b != 0),
                rsvd: spec.rsvd,
                rep_count: spec.rep_count,
                rep_start: spec.rep_start,
                var_header: spec.var_header,
                control_bits: spec.control_bits,
                input_offset: spec.input_offset,
            },
            world,
            untestable: spec.untestable,
            expect,
        });
    }
    Ok(out)
}

/// The built-in cases.
///
/// # Errors
/// Never for the shipped files (a test parses them); a message naming the file otherwise.
pub fn builtin_cases() -> Result<Vec<Case>, InputFileError> {
    let mut cases = Vec::new();
    for (file, text) in BUILTIN_CASES {
        cases.extend(parse_cases(text, file, None)?);
    }
    Ok(cases)
}

/// Reads case files given on the command line.
///
/// # Errors
/// A file cannot be read or is invalid (exit 2).
pub fn cases_from_files(files: &[PathBuf]) -> Result<Vec<Case>, InputFileError> {
    let mut cases: Vec<Case> = Vec::new();
    // Case name → index in `cases`: a lookup per case, not a scan of every case before it.
    let mut names: HashMap<String, usize> = HashMap::new();
    for path in files {
        let file = path.display().to_string();
        let text = hvmodel::input::read_input_file(path)
            .map_err(|e| InputFileError::CaseFile(format!("case file {file}: {e}")))?;
        let parsed = parse_cases(&text, &file, path.parent())?;
        if parsed.is_empty() {
            return Err(InputFileError::CaseFile(format!(
                "case file {file}: it has no cases: add at least one [[case]] table (format: \
                 docs/CLI.md, \"Conformance case files\"), or leave the file out"
            )));
        }
        for case in parsed {
            if let Some(other) = names.get(&case.name).and_then(|&i| cases.get(i)) {
                return Err(InputFileError::CaseFile(format!(
                    "{file}: case `{}`: key `name`: already used in {}",
                    case.name, other.file
                )));
            }
            names.insert(case.name.clone(), cases.len());
            cases.push(case);
        }
    }
    Ok(cases)
}

/// What happened when a case ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The hypercall returned this status.
    Status(HvStatus),
    /// The case did not run, and why.
    Skipped(String),
}

/// Where cases run.
pub enum Runner<'a> {
    /// A fresh model per case, of the case's world or `default_world`, under `profile`.
    Model {
        /// The `--world` (or built-in) world.
        default_world: &'a World,
        /// The profile the model runs as.
        profile: Profile,
    },
    /// The installed driver (`--backend device`); `connection` is `--connection`.
    InstalledDriver {
        /// The open driver.
        client: &'a mut Client,
        /// The live connection, if given.
        connection: Option<u32>,
    },
}

impl Runner<'_> {
    /// Runs one case.
    ///
    /// # Errors
    /// A case world that does not parse (exit 2); a missing environment is a skip, not an error.
    pub fn run(&mut self, case: &Case) -> Result<Observation, AppError> {
        if let Some(reason) = &case.untestable {
            return Ok(Observation::Skipped(reason.clone()));
        }
        match self {
            Self::Model {
                default_world,
                profile,
            } => {
                let world = match &case.world {
                    CaseWorld::Default => (*default_world).clone(),
                    CaseWorld::Required(path, text) | CaseWorld::ModelOnly(path, text) => {
                        World::from_toml_str(text, path)
                            .map_err(|e| AppError::from(InputFileError::World(e)))?
                    }
                };
                let live = world.connections().first().map(|c| c.id);
                let mut client = model_client(world, *profile);
                issue(&mut client, case, live)
            }
            Self::InstalledDriver { client, connection } => {
                if let CaseWorld::Required(path, _) = &case.world {
                    return Ok(Observation::Skipped(format!(
                        "needs the model world {path}; the device's world cannot be arranged"
                    )));
                }
                issue(client, case, *connection)
            }
        }
    }
}

/// The model of `profile` over `world`, behind the driver's core: the oracle of conformance.
/// `conform` runs each case on it (model backend), and `fuzz` sends every request to it as
/// well as to the backend, taking its status for each call as the profile's expectation
/// (docs/CLI.md, `fuzz`).
#[must_use]
pub fn model_client(world: World, profile: Profile) -> Client {
    Client::new(
        Box::new(ModelTransport::new(world.with_profile(profile))),
        BackendKind::Model,
    )
}

/// The world the oracle models for the device (`fuzz`): the built-in world's caller (a
/// Generation 2 guest with SignalEvents) and one event port of `flag_count` flags on SINT 2 of
/// a host VP that can take events, for each live connection; no other connection exists.
///
/// # Errors
/// Never for ids below 2^24 and flag counts 1 to 2048; a message otherwise (exit 2).
pub fn device_world(live: &[u32], flag_count: u16, allow_raw: bool) -> Result<World, AppError> {
    use std::fmt::Write as _;
    let mut text = format!(
        "[driver]\nallow_raw_hypercalls = {allow_raw}\n\
         [caller]\nprivilege_mask = {:#x}\nsynic = true\nvtl = 0\n\
         [[partition]]\nid = 1\nname = \"host\"\n[[partition.vp]]\nindex = 0\n",
        hvmodel::world::GEN2_PRIVILEGE_MASK.0
    );
    for (port, id) in (1u32..).zip(live) {
        let _ = write!(
            text,
            "[[port]]\nid = {port}\npartition = 1\ntarget_vp = 0\nsint = 2\nbase_flag = 0\n\
             flag_count = {flag_count}\n[[connection]]\nid = {id}\nport = {port}\n"
        );
    }
    World::from_toml_str(&text, "the oracle's device world")
        .map_err(|e| UsageError::Unmodellable(e).into())
}

fn issue(client: &mut Client, case: &Case, live: Option<u32>) -> Result<Observation, AppError> {
    let id = match case.connection {
        ConnectionSpec::Id(id) => id,
        ConnectionSpec::Named(ConnectionName::Unknown) => UNKNOWN_CONNECTION,
        ConnectionSpec::Named(ConnectionName::Live) => match live {
            Some(id) => id,
            None => {
                return Ok(Observation::Skipped(
                    "needs a live connection: give --connection ID (device) or a world with a \
                     connection (model)"
                        .to_owned(),
                ));
            }
        },
    } | case.connection_bits;
    let convention = call::convention(case.memory);
    let operation = match call::plan(id, case.flag, convention, &case.raw) {
        Ok(operation) => operation,
        Err(e) => return Ok(Observation::Skipped(format!("cannot be issued: {e}"))),
    };
    match client.run(
        convention,
        case.raw.is_raw(),
        &[operation],
        None,
        &mut |_| {},
    ) {
        Ok(results) => Ok(results.first().map_or_else(
            || Observation::Skipped("the driver returned no result".to_owned()),
            |o| Observation::Status(o.first_hv_status()),
        )),
        Err(DriverError::Build(e)) => Err(DriverError::Build(e).into()),
        // The environment refused the call or the driver answered unusably: the case cannot
        // be observed here.
        Err(error) => Ok(Observation::Skipped(error.to_string())),
    }
}

/// The verdict of one case under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The firm expectation was met.
    Pass,
    /// The firm expectation was not met.
    Fail,
    /// Informational: compared, never fails.
    Info,
    /// Not run.
    Skip,
}

/// Compares an observation with an expectation.
#[must_use]
pub fn verdict(expected: Option<&Expectation>, observed: &Observation) -> Verdict {
    match (expected, observed) {
        (_, Observation::Skipped(_)) => Verdict::Skip,
        (Some(e), Observation::Status(s)) if e.firm => {
            if e.status == Some(*s) {
                Verdict::Pass
            } else {
                Verdict::Fail
            }
        }
        _ => Verdict::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cases_parse_and_cover_every_profile() {
        let cases = builtin_cases().unwrap();
        assert!(cases.len() >= 12);
        for case in &cases {
            for profile in Profile::ALL {
                assert!(
                    case.expectation(profile).is_some(),
                    "{} {profile}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn errors_name_file_case_and_key() {
        let err = parse_cases(
            "[[case]]\nname = \"a\"\nrow = \"r\"\nexpect = { tlfs = \"NOPE\" }\n",
            "f.toml",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&err, InputFileError::CaseFile(m) if m.starts_with("f.toml: case `a`: key `expect.tlfs`: `NOPE`"))
        );
        let err = parse_cases(
            "[[case]]\nname = \"a\"\nrow = \"r\"\nbogus = 1\nexpect = { tlfs = \"SUCCESS\" }\n",
            "f.toml",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&err, InputFileError::CaseFile(m) if m.starts_with("f.toml: ") && m.contains("bogus"))
        );
        let err = parse_cases("[[case]]\nname = \"a\"\nrow = \"r\"\nworld = \"nowhere.toml\"\nexpect = { tlfs = \"SUCCESS\" }\n", "f.toml", None)
            .unwrap_err();
        assert!(
            matches!(&err, InputFileError::CaseFile(m) if m.starts_with("f.toml: case `a`: key `world`: world `nowhere.toml`"))
        );
        let twice = "[[case]]\nname = \"a\"\nrow = \"r\"\nexpect = { tlfs = \"SUCCESS\" }\n";
        let err = parse_cases(&format!("{twice}{twice}"), "f.toml", None).unwrap_err();
        assert!(matches!(&err, InputFileError::CaseFile(m) if m.contains("used twice")));
    }

    /// The device runs every case that does not need a model world, against whatever live
    /// connection `--connection` names. A firm expectation of such a case must therefore hold
    /// for any working connection, not only for the ports of the model world it names — here
    /// one whose port has a single flag at the top of the SINT's range (TLFS FlagCount may be
    /// 1), with raw hypercalls allowed so every raw case runs.
    #[test]
    fn firm_expectations_of_device_run_cases_hold_for_any_live_connection() {
        let world = World::from_toml_str(
            "[driver]\nallow_raw_hypercalls = true\n\
             [[partition]]\nid = 9\n[[partition.vp]]\nindex = 3\n\
             [[port]]\nid = 77\npartition = 9\ntarget_vp = 3\nsint = 15\nbase_flag = 2047\n\
             flag_count = 1\n\
             [[connection]]\nid = 0x00AB_CDEF\nport = 77\n",
            "one-flag-live-connection.toml",
        )
        .unwrap();
        let mut failures = Vec::new();
        for case in builtin_cases().unwrap() {
            if matches!(case.world, CaseWorld::Required(..)) || case.untestable.is_some() {
                continue; // the device skips these
            }
            let device_view = Case {
                world: CaseWorld::Default,
                ..case.clone()
            };
            for profile in Profile::ALL {
                let mut runner = Runner::Model {
                    default_world: &world,
                    profile,
                };
                let observed = runner.run(&device_view).unwrap();
                assert!(matches!(observed, Observation::Status(_)), "{}", case.name);
                if verdict(case.expectation(profile), &observed) == Verdict::Fail {
                    failures.push(format!("{} {profile}: {observed:?}", case.name));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn verdicts() {
        let firm = Expectation {
            status: Some(HvStatus::SUCCESS),
            firm: true,
            note: None,
        };
        let info = Expectation {
            status: Some(HvStatus::SUCCESS),
            firm: false,
            note: None,
        };
        let ok = Observation::Status(HvStatus::SUCCESS);
        let bad = Observation::Status(HvStatus::INVALID_PORT_ID);
        assert_eq!(verdict(Some(&firm), &ok), Verdict::Pass);
        assert_eq!(verdict(Some(&firm), &bad), Verdict::Fail);
        assert_eq!(verdict(Some(&info), &bad), Verdict::Info);
        assert_eq!(verdict(None, &ok), Verdict::Info);
        assert_eq!(
            verdict(Some(&firm), &Observation::Skipped(String::new())),
            Verdict::Skip
        );
    }
}

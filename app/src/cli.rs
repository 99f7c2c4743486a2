//! The command line (clap derive), in the command structure of docs/CLI.md and the contract of
//! docs/ARCHITECTURE.md: `hvsignal [--backend device|model] [--world FILE] [--json] COMMAND`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hvmodel::Profile;

use crate::numbers;

/// Issue Hyper-V's HvCallSignalEvent (call code 0x005D) through the hvsignal driver, or
/// against the built-in reference model of the hypervisor.
#[derive(Parser, Debug)]
#[command(name = "hvsignal", version, about, long_about = None, max_term_width = 100)]
#[command(disable_help_subcommand = true)]
#[command(
    after_help = "Numbers are decimal (8193), hexadecimal (0x2001) or binary (0b1).\n\
Exit status: 0 every hypercall returned HV_STATUS_SUCCESS; 1 a hypercall returned another \
status (scan: no live connection found; conform: a firm mismatch); 2 bad usage or input file; \
3 environment missing (no driver, no hypervisor, access denied)."
)]
pub struct Cli {
    /// Where hypercalls go, and the model's world. Also accepted after the command, by the
    /// commands that use them.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Print one JSON document on stdout instead of tables, errors included (schemas:
    /// docs/CLI.md).
    #[arg(long, global = true, help_heading = GLOBAL_OPTIONS)]
    pub json: bool,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the options every command takes.
pub const GLOBAL_OPTIONS: &str = "Global options";

/// `--backend` and `--world`: given before the command, or after it to a command that issues
/// hypercalls or reads the driver (all but `status`).
#[derive(Args, Debug, Default, Clone)]
pub struct TargetArgs {
    /// Where hypercalls go: the hvsignal driver (Windows) or the in-process model of the
    /// hypervisor. [default: device on Windows, model elsewhere; model when --world is given]
    #[arg(long, value_enum, value_name = "BACKEND", help_heading = GLOBAL_OPTIONS)]
    pub backend: Option<BackendKind>,

    /// World file (TOML) the model simulates instead of its built-in default world.
    #[arg(long, value_name = "FILE", help_heading = GLOBAL_OPTIONS)]
    pub world: Option<PathBuf>,
}

impl TargetArgs {
    /// These options given before the command, overridden by those given after it.
    ///
    /// # Errors
    /// The same option given on both sides with different values.
    pub fn merged(&self, after: Option<&Self>) -> Result<Self, String> {
        let Some(after) = after else {
            return Ok(self.clone());
        };
        if let (Some(a), Some(b)) = (self.backend, after.backend)
            && a != b
        {
            return Err(format!(
                "--backend {} before the command and --backend {} after it: give it once",
                a.name(),
                b.name()
            ));
        }
        if let (Some(a), Some(b)) = (&self.world, &after.world)
            && a != b
        {
            return Err(format!(
                "--world {} before the command and --world {} after it: give it once",
                a.display(),
                b.display()
            ));
        }
        Ok(Self {
            backend: after.backend.or(self.backend),
            world: after.world.clone().or_else(|| self.world.clone()),
        })
    }
}

/// A backend.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum BackendKind {
    /// The hvsignal driver, through its device interface (Windows only).
    Device,
    /// The reference model of the hypervisor, in process (any OS); reports say "simulated".
    Model,
}

impl BackendKind {
    /// The name used in reports and JSON.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Model => "model",
        }
    }

    /// The default on this OS: `device` on Windows, `model` elsewhere.
    #[must_use]
    pub const fn platform_default() -> Self {
        if cfg!(windows) {
            Self::Device
        } else {
            Self::Model
        }
    }
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Hypervisor, privileges (SignalEvents highlighted), features, CPU vendor and instruction,
    /// driver and protocol version, raw-call policy.
    Info(InfoArgs),
    /// Issue HvCallSignalEvent and print the status, its meaning, counts and timing.
    Signal(SignalArgs),
    /// Measure the latency of HvCallSignalEvent: min, median, p90, p99, max, calls/s.
    Bench(BenchArgs),
    /// Probe a range of connection ids and summarise which ids answered what.
    ///
    /// Every live connection found is really signalled (its flag set, its SINT raised).
    /// Exit status: 0 at least one live connection found, 1 none found.
    Scan(ScanArgs),
    /// Decode an HV_STATUS value (or name): its TLFS name and meaning. Needs no backend.
    Status(StatusArgs),
    /// Run conformance cases and compare observed statuses with each profile's expectations.
    Conform(ConformArgs),
    /// Issue seeded pseudo-random SignalEvent calls, weighted toward boundaries, and report
    /// every status that differs from the chosen profile's model (docs/CLI.md, `fuzz`).
    ///
    /// Every live connection hit is really signalled. Exit status: 0 no finding, 1 findings.
    Fuzz(FuzzArgs),
    /// Print the help of hvsignal or of a command.
    Help(HelpArgs),
}

impl Command {
    /// The command's name, as typed.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Info(_) => "info",
            Self::Signal(_) => "signal",
            Self::Bench(_) => "bench",
            Self::Scan(_) => "scan",
            Self::Status(_) => "status",
            Self::Conform(_) => "conform",
            Self::Fuzz(_) => "fuzz",
            Self::Help(_) => "help",
        }
    }

    /// `--backend` / `--world` given after the command, for the commands that take them.
    #[must_use]
    pub const fn target(&self) -> Option<&TargetArgs> {
        match self {
            Self::Info(a) => Some(&a.target),
            Self::Signal(a) => Some(&a.target),
            Self::Bench(a) => Some(&a.target),
            Self::Scan(a) => Some(&a.target),
            Self::Conform(a) => Some(&a.target),
            Self::Fuzz(a) => Some(&a.target),
            Self::Status(_) | Self::Help(_) => None,
        }
    }
}

/// `info` options.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `help` options.
#[derive(Args, Debug)]
pub struct HelpArgs {
    /// The command whose help to print; without it, hvsignal's.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `signal` options.
#[derive(Args, Debug)]
pub struct SignalArgs {
    /// Connection id (24 bits; up to 32 bits with --raw). Repeat for several operations.
    #[arg(short = 'c', long = "connection", value_name = "ID", required = true,
          value_parser = numbers::connection_id)]
    pub connections: Vec<u32>,

    /// Flag number, relative to the port's base flag.
    #[arg(short = 'f', long, value_name = "FLAG", default_value = "0",
          value_parser = numbers::flag_number)]
    pub flag: u16,

    /// Issue each operation N times (timing is reported for N > 1).
    #[arg(short = 'n', long = "calls", visible_alias = "repeat", value_name = "N",
          default_value = "1", value_parser = numbers::call_count)]
    pub repeat: u32,

    /// Use the memory (slow) convention: the 8 input bytes in the driver's input page.
    #[arg(long)]
    pub memory: bool,

    /// Print the registers and input bytes that would be issued; issue nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Model backend: also print what the receiving side saw — the event flag newly set or
    /// already set, the SINT raised or not, on which partition, VP and SINT.
    #[arg(long, conflicts_with = "dry_run")]
    pub show_receiver: bool,

    /// Raw-mode fields (need a driver or world that allows raw hypercalls).
    #[command(flatten)]
    pub raw: RawArgs,

    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Raw-mode options: fields a well-formed SignalEvent keeps zero.
#[derive(Args, Debug, Default, Clone)]
#[command(
    next_help_heading = "Raw mode (needs AllowRawHypercalls=1, or allow_raw_hypercalls in the world)"
)]
pub struct RawArgs {
    /// Raw mode: allow connection ids with bits 31:24 set. Implied by every option below.
    #[arg(long)]
    pub raw: bool,

    /// RsvdZ, input bits 63:48 (16 bits).
    #[arg(long, value_name = "N", value_parser = numbers::rsvd_z)]
    pub rsvd: Option<u16>,

    /// Rep count, control bits 43:32 (12 bits).
    #[arg(long, value_name = "N", value_parser = numbers::rep_field)]
    pub rep_count: Option<u16>,

    /// Rep start index, control bits 59:48 (12 bits).
    #[arg(long, value_name = "N", value_parser = numbers::rep_field)]
    pub rep_start: Option<u16>,

    /// Variable header size in 8-byte units, control bits 26:17 (10 bits).
    #[arg(long, value_name = "N", value_parser = numbers::variable_header)]
    pub var_header: Option<u16>,

    /// Extra control-word bits, given in place and OR-ed into RCX: any of bits 63:17, e.g. the
    /// reserved bits 30:27, 47:44, 63:60 or the nested bit 31 (0x1000000000000000 is bit 60).
    #[arg(long, value_name = "BITS", value_parser = numbers::any_u64)]
    pub control_bits: Option<u64>,

    /// Memory convention: byte offset of the input in the driver's input page (0 to 4095;
    /// not a multiple of 8 makes the GPA misaligned, above 4088 makes it cross the page).
    #[arg(long, value_name = "N", value_parser = numbers::input_offset, requires = "memory")]
    pub input_offset: Option<u16>,
}

impl RawArgs {
    /// True when any raw option is given (raw mode).
    #[must_use]
    pub fn is_raw(&self) -> bool {
        self.raw
            || self.rsvd.is_some()
            || self.rep_count.is_some()
            || self.rep_start.is_some()
            || self.var_header.is_some()
            || self.control_bits.is_some()
            || self.input_offset.is_some()
    }
}

/// `bench` options.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Connection id (24 bits).
    #[arg(short = 'c', long = "connection", value_name = "ID",
          value_parser = numbers::connection_id)]
    pub connection: u32,

    /// Flag number.
    #[arg(short = 'f', long, value_name = "FLAG", default_value = "0",
          value_parser = numbers::flag_number)]
    pub flag: u16,

    /// Number of calls to time (split into several requests when large).
    #[arg(short = 'n', long, visible_alias = "repeat", value_name = "N", default_value = "10000",
          value_parser = numbers::call_count)]
    pub calls: u32,

    /// Use the memory (slow) convention.
    #[arg(long)]
    pub memory: bool,

    /// Estimate the quantiles from the driver's log-linear histograms (each within 0.79 % of
    /// exact) instead of every call's cycle count. Implied above 1000000 calls.
    #[arg(long, conflicts_with = "exact")]
    pub histogram: bool,

    /// Exact quantiles from every call's cycle count even above 1000000 calls (the program
    /// keeps 4 bytes per call).
    #[arg(long)]
    pub exact: bool,

    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `scan` options.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// First connection id of the range.
    #[arg(long, value_name = "A", value_parser = numbers::connection_id)]
    pub from: u32,

    /// Last connection id of the range (inclusive).
    #[arg(long, value_name = "B", value_parser = numbers::connection_id)]
    pub to: u32,

    /// Flag number signalled on every id.
    #[arg(short = 'f', long, value_name = "FLAG", default_value = "0",
          value_parser = numbers::flag_number)]
    pub flag: u16,

    /// Confirm a scan of more than 4096 ids.
    #[arg(long)]
    pub yes: bool,

    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `status` options.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// HV_STATUS value (decimal, 0x-hex, 0b-binary, 0 to 0xFFFF) or name
    /// (HV_STATUS_INVALID_PORT_ID, INVALID_PORT_ID).
    #[arg(value_name = "CODE")]
    pub code: String,
}

/// `conform` options.
#[derive(Args, Debug)]
pub struct ConformArgs {
    /// Case files (TOML) to run instead of the built-in set.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,

    /// tlfs, kvm, qemu, openvmm or xen: whose expectations to compare with; with the model
    /// backend the model also runs as this profile. [default: the world's profile (model), tlfs
    /// (device)]
    #[arg(long, value_name = "PROFILE", value_parser = profile)]
    pub profile: Option<Profile>,

    /// Compare with every profile (the model runs once per profile).
    #[arg(long, conflicts_with = "profile")]
    pub all_profiles: bool,

    /// Live connection id for cases that need one (device backend; the model takes it from the
    /// world and ignores this option).
    #[arg(short = 'c', long, value_name = "ID", value_parser = numbers::connection_id)]
    pub connection: Option<u32>,

    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `fuzz` options.
#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// Seed of the generator (64 bits) [default: from the clock; always printed].
    #[arg(long, value_name = "N", value_parser = numbers::any_u64, conflicts_with = "replay")]
    pub seed: Option<u64>,

    /// Number of calls to issue (with --replay: at most this many entries) [default: 1000].
    #[arg(short = 'n', long, value_name = "N", value_parser = numbers::iterations,
          conflicts_with = "duration")]
    pub iterations: Option<u64>,

    /// Issue calls for this long instead: 90s, 5m, 1h, 500ms (a plain number is seconds).
    #[arg(long, value_name = "D", value_parser = numbers::duration, conflicts_with = "replay")]
    pub duration: Option<std::time::Duration>,

    /// tlfs, kvm, qemu, openvmm or xen: whose model's answers every status is compared with.
    /// [default: the world's profile (model), tlfs (device); with --replay, the log's]
    #[arg(long, value_name = "PROFILE", value_parser = profile)]
    pub profile: Option<Profile>,

    /// Raw mode: also vary the fields a well-formed call keeps zero (needs raw hypercalls
    /// allowed).
    #[arg(long, conflicts_with = "replay")]
    pub raw: bool,

    /// A live connection id to aim at (repeatable); without it a quick scan of ids 0 to
    /// 0xFFFF finds them (and signals each one found).
    #[arg(short = 'c', long = "connection", value_name = "ID",
          value_parser = numbers::connection_id, conflicts_with = "replay")]
    pub connections: Vec<u32>,

    /// Device backend: the flag count assumed for every live connection's port (the model
    /// reads each port's from the world). [default: 16]
    #[arg(long, value_name = "N", value_parser = numbers::flag_count, conflicts_with = "replay")]
    pub flag_count: Option<u16>,

    /// Append every request's entries to FILE (a new file) and flush them to disk before the
    /// request is sent, so a crash loses nothing (format: docs/CLI.md, "Fuzz log").
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub log: Option<PathBuf>,

    /// Re-issue the entries of a fuzz log exactly, instead of generating calls.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// With --replay: start at the entry of this seed position.
    #[arg(long, value_name = "K", value_parser = numbers::any_u64, requires = "replay")]
    pub from: Option<u64>,

    /// Issue at most N calls per second (on average, checked before each request).
    #[arg(long, value_name = "N", value_parser = numbers::call_count)]
    pub max_rate: Option<u32>,

    /// `--backend`, `--world`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// clap parser: a profile name (`tlfs`, `kvm`, `qemu`, `openvmm`, `xen`).
///
/// # Errors
/// Any other name.
pub fn profile(text: &str) -> Result<Profile, String> {
    text.parse::<Profile>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod harness_check;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn raw_mode_is_implied_by_every_raw_field() {
        assert!(!RawArgs::default().is_raw());
        for raw in [
            RawArgs {
                raw: true,
                ..RawArgs::default()
            },
            RawArgs {
                rsvd: Some(0),
                ..RawArgs::default()
            },
            RawArgs {
                rep_count: Some(0),
                ..RawArgs::default()
            },
            RawArgs {
                rep_start: Some(0),
                ..RawArgs::default()
            },
            RawArgs {
                var_header: Some(0),
                ..RawArgs::default()
            },
            RawArgs {
                control_bits: Some(0),
                ..RawArgs::default()
            },
            RawArgs {
                input_offset: Some(0),
                ..RawArgs::default()
            },
        ] {
            assert!(raw.is_raw());
        }
    }

    #[test]
    fn profile_parser_names_the_allowed_values() {
        assert_eq!(profile("kvm"), Ok(Profile::Kvm));
        assert_eq!(
            profile("hyperv"),
            Err("unknown profile `hyperv`: allowed are tlfs, kvm, qemu, openvmm, xen".to_owned())
        );
    }
}

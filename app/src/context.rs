//! What every command gets: the chosen backend, the world file, output mode and colour; how it
//! opens its backend; and how its report comes out (a JSON document or a human report).

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use hvmodel::{Profile, World};

use crate::cli::{BackendKind, Cli};
use crate::client::Client;
use crate::exit::{AppError, InputFileError, UsageError};
use crate::report::{self, Document, Style, Text};
use crate::transport::model::{ModelTransport, ReceiverLog};

/// The global options, resolved.
#[derive(Debug)]
pub struct Context {
    /// The backend hypercalls go to.
    pub backend: BackendKind,
    /// The model's world file, if given.
    pub world: Option<PathBuf>,
    /// JSON instead of tables.
    pub json: bool,
    /// Colour for human output.
    pub style: Style,
}

impl Context {
    /// Resolves the global options: `--world` implies the model backend when `--backend` is
    /// not given, and is refused with `--backend device`.
    ///
    /// # Errors
    /// `--backend device` together with `--world`; an option given before and after the command
    /// with different values.
    pub fn from_cli(cli: &Cli) -> Result<Self, AppError> {
        let target = cli
            .target
            .merged(cli.command.target())
            .map_err(UsageError::ConflictingOptions)?;
        let backend = match (target.backend, &target.world) {
            (Some(BackendKind::Device), Some(world)) => {
                return Err(UsageError::ConflictingOptions(format!(
                    "--world {}: world files describe the model; they cannot be used with \
                     --backend device (use --backend model)",
                    world.display()
                ))
                .into());
            }
            (Some(kind), _) => kind,
            (None, Some(_)) => BackendKind::Model,
            (None, None) => BackendKind::platform_default(),
        };
        Ok(Self {
            backend,
            world: target.world,
            json: cli.json,
            style: Style::detect(),
        })
    }

    /// True for the model backend.
    #[must_use]
    pub fn simulated(&self) -> bool {
        self.backend == BackendKind::Model
    }

    /// Wraps a command's JSON body in the common envelope.
    #[must_use]
    pub fn document<'a, T: Serialize>(&self, command: &'a str, body: T) -> Document<'a, T> {
        Document {
            command,
            backend: self.backend.name(),
            simulated: self.simulated(),
            body,
        }
    }

    /// Prints a command's report: with `--json` its JSON document (`body` in the common
    /// envelope), else the human report `render` writes, under `banner` (the model's
    /// "simulated" line) when there is one. Every command's report comes out here or, for a
    /// report that streams, through [`Self::report_streaming`].
    ///
    /// # Errors
    /// Writing to stdout failed.
    pub fn report<T: Serialize>(
        &self,
        command: &str,
        banner: Option<String>,
        body: &T,
        render: impl FnOnce(&mut Text, Style),
    ) -> io::Result<()> {
        self.report_streaming(&mut io::stdout().lock(), command, banner, body, || {
            Ok::<_, io::Error>(|out: &mut dyn Write, style| {
                let mut text = Text::new();
                render(&mut text, style);
                text.write_to(out)
            })
        })
    }

    /// Writes a report to `out`, the one place that decides between the two forms: with
    /// `--json` the JSON document of `body` (whose serialisation may do the command's work as
    /// it goes, e.g. `scan`'s results), else `banner` and the human report. A human report is
    /// written from finished work: `prepare` does it (nothing is written when it fails) and
    /// returns the writer of the report.
    ///
    /// # Errors
    /// `prepare` failed, or writing did (what the JSON document had written before stays
    /// written).
    pub fn report_streaming<T, E, W>(
        &self,
        out: &mut dyn Write,
        command: &str,
        banner: Option<String>,
        body: &T,
        prepare: impl FnOnce() -> Result<W, E>,
    ) -> Result<(), E>
    where
        T: Serialize,
        E: From<io::Error>,
        W: FnOnce(&mut dyn Write, Style) -> io::Result<()>,
    {
        if self.json {
            return Ok(report::write_json(out, &self.document(command, body))?);
        }
        let write = prepare()?;
        let mut out = io::BufWriter::new(out);
        if let Some(banner) = banner {
            writeln!(out, "{banner}\n")?;
        }
        write(&mut out, self.style)?;
        Ok(out.flush()?)
    }
}

/// Where the CPU vendor of a dry run comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorSource {
    /// The model's world file (or built-in world).
    World,
    /// CPUID leaf 0 of this machine.
    Cpu,
}

/// The open backend of one command.
#[derive(Debug)]
pub struct Session {
    /// The driver (or its model).
    pub client: Client,
    /// The model's world, for the model backend.
    pub world: Option<LoadedWorld>,
}

/// A world the model runs.
#[derive(Debug, Clone)]
pub struct LoadedWorld {
    /// The world (with any profile override applied).
    pub world: World,
    /// `built-in` or the file's path.
    pub source: String,
}

impl Context {
    /// The world of the model backend: `--world FILE` or the built-in one, under `profile` when
    /// given.
    ///
    /// # Errors
    /// The world file cannot be read or is invalid (exit 2, naming file, line and key).
    pub fn load_world(&self, profile: Option<Profile>) -> Result<LoadedWorld, AppError> {
        let (world, source) = match &self.world {
            Some(path) => (
                World::from_file(path).map_err(InputFileError::World)?,
                path.display().to_string(),
            ),
            None => (World::builtin(), "built-in".to_owned()),
        };
        let world = match profile {
            Some(p) => world.with_profile(p),
            None => world,
        };
        Ok(LoadedWorld { world, source })
    }

    /// Opens the backend: the model of the world (profile overridden when given) or the device.
    ///
    /// # Errors
    /// A bad world file (exit 2); no device, no access, or not Windows (exit 3).
    pub fn open(&self, profile: Option<Profile>) -> Result<Session, AppError> {
        match self.backend {
            BackendKind::Model => {
                let loaded = self.load_world(profile)?;
                let transport = ModelTransport::new(loaded.world.clone());
                Ok(Session {
                    client: Client::new(Box::new(transport), BackendKind::Model),
                    world: Some(loaded),
                })
            }
            BackendKind::Device => Ok(Session {
                client: Client::new(crate::transport::open_driver()?, BackendKind::Device),
                world: None,
            }),
        }
    }

    /// Opens the model of the world, recording what the receiving side sees of every call
    /// (`signal --show-receiver`).
    ///
    /// # Errors
    /// The device backend (exit 2: its receiver is the host, which hvsignal cannot see); a bad
    /// world file (exit 2).
    pub fn open_recording(&self, option: &str) -> Result<(Session, ReceiverLog), AppError> {
        if self.backend != BackendKind::Model {
            return Err(UsageError::ConflictingOptions(format!(
                "{option} needs the model backend: on the device the receiving side is the host \
                 (or another partition), which hvsignal cannot see; use --backend model (with \
                 --world FILE to choose the receiver)"
            ))
            .into());
        }
        let loaded = self.load_world(None)?;
        let (transport, log) = ModelTransport::recording(loaded.world.clone());
        Ok((
            Session {
                client: Client::new(Box::new(transport), BackendKind::Model),
                world: Some(loaded),
            },
            log,
        ))
    }

    /// The line every human report from the model starts with, `None` for the device.
    #[must_use]
    pub fn banner(&self, session: &Session) -> Option<String> {
        session.world.as_ref().map(|w| {
            self.style.warn(&format!(
                "simulated: model backend, world {}, profile {}",
                w.source,
                w.world.profile()
            ))
        })
    }
}

impl Context {
    /// The CPU vendor a dry run shows the instruction for: the world's (model) or this
    /// machine's (device).
    ///
    /// # Errors
    /// The world file cannot be read.
    pub fn dry_run_vendor(&self) -> Result<Option<(hvcall::CpuVendor, VendorSource)>, AppError> {
        match self.backend {
            BackendKind::Model => {
                let loaded = self.load_world(None)?;
                Ok(Some((loaded.world.vendor(), VendorSource::World)))
            }
            BackendKind::Device => Ok(local_cpu_vendor().map(|v| (v, VendorSource::Cpu))),
        }
    }
}

/// This machine's CPU vendor from CPUID leaf 0 (legal in user mode), where the CPU has CPUID.
#[must_use]
#[allow(
    clippy::unnecessary_wraps,
    reason = "None on CPUs without CPUID (other architectures)"
)]
pub fn local_cpu_vendor() -> Option<hvcall::CpuVendor> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(hvcall::CpuVendor::from_leaf0(hvcall::native::cpuid(0)))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

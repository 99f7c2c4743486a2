//! What every command gets: the chosen backend, the world file, output mode and colour.

use std::path::PathBuf;

use serde::Serialize;

use crate::cli::{BackendKind, Cli};
use crate::exit::AppError;
use crate::report::{Document, Style};

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
    /// `--backend device` together with `--world`.
    pub fn from_cli(cli: &Cli) -> Result<Self, AppError> {
        let backend = match (cli.backend, &cli.world) {
            (Some(BackendKind::Device), Some(world)) => {
                return Err(AppError::Usage(format!(
                    "--world {}: world files describe the model; they cannot be used with \
                     --backend device (use --backend model)",
                    world.display()
                )));
            }
            (Some(kind), _) => kind,
            (None, Some(_)) => BackendKind::Model,
            (None, None) => BackendKind::platform_default(),
        };
        Ok(Self {
            backend,
            world: cli.world.clone(),
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
}

impl Context {
    /// The CPU vendor a dry run shows the instruction for: the world's (model) or this
    /// machine's (device).
    ///
    /// # Errors
    /// The world file cannot be read.
    pub fn dry_run_vendor(
        &self,
    ) -> Result<Option<(hvcall::CpuVendor, crate::commands::signal::VendorSource)>, AppError> {
        use crate::commands::signal::VendorSource;
        match self.backend {
            BackendKind::Model => Ok(None),
            BackendKind::Device => Ok(local_cpu_vendor().map(|v| (v, VendorSource::Cpu))),
        }
    }
}

/// This machine's CPU vendor from CPUID leaf 0 (legal in user mode), where the CPU has CPUID.
#[must_use]
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

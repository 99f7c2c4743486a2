//! Build script of the KMDF driver package.
//!
//! On a Windows host with the WDK it configures the kernel-mode binary build (linker flags,
//! libraries, `FxDriverEntry`). Everywhere else it does nothing: the driver crate is empty off
//! Windows, and wdk-build cannot even compile on other hosts.

#[cfg(windows)]
fn main() -> Result<(), wdk_build::ConfigError> {
    wdk_build::configure_wdk_binary_build()
}

#[cfg(not(windows))]
fn main() {}

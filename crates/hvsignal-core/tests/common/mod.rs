//! Test support: readiness verdicts, CPUID scripts and `IoBuffers` implementations; the scripted
//! primitive is the one shared through `hvsignal-test-support`.
#![allow(dead_code, reason = "each test file uses a different part")]

use hvcall::{CpuVendor, HypercallMsr, Readiness};
use hvsignal_core::{IoBuffers, NtStatus};

#[allow(unused_imports, reason = "each test file uses a different part")]
pub use hvsignal_test_support::scripted::{PAGE_GPA, Scripted, bare_metal_cpuid, hyperv_cpuid};

/// What the driver finds on a Hyper-V guest with `vendor`'s CPU: [`hyperv_cpuid`], the guest OS
/// registered and hypercalls enabled.
pub fn ready(vendor: CpuVendor) -> Readiness {
    Readiness::assess(hyperv_cpuid(vendor), |msr| match msr {
        HypercallMsr::GuestOsId => 0x0001_040A_0000_65F4,
        HypercallMsr::Hypercall => 0x1001,
    })
}

/// What the driver finds on bare metal: no hypervisor, so no MSR is read.
pub fn bare_metal() -> Readiness {
    Readiness::assess(bare_metal_cpuid, |msr| panic!("{msr:?} read on bare metal"))
}

/// Separate input and output buffers (what a test or the model backend passes).
pub struct Buffers {
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub input_reads: usize,
    pub output_reads: usize,
}

impl Buffers {
    pub fn new(input: Vec<u8>, output_len: usize) -> Self {
        Self {
            input,
            output: vec![0xA5; output_len],
            input_reads: 0,
            output_reads: 0,
        }
    }
}

impl IoBuffers for Buffers {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        self.input_reads += 1;
        Ok(&self.input)
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        self.output_reads += 1;
        Ok(&mut self.output)
    }
}

/// METHOD_BUFFERED: one system buffer of max(input, output) bytes holding the input first and
/// receiving the output.
pub struct SystemBuffer {
    pub buffer: Vec<u8>,
    pub input_len: usize,
    pub output_len: usize,
}

impl SystemBuffer {
    pub fn new(input: &[u8], output_len: usize) -> Self {
        let mut buffer = vec![0u8; input.len().max(output_len)];
        buffer[..input.len()].copy_from_slice(input);
        Self {
            buffer,
            input_len: input.len(),
            output_len,
        }
    }
}

impl IoBuffers for SystemBuffer {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        Ok(&self.buffer[..self.input_len])
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        Ok(&mut self.buffer[..self.output_len])
    }
}

/// Buffers whose retrieval fails with the given statuses (as WDF's retrieve calls can).
pub struct Failing {
    pub input: Result<Vec<u8>, NtStatus>,
    pub output: Result<Vec<u8>, NtStatus>,
}

impl IoBuffers for Failing {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        self.input.as_deref().map_err(|s| *s)
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        self.output.as_deref_mut().map_err(|s| *s)
    }
}

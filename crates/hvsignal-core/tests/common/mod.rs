//! Test support: a primitive with scripted results and cycle counts, CPUID scripts, and
//! `IoBuffers` implementations.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(
    clippy::cast_possible_truncation,
    reason = "offsets are checked below the page size"
)]

use std::cell::Cell;

use hvcall::{
    CpuVendor, CpuidResult, HypercallMsr, HypercallPrimitive, InputPage, PAGE_SIZE, Readiness,
};
use hvsignal_core::{IoBuffers, NtStatus};

/// GPA of the scripted input page.
pub const PAGE_GPA: u64 = 0x0012_3000;

/// A primitive that returns scripted RAX values, takes scripted cycle counts, and records every
/// call and (memory convention) the 8 bytes it would read at the input GPA.
pub struct Scripted {
    /// RAX of call `i` is `results[i % len]` (0 when empty).
    pub results: Vec<u64>,
    /// Call `i` takes `cycles[i % len]` cycles (0 when empty).
    pub cycles: Vec<u64>,
    /// Every call's (RCX, RDX, R8).
    pub calls: Vec<(u64, u64, u64)>,
    /// For memory-convention calls: the bytes at RDX in the page (only those inside it).
    pub inputs_read: Vec<Vec<u8>>,
    /// The page, when the primitive has one.
    pub page: Option<Box<[u8; PAGE_SIZE]>>,
    /// The TSC frequency reported.
    pub tsc_hz: Option<u64>,
    clock: Cell<u64>,
}

impl Scripted {
    /// Every call succeeds and takes `cycles` cycles; a page is present.
    pub fn new(results: Vec<u64>, cycles: Vec<u64>) -> Self {
        Self {
            results,
            cycles,
            calls: Vec::new(),
            inputs_read: Vec::new(),
            page: Some(Box::new([0; PAGE_SIZE])),
            tsc_hz: Some(2_000_000_000),
            clock: Cell::new(1_000_000),
        }
    }

    /// Always SUCCESS, 100 cycles.
    pub fn succeeding() -> Self {
        Self::new(vec![0], vec![100])
    }

    /// Without an input page.
    pub fn without_page(mut self) -> Self {
        self.page = None;
        self
    }
}

impl HypercallPrimitive for Scripted {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        let i = self.calls.len();
        self.calls.push((rcx, rdx, r8));
        if rcx & (1 << 16) == 0 {
            let seen = match (&self.page, rdx.checked_sub(PAGE_GPA)) {
                (Some(page), Some(offset)) if offset < PAGE_SIZE as u64 => {
                    let offset = offset as usize;
                    page[offset..(offset + 8).min(PAGE_SIZE)].to_vec()
                }
                _ => Vec::new(),
            };
            self.inputs_read.push(seen);
        }
        if !self.cycles.is_empty() {
            let d = self.cycles[i % self.cycles.len()];
            self.clock.set(self.clock.get() + d);
        }
        if self.results.is_empty() {
            0
        } else {
            self.results[i % self.results.len()]
        }
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        hyperv_cpuid(CpuVendor::Intel)(leaf)
    }

    fn timestamp(&self) -> u64 {
        self.clock.get()
    }

    fn input_page(&mut self) -> Option<InputPage<'_>> {
        self.page.as_mut().map(|bytes| InputPage {
            bytes,
            gpa: PAGE_GPA,
        })
    }

    fn tsc_frequency_hz(&self) -> Option<u64> {
        self.tsc_hz
    }
}

/// CPUID of a Hyper-V guest (`Microsoft Hv`, `Hv#1`, SignalEvents privilege) on `vendor`.
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

/// CPUID of a Hyper-V guest with `vendor`'s CPU.
pub fn hyperv_cpuid(vendor: CpuVendor) -> impl Fn(u32) -> CpuidResult {
    move |leaf| match leaf {
        0 => {
            let [ebx, edx, ecx] = vendor.leaf0_registers();
            CpuidResult {
                eax: 0x16,
                ebx,
                ecx,
                edx,
            }
        }
        1 => CpuidResult {
            eax: 0x000A_0652,
            ebx: 0,
            ecx: 0xFEDA_3203,
            edx: 0x178B_FBFF,
        },
        0x4000_0000 => {
            let [ebx, ecx, edx] = hvcall::cpuid::MICROSOFT_HV_SIGNATURE;
            CpuidResult {
                eax: 0x4000_000B,
                ebx,
                ecx,
                edx,
            }
        }
        0x4000_0001 => CpuidResult {
            eax: hvcall::cpuid::HV1_INTERFACE_SIGNATURE,
            ..CpuidResult::default()
        },
        0x4000_0003 => CpuidResult {
            eax: 0x0000_2E7F,
            ebx: 0x0000_0030, // PostMessages, SignalEvents
            ecx: 0,
            edx: 0x0000_0100,
        },
        leaf @ 0x4000_0002..=0x4000_0006 => CpuidResult {
            eax: leaf,
            ebx: leaf ^ 1,
            ecx: leaf ^ 2,
            edx: leaf ^ 3,
        },
        _ => CpuidResult::default(),
    }
}

/// CPUID of bare metal: no hypervisor bit, no hypervisor leaves.
pub fn bare_metal_cpuid(leaf: u32) -> CpuidResult {
    match leaf {
        0 => {
            let [ebx, edx, ecx] = CpuVendor::Intel.leaf0_registers();
            CpuidResult {
                eax: 0x16,
                ebx,
                ecx,
                edx,
            }
        }
        1 => CpuidResult {
            eax: 0x000A_0652,
            ebx: 0,
            ecx: 0x7EDA_3203,
            edx: 0x178B_FBFF,
        },
        _ => CpuidResult::default(),
    }
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

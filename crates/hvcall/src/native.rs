//! The real hypercall instruction (x86_64).
//!
//! Legal only at CPL 0 (the TLFS raises #UD otherwise), so only the kernel driver constructs a
//! [`NativeHypercall`]. On Linux this module is compiled and linted in every CI run but never
//! executed.
//!
//! Register use (docs/HYPERCALL.md, Registers the hypervisor writes): the hypervisor writes only RAX
//! for a simple fast call, but the asm declares RCX, RDX, R8–R11 and the flags clobbered as
//! well. That is a superset of the TLFS guarantee and matches the Microsoft x64 volatile set,
//! so a hypervisor that is looser than the TLFS (or a hypercall page that is a normal `call`)
//! still cannot corrupt the caller's state.

use core::arch::asm;
use core::arch::x86_64::{__cpuid, _mm_lfence, _rdtsc};

use crate::cpuid::{CpuidResult, HV_X64_MSR_TSC_FREQUENCY, HypercallInstruction, HypervisorCpuid};
use crate::primitive::{HypercallPrimitive, InputPage, PAGE_SIZE};

/// Executes CPUID. Available in user mode too, so it is usable for detection everywhere.
#[must_use]
pub fn cpuid(leaf: u32) -> CpuidResult {
    // SAFETY: CPUID exists on every x86_64 processor and has no side effects. (`__cpuid` is a
    // safe function on current toolchains and `unsafe` on older ones; the block serves both.)
    #[allow(unused_unsafe)]
    let r = unsafe { __cpuid(leaf) };
    CpuidResult {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// Reads the TSC after all earlier instructions have completed (LFENCE; RDTSC), so a
/// measurement does not start before the work before it is done.
#[must_use]
pub fn timestamp() -> u64 {
    // SAFETY: LFENCE has no preconditions on x86_64 (SSE2 is part of the baseline).
    unsafe { _mm_lfence() };
    // SAFETY: RDTSC is allowed at CPL 0 and, unless CR4.TSD is set, at CPL 3.
    unsafe { _rdtsc() }
}

/// The memory-convention input page the driver allocated for this primitive.
pub struct NativeInputPage {
    page: core::ptr::NonNull<[u8; PAGE_SIZE]>,
    gpa: u64,
}

impl NativeInputPage {
    /// Wraps a page.
    ///
    /// # Safety
    /// `page` points to `PAGE_SIZE` bytes of non-paged, page-aligned memory that stay valid and
    /// are accessed through nothing else while this value lives, and `gpa` is its
    /// guest-physical address.
    #[must_use]
    pub const unsafe fn new(page: core::ptr::NonNull<[u8; PAGE_SIZE]>, gpa: u64) -> Self {
        Self { page, gpa }
    }
}

/// The real `vmcall`/`vmmcall`.
pub struct NativeHypercall {
    instruction: HypercallInstruction,
    page: Option<NativeInputPage>,
    tsc_frequency_hz: Option<u64>,
}

impl NativeHypercall {
    /// A primitive that issues `instruction`.
    ///
    /// # Safety
    /// The caller runs at CPL 0 (kernel mode), at an IRQL where the calls it will make may run;
    /// the processor runs under a hypervisor that implements the Microsoft hypervisor interface
    /// (CPUID 0x40000001 = "Hv#1") and the guest OS ID MSR is set (Windows does this at boot);
    /// and `instruction` is the one the CPU vendor calls for (see
    /// [`crate::cpuid::CpuVendor::instruction`]). Otherwise the instruction raises #UD, a
    /// bugcheck.
    #[must_use]
    pub unsafe fn new(instruction: HypercallInstruction, page: Option<NativeInputPage>) -> Self {
        let leaves = HypervisorCpuid::read(cpuid);
        let tsc_frequency_hz = if leaves.tsc_frequency_msr_available() {
            // SAFETY: the caller guarantees CPL 0 under Hyper-V's interface, and the MSR is
            // read only when the privilege and feature bits say it exists (the test Linux makes).
            let hz = unsafe { read_msr(HV_X64_MSR_TSC_FREQUENCY) };
            (hz != 0).then_some(hz)
        } else {
            None
        };
        Self {
            instruction,
            page,
            tsc_frequency_hz,
        }
    }

    /// The instruction this primitive issues.
    #[must_use]
    pub const fn instruction(&self) -> HypercallInstruction {
        self.instruction
    }
}

/// Reads a model-specific register.
///
/// # Safety
/// CPL 0, and the MSR must exist (reading an unknown MSR raises #GP).
unsafe fn read_msr(msr: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: guaranteed by the caller; RDMSR touches only EAX, EDX (and reads ECX).
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") low, out("edx") high,
             options(nomem, nostack, preserves_flags));
    }
    u64::from(low) | u64::from(high) << 32
}

impl HypercallPrimitive for NativeHypercall {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        let rax: u64;
        match self.instruction {
            HypercallInstruction::Vmcall => {
                // SAFETY: `NativeHypercall::new`'s contract makes the instruction legal here.
                // The asm may read memory (memory-convention input), so `nomem` is not given.
                unsafe {
                    asm!("vmcall",
                         inout("rcx") rcx => _, inout("rdx") rdx => _, inout("r8") r8 => _,
                         out("rax") rax, out("r9") _, out("r10") _, out("r11") _,
                         options(nostack));
                }
            }
            HypercallInstruction::Vmmcall => {
                // SAFETY: as above, for AMD's instruction.
                unsafe {
                    asm!("vmmcall",
                         inout("rcx") rcx => _, inout("rdx") rdx => _, inout("r8") r8 => _,
                         out("rax") rax, out("r9") _, out("r10") _, out("r11") _,
                         options(nostack));
                }
            }
        }
        rax
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        cpuid(leaf)
    }

    fn timestamp(&self) -> u64 {
        timestamp()
    }

    fn input_page(&mut self) -> Option<InputPage<'_>> {
        let page = self.page.as_mut()?;
        // SAFETY: `NativeInputPage::new`'s contract: the page is valid, exclusively ours, and
        // `&mut self` makes this the only live reference to it.
        let bytes = unsafe { page.page.as_mut() };
        Some(InputPage {
            bytes,
            gpa: page.gpa,
        })
    }

    fn tsc_frequency_hz(&self) -> Option<u64> {
        self.tsc_frequency_hz
    }
}

//! The real hypercall instruction (x86_64).
//!
//! Legal only at CPL 0 (the TLFS raises #UD otherwise), so only the kernel driver constructs a
//! [`NativeHypercall`]. On Linux this module is compiled and linted in every CI run but never
//! executed.
//!
//! Registers handed to the hypervisor: every one is defined. RCX, RDX and R8 carry the call
//! (TLFS "Hypercall Interface", register conventions) and RAX is [`HYPERCALL_RAX`], bit 31 set,
//! which Hyper-V ignores and Xen and KVM's Xen emulation require before they treat the call as
//! a Hyper-V call (see that constant). The hypervisor writes only RAX for a simple fast call
//! (TLFS "Volatile Registers"), but the asm declares RCX, RDX, R8–R11 and the flags clobbered as
//! well. That is a superset of the TLFS guarantee and the Microsoft x64 volatile set of general
//! registers, so a hypervisor that is looser than the TLFS still cannot corrupt the caller's
//! general registers. XMM registers are not declared: SignalEvent has no XMM input or output
//! (the XMM fast convention is not used).

use core::arch::asm;
use core::arch::x86_64::{__cpuid, _mm_lfence, _rdtsc};

use crate::cpuid::{CpuidResult, HV_X64_MSR_TSC_FREQUENCY, HypercallInstruction, HypervisorCpuid};
use crate::primitive::{HypercallPrimitive, InputPage, PAGE_SIZE};
use crate::readiness::{HYPERCALL_RAX, Readiness};

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

/// What [`NativeHypercall::hypercall`] executes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Issue {
    /// The real instruction.
    Hypercall(HypercallInstruction),
    /// `nop dword ptr [rax]` (0F 1F 00): as long as `vmcall`, with the same operands, for
    /// measuring everything around the instruction.
    #[cfg(feature = "nop-instruction")]
    Nop,
}

/// The real `vmcall`/`vmmcall`.
pub struct NativeHypercall {
    issue: Issue,
    page: Option<NativeInputPage>,
    tsc_frequency_hz: Option<u64>,
}

impl NativeHypercall {
    /// A primitive that issues `instruction`.
    ///
    /// # Safety
    /// The caller runs at CPL 0 (kernel mode), at an IRQL where the calls it will make may run,
    /// and `instruction` is the verdict of [`readiness`] on this machine
    /// ([`Readiness::instruction`] returned it): a hypervisor with the "Hv#1" interface is
    /// present, the instruction is the CPU vendor's, the isolation type takes it, the guest OS
    /// ID is set and hypercalls are enabled. Otherwise the instruction raises #UD, a bugcheck.
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
            issue: Issue::Hypercall(instruction),
            page,
            tsc_frequency_hz,
        }
    }

    /// The same primitive with its hypercall instruction replaced by a 3-byte no-op (the
    /// length of `vmcall`), every operand, clobber and the timestamp sequence unchanged: safe in
    /// user mode, so a benchmark can count what the driver spends per call around the
    /// instruction. No TSC frequency, no MSR read.
    #[cfg(feature = "nop-instruction")]
    #[must_use]
    pub const fn with_nop_instruction(page: Option<NativeInputPage>) -> Self {
        Self {
            issue: Issue::Nop,
            page,
            tsc_frequency_hz: None,
        }
    }

    /// The instruction this primitive issues (`None`: the no-op of the benchmark build).
    #[must_use]
    pub const fn instruction(&self) -> Option<HypercallInstruction> {
        match self.issue {
            Issue::Hypercall(instruction) => Some(instruction),
            #[cfg(feature = "nop-instruction")]
            Issue::Nop => None,
        }
    }
}

/// Assesses whether this machine may take hypercalls ([`Readiness::assess`] over the real CPU).
///
/// # Safety
/// The caller runs at CPL 0: the assessment may read the guest OS ID and hypercall MSRs.
#[must_use]
pub unsafe fn readiness() -> Readiness {
    Readiness::assess(cpuid, |msr| {
        // SAFETY: CPL 0 by this function's contract. `Readiness::assess` reads only the two
        // hypercall MSRs, and only after CPUID showed Microsoft's hypervisor with the "Hv#1"
        // interface, the AccessHypercallMsrs privilege that makes them readable, and no
        // confidential-VM isolation (where RDMSR raises #VE/#VC); so the MSR exists and the
        // plain read does not fault.
        unsafe { read_msr(msr.index()) }
    })
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

/// The hypercall instruction with every register it hands the hypervisor defined: RAX =
/// [`HYPERCALL_RAX`], RCX, RDX, R8 in; RAX out; RCX, RDX, R8–R11 and the flags clobbered. It may
/// read memory (the memory-convention input page), so `nomem` is not given, and the caller
/// orders its page write first. Expands to an `asm!`, so it is used inside an `unsafe` block
/// whose SAFETY comment says why the instruction is legal there.
macro_rules! hypercall {
    ($instruction:literal, $rcx:expr, $rdx:expr, $r8:expr) => {{
        let rax: u64;
        asm!($instruction,
             inout("rax") HYPERCALL_RAX => rax,
             inout("rcx") $rcx => _, inout("rdx") $rdx => _, inout("r8") $r8 => _,
             out("r9") _, out("r10") _, out("r11") _,
             options(nostack));
        rax
    }};
}

impl HypercallPrimitive for NativeHypercall {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        match self.issue {
            // SAFETY: `NativeHypercall::new`'s contract makes the instruction legal here.
            Issue::Hypercall(HypercallInstruction::Vmcall) => unsafe {
                hypercall!("vmcall", rcx, rdx, r8)
            },
            // SAFETY: as above, for AMD's instruction.
            Issue::Hypercall(HypercallInstruction::Vmmcall) => unsafe {
                hypercall!("vmmcall", rcx, rdx, r8)
            },
            // SAFETY: a no-op that touches nothing, legal anywhere.
            #[cfg(feature = "nop-instruction")]
            Issue::Nop => unsafe { hypercall!("nop dword ptr [rax]", rcx, rdx, r8) },
        }
    }

    /// The loop with the instruction chosen once, outside it, between two [`timestamp`] reads.
    #[inline]
    fn timed_calls<I: IntoIterator, F: FnMut(I::Item, u64, u64)>(
        &mut self,
        (rcx, rdx, r8): (u64, u64, u64),
        each: I,
        mut per_call: F,
    ) {
        macro_rules! timed_loop {
            ($instruction:literal) => {
                for item in each {
                    let start = timestamp();
                    // SAFETY: for `vmcall`/`vmmcall`, `NativeHypercall::new`'s contract makes
                    // the instruction legal here; the no-op of the benchmark build is legal
                    // anywhere and touches nothing.
                    let rax = unsafe { hypercall!($instruction, rcx, rdx, r8) };
                    let end = timestamp();
                    per_call(item, rax, end.saturating_sub(start));
                }
            };
        }
        match self.issue {
            Issue::Hypercall(HypercallInstruction::Vmcall) => timed_loop!("vmcall"),
            Issue::Hypercall(HypercallInstruction::Vmmcall) => timed_loop!("vmmcall"),
            #[cfg(feature = "nop-instruction")]
            Issue::Nop => timed_loop!("nop dword ptr [rax]"),
        }
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

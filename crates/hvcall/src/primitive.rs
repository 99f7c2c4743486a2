//! The one primitive everything is built on, exactly what the CPU instruction does:
//! `hypercall(rcx, rdx, r8) -> rax`, plus the few other things a caller needs from the machine.
//!
//! Two implementations exist: [`crate::native`] (the real `vmcall`/`vmmcall`, kernel only) and
//! the reference model in the `hvmodel` crate. Because the model sits at this boundary, the
//! driver's request handling runs the same code in tests as in the kernel.

use crate::cpuid::CpuidResult;

/// Size of the memory-convention input page.
pub const PAGE_SIZE: usize = 4096;

/// The page a memory-convention call reads its input from, and the page's guest-physical
/// address. It is owned by the primitive: the caller writes the input, then passes
/// `gpa + offset` in RDX.
pub struct InputPage<'a> {
    /// The page's bytes.
    pub bytes: &'a mut [u8; PAGE_SIZE],
    /// The guest-physical address of `bytes[0]`; page aligned.
    pub gpa: u64,
}

/// What the machine offers a hypercall caller.
///
/// Implementations are safe to call: whatever makes a real hypercall legal (running at CPL 0
/// under a hypervisor that accepts it) is established when the implementation is constructed.
pub trait HypercallPrimitive {
    /// Issues one hypercall: RAX = [`crate::HYPERCALL_RAX`] (bit 31 set, so every "Hv#1" host
    /// takes it as a Hyper-V call), RCX = control word, RDX/R8 = fast input registers or, for the
    /// memory convention, the input and output GPAs. Returns RAX, the result value.
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64;

    /// Issues the same hypercall once per item of `each`, each call between two
    /// [`Self::timestamp`] reads, and hands the item, the call's RAX and its cycles (end −
    /// start, 0 if the counter went backwards) to `per_call`, in order. (`each` is a count,
    /// `0..n`, or the slots the results go to, so the loop needs no second counter.) An
    /// implementation may specialise this loop — the native primitive picks its instruction
    /// once, not per call — but must keep exactly this timed region.
    #[inline]
    fn timed_calls<I: IntoIterator, F: FnMut(I::Item, u64, u64)>(
        &mut self,
        (rcx, rdx, r8): (u64, u64, u64),
        each: I,
        mut per_call: F,
    ) {
        for item in each {
            let start = self.timestamp();
            let rax = self.hypercall(rcx, rdx, r8);
            let end = self.timestamp();
            per_call(item, rax, end.saturating_sub(start));
        }
    }

    /// Executes CPUID for `leaf` (sub-leaf 0).
    fn cpuid(&self, leaf: u32) -> CpuidResult;

    /// Reads the timestamp counter (cycles).
    fn timestamp(&self) -> u64;

    /// The memory-convention input page, or `None` when the implementation has none (then only
    /// the fast convention is available).
    fn input_page(&mut self) -> Option<InputPage<'_>>;

    /// The timestamp counter's frequency in Hz, when the machine reports it.
    fn tsc_frequency_hz(&self) -> Option<u64> {
        None
    }
}

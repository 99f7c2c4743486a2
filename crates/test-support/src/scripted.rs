//! The one hand-written hypercall primitive of the tests: scripted results and cycle counts, for
//! the checks the reference model cannot make (exact statistics over chosen cycle counts, a
//! timestamp counter that runs backwards, a machine without an input page). Where a test needs a
//! hypervisor's answers rather than chosen numbers, it uses `hvmodel`'s primitive instead.

use std::cell::Cell;

use hvcall::{CpuVendor, CpuidResult, HypercallPrimitive, InputPage, PAGE_SIZE};

/// GPA of the scripted input page.
pub const PAGE_GPA: u64 = 0x0012_3000;

/// Bit 16 of the control word: the fast (register) calling convention.
const FAST_CONVENTION: u64 = 1 << 16;

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
    /// Added (wrapping) to the counter on every timestamp read: 0 keeps time still between
    /// calls; a negative step makes the counter run backwards.
    pub step_per_read: i64,
    clock: Cell<u64>,
}

impl Scripted {
    /// Call `i` returns `results[i % len]` and takes `cycles[i % len]` cycles; a page is present
    /// and the TSC runs at 2 GHz.
    #[must_use]
    pub fn new(results: Vec<u64>, cycles: Vec<u64>) -> Self {
        Self {
            results,
            cycles,
            calls: Vec::new(),
            inputs_read: Vec::new(),
            page: Some(Box::new([0; PAGE_SIZE])),
            tsc_hz: Some(2_000_000_000),
            step_per_read: 0,
            clock: Cell::new(1_000_000),
        }
    }

    /// Always SUCCESS, 100 cycles.
    #[must_use]
    pub fn succeeding() -> Self {
        Self::new(vec![0], vec![100])
    }

    /// Without an input page.
    #[must_use]
    pub fn without_page(mut self) -> Self {
        self.page = None;
        self
    }

    /// Every call succeeds in no time; the timestamp counter starts at `start` and goes down by
    /// `step` on every read.
    #[must_use]
    pub fn with_backwards_clock(start: u64, step: u64) -> Self {
        let mut primitive = Self::new(vec![0], Vec::new());
        primitive.clock.set(start);
        primitive.step_per_read = 0i64.saturating_sub_unsigned(step);
        primitive
    }
}

impl HypercallPrimitive for Scripted {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        let i = self.calls.len();
        self.calls.push((rcx, rdx, r8));
        if rcx & FAST_CONVENTION == 0 {
            let seen = self
                .page
                .as_ref()
                .zip(rdx.checked_sub(PAGE_GPA))
                .and_then(|(page, offset)| {
                    let offset = usize::try_from(offset).ok()?;
                    page.get(offset..offset.saturating_add(8).min(PAGE_SIZE))
                })
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            self.inputs_read.push(seen);
        }
        if let Some(cycles) = pick(&self.cycles, i) {
            self.clock.set(self.clock.get().wrapping_add(cycles));
        }
        pick(&self.results, i).unwrap_or(0)
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        hyperv_cpuid(CpuVendor::Intel)(leaf)
    }

    fn timestamp(&self) -> u64 {
        let now = self.clock.get();
        self.clock.set(now.wrapping_add_signed(self.step_per_read));
        now
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

/// `script[i % len]`, `None` for an empty script.
fn pick(script: &[u64], i: usize) -> Option<u64> {
    script.get(i.checked_rem(script.len())?).copied()
}

/// CPUID of bare metal (an Intel CPU): no hypervisor bit, no hypervisor leaves.
#[must_use]
pub fn bare_metal_cpuid(leaf: u32) -> CpuidResult {
    cpu_leaf(CpuVendor::Intel, leaf, false)
}

/// The CPU's own leaves: 0 (`vendor`'s signature) and 1, with or without the
/// hypervisor-present bit (leaf 1 ECX bit 31); every other leaf reads zero.
fn cpu_leaf(vendor: CpuVendor, leaf: u32, hypervisor: bool) -> CpuidResult {
    match leaf {
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
            ecx: if hypervisor { 0xFEDA_3203 } else { 0x7EDA_3203 },
            edx: 0x178B_FBFF,
        },
        _ => CpuidResult::default(),
    }
}

/// CPUID of a Hyper-V guest (`Microsoft Hv`, `Hv#1`, SignalEvents privilege) with `vendor`'s CPU.
pub fn hyperv_cpuid(vendor: CpuVendor) -> impl Fn(u32) -> CpuidResult {
    move |leaf| match leaf {
        0 | 1 => cpu_leaf(vendor, leaf, true),
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

//! The one input decoder every profile shares: the control word and the 8 input bytes, fetched
//! once per call from RDX (fast) or the caller's input page (memory). Profiles never read
//! registers or memory themselves; they decide what the decoded facts mean, in their own order
//! (as OpenVMM's `hv1_hypercall` separates the dispatcher from each call's semantics).

use hvcall::{HypercallControl, InputPage, PAGE_SIZE, SignalEventInput};

/// The highest page offset at which an 8-byte input still fits in its page.
const LAST_INPUT_OFFSET: u64 = (PAGE_SIZE - SignalEventInput::SIZE) as u64;

/// The bits of a GPA that are its offset within the page.
const PAGE_OFFSET_MASK: u64 = PAGE_SIZE as u64 - 1;

/// What fetching a memory-convention input at a GPA found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Fetch {
    /// The GPA is not 8-byte aligned and the 8 bytes would cross into the next page (nothing
    /// read).
    CrossesPage,
    /// The GPA is not 8-byte aligned, the 8 bytes inside one page (nothing read).
    Misaligned,
    /// Aligned, but outside the memory the model backs (the caller's input page).
    Unbacked,
    /// The 8 bytes read.
    Read(SignalEventInput),
}

/// Where a call's input came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Input {
    /// Fast convention: the 8 bytes in RDX.
    Register(SignalEventInput),
    /// Memory convention: what the fetch at RDX (the input GPA) found.
    Memory(Fetch),
}

/// The caller's memory as the hypervisor sees it: its input page, when it has one.
#[derive(Clone, Copy)]
pub(super) struct GuestMemory<'a>(Option<&'a InputPage<'a>>);

impl GuestMemory<'_> {
    /// The 8 bytes at `gpa`.
    pub(super) fn fetch(self, gpa: u64) -> Fetch {
        if gpa & 7 != 0 {
            if gpa & PAGE_OFFSET_MASK > LAST_INPUT_OFFSET {
                return Fetch::CrossesPage;
            }
            return Fetch::Misaligned;
        }
        match self.read(gpa) {
            Some(raw) => Fetch::Read(SignalEventInput::from_rdx(raw)),
            None => Fetch::Unbacked,
        }
    }

    /// The 8 bytes at `gpa`, when they lie inside the caller's input page.
    fn read(self, gpa: u64) -> Option<u64> {
        let page = self.0?;
        let offset = gpa.checked_sub(page.gpa)?;
        if offset > LAST_INPUT_OFFSET {
            return None;
        }
        let offset = usize::try_from(offset).ok()?;
        let bytes: [u8; 8] = page
            .bytes
            .get(offset..offset.checked_add(SignalEventInput::SIZE)?)?
            .try_into()
            .ok()?;
        Some(u64::from_le_bytes(bytes))
    }
}

/// One call as every profile receives it.
#[derive(Clone, Copy)]
pub(super) struct DecodedCall<'a> {
    /// RAX on entry (only the `xen` profile reads it).
    pub rax: u64,
    /// RCX, the control word.
    pub control: HypercallControl,
    /// The input, fetched once.
    pub input: Input,
    /// The caller's memory, for a profile that loads from a second GPA (KVM's exit to QEMU).
    pub memory: GuestMemory<'a>,
}

impl<'a> DecodedCall<'a> {
    /// Decodes the registers and fetches the input.
    pub(super) fn new(rax: u64, rcx: u64, rdx: u64, page: Option<&'a InputPage<'a>>) -> Self {
        let control = HypercallControl::from_raw(rcx);
        let memory = GuestMemory(page);
        let input = if control.fast() {
            Input::Register(SignalEventInput::from_rdx(rdx))
        } else {
            Input::Memory(memory.fetch(rdx))
        };
        Self {
            rax,
            control,
            input,
            memory,
        }
    }

    /// True when the call code is `HvCallSignalEvent`.
    pub(super) fn is_signal_event(&self) -> bool {
        self.control.call_code() == hvcall::SIGNAL_EVENT
    }

    /// True when the control word asks for a rep count, rep start or variable header, none of
    /// which a simple call takes.
    pub(super) fn has_rep_or_header(&self) -> bool {
        let c = self.control;
        c.rep_count() != 0 || c.rep_start() != 0 || c.variable_header_size() != 0
    }
}

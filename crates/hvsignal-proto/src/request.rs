//! The signal request as a typed value: building and validating it (the console program),
//! encoding it to bytes, and parsing arbitrary bytes back into it (the driver).
//!
//! [`SignalRequest::parse`] accepts exactly the bytes [`SignalRequest::encode`] produces and
//! refuses everything else with a specific [`ParseError`]. Both sides run the same validation,
//! so the program catches a bad request before sending it and the driver's check is a second
//! line of defence. The parsed value is owned and fixed-size (no heap, 1.6 KiB), so the driver
//! can parse the `METHOD_BUFFERED` system buffer completely before it overwrites that same
//! buffer with the response; the driver parses into the request its device keeps
//! ([`SignalRequest::parse_into`]), never into one on the kernel stack.

use core::fmt;

use hvcall::{
    HypercallControl, PAGE_SIZE, SignalEventInput, SignalInputError, check_connection_id,
};
use zerocopy::{FromBytes, IntoBytes};

use crate::ntstatus::{Failure, NtStatus};
use crate::wire::{
    CONVENTION_FAST, CONVENTION_MEMORY, HeaderMismatch, KIND_SIGNAL_REQUEST, MAGIC,
    MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, MessageHeader, OPERATION_ENTRY_SIZE, OPTION_SAMPLES,
    OPTIONS_ALL, OperationEntry, PROTOCOL_VERSION, SIGNAL_FLAG_RAW, SIGNAL_FLAGS_ALL,
    SIGNAL_HEADER_SIZE, SignalRequestHeader, signal_request_size,
};

/// Control-word bits no request may set, not even in raw mode: the call code (15:0, always
/// 0x005D) and the fast bit (16, the request's calling convention).
pub const FIXED_CONTROL_BITS: u64 = HypercallControl::CALL_CODE_MASK | HypercallControl::FAST_BIT;

/// How the hypercall's input travels.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum CallingConvention {
    /// Fast (register) convention: control bit 16 set, the 8 input bytes in RDX, R8 = 0.
    #[default]
    Fast,
    /// Memory convention: the 8 input bytes in the driver's input page, its GPA (plus the input
    /// offset) in RDX, output GPA R8 = 0.
    Memory,
}

impl CallingConvention {
    /// The wire value (`CONVENTION_*`).
    #[must_use]
    pub const fn to_wire(self) -> u32 {
        match self {
            Self::Fast => CONVENTION_FAST,
            Self::Memory => CONVENTION_MEMORY,
        }
    }

    /// The convention of a wire value.
    #[must_use]
    pub const fn from_wire(value: u32) -> Option<Self> {
        match value {
            CONVENTION_FAST => Some(Self::Fast),
            CONVENTION_MEMORY => Some(Self::Memory),
            _ => None,
        }
    }

    /// True for [`Self::Fast`].
    #[must_use]
    pub const fn is_fast(self) -> bool {
        matches!(self, Self::Fast)
    }
}

/// One signal operation: a SignalEvent input, raw-mode extras, and how often to issue it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Operation {
    /// The whole ConnectionId field; bits 31:24 only in raw mode.
    pub connection_id: u32,
    /// FlagNumber.
    pub flag_number: u16,
    /// RsvdZ; raw mode only.
    pub rsvd_z: u16,
    /// Bits OR-ed into the control word; raw mode only; never bits 16:0 ([`FIXED_CONTROL_BITS`]).
    pub extra_control: u64,
    /// Calls to issue, 1..=[`MAX_CALLS_PER_REQUEST`].
    pub repeat: u32,
    /// Memory convention and raw mode only: the input's offset in the input page, 0..=4095.
    pub input_offset: u16,
    /// `OPTION_*` (wire): e.g. [`OPTION_SAMPLES`] asks for every call's cycle count.
    pub options: u16,
}

impl Operation {
    /// A well-formed operation: connection id and flag, `repeat` calls, nothing raw.
    #[must_use]
    pub const fn new(connection_id: u32, flag_number: u16, repeat: u32) -> Self {
        Self {
            connection_id,
            flag_number,
            rsvd_z: 0,
            extra_control: 0,
            repeat,
            input_offset: 0,
            options: 0,
        }
    }

    /// The same operation, asking the driver for every call's cycle count
    /// ([`OPTION_SAMPLES`]): exact quantiles from one operation per request.
    #[must_use]
    pub const fn with_samples(mut self) -> Self {
        self.options |= OPTION_SAMPLES;
        self
    }

    /// True when the operation asks for its samples.
    #[must_use]
    pub const fn wants_samples(&self) -> bool {
        self.options & OPTION_SAMPLES != 0
    }

    /// The 8-byte SignalEvent input this operation issues.
    #[must_use]
    pub const fn input(&self) -> SignalEventInput {
        SignalEventInput {
            connection_id: self.connection_id,
            flag_number: self.flag_number,
            rsvd_z: self.rsvd_z,
        }
    }

    /// The control word this operation issues: `HvCallSignalEvent`, the convention's fast bit,
    /// and the extra bits (with bits 16:0 masked off, so the call code is always 0x005D).
    #[must_use]
    pub const fn control(&self, convention: CallingConvention) -> HypercallControl {
        HypercallControl::from_raw(
            HypercallControl::signal_event(convention.is_fast()).raw()
                | (self.extra_control & !FIXED_CONTROL_BITS),
        )
    }

    /// True when the operation uses a raw-only field.
    #[must_use]
    pub const fn uses_raw_fields(&self) -> bool {
        check_connection_id(self.connection_id).is_err()
            || self.rsvd_z != 0
            || self.extra_control != 0
            || self.input_offset != 0
    }

    /// Checks the operation against the rules of a request with this convention and raw flag.
    ///
    /// # Errors
    /// The first rule broken, in the order: options, repeat count, raw-only fields without raw
    /// mode, fixed control bits, input offset range, input offset with the fast convention,
    /// memory input past the page.
    pub const fn validate(
        &self,
        convention: CallingConvention,
        raw: bool,
    ) -> Result<(), OperationError> {
        if self.options & !OPTIONS_ALL != 0 {
            return Err(OperationError::UnknownOptions {
                value: self.options,
            });
        }
        if self.repeat == 0 {
            return Err(OperationError::ZeroRepeat);
        }
        if self.repeat > MAX_CALLS_PER_REQUEST {
            return Err(OperationError::RepeatTooLarge {
                repeat: self.repeat,
            });
        }
        if !raw {
            if let Err(error) = check_connection_id(self.connection_id) {
                return Err(OperationError::ConnectionIdTooLarge(error));
            }
            if self.rsvd_z != 0 {
                return Err(OperationError::RawFieldWithoutRawMode {
                    field: RawField::RsvdZ,
                    value: self.rsvd_z as u64,
                });
            }
            if self.extra_control != 0 {
                return Err(OperationError::RawFieldWithoutRawMode {
                    field: RawField::ControlBits,
                    value: self.extra_control,
                });
            }
            if self.input_offset != 0 {
                return Err(OperationError::RawFieldWithoutRawMode {
                    field: RawField::InputOffset,
                    value: self.input_offset as u64,
                });
            }
        }
        if self.extra_control & FIXED_CONTROL_BITS != 0 {
            return Err(OperationError::FixedControlBits {
                bits: self.extra_control & FIXED_CONTROL_BITS,
            });
        }
        if self.input_offset as usize >= PAGE_SIZE {
            return Err(OperationError::InputOffsetTooLarge {
                offset: self.input_offset,
            });
        }
        if self.input_offset != 0 && convention.is_fast() {
            return Err(OperationError::InputOffsetWithFastConvention {
                offset: self.input_offset,
            });
        }
        if !convention.is_fast() {
            let size = self.memory_input_size();
            if (self.input_offset as usize).saturating_add(size) > PAGE_SIZE {
                return Err(OperationError::InputBeyondPage {
                    offset: self.input_offset,
                    size,
                });
            }
        }
        Ok(())
    }

    /// The bytes a hypervisor reads from the input page for a memory-convention call: the
    /// 8-byte input plus the variable header the control word declares (its size field, bits
    /// 26:17, in 8-byte units).
    #[must_use]
    pub const fn memory_input_size(&self) -> usize {
        let header_qwords = self
            .control(CallingConvention::Memory)
            .variable_header_size() as usize;
        SignalEventInput::SIZE.saturating_add(header_qwords.saturating_mul(8))
    }

    const fn from_entry(entry: &OperationEntry) -> Self {
        Self {
            connection_id: entry.connection_id,
            flag_number: entry.flag_number,
            rsvd_z: entry.rsvd_z,
            extra_control: entry.extra_control,
            repeat: entry.repeat,
            input_offset: entry.input_offset,
            options: entry.options,
        }
    }

    /// The operation's wire entry.
    #[must_use]
    pub const fn to_entry(&self) -> OperationEntry {
        OperationEntry {
            connection_id: self.connection_id,
            flag_number: self.flag_number,
            rsvd_z: self.rsvd_z,
            extra_control: self.extra_control,
            repeat: self.repeat,
            input_offset: self.input_offset,
            options: self.options,
        }
    }
}

/// A raw-only field of an operation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RawField {
    /// The input's RsvdZ field.
    RsvdZ,
    /// Extra control-word bits.
    ControlBits,
    /// The input offset within the input page.
    InputOffset,
}

impl RawField {
    /// The field's name in messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::RsvdZ => "RsvdZ",
            Self::ControlBits => "extra control-word bits",
            Self::InputOffset => "input offset",
        }
    }
}

/// Why one operation was refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OperationError {
    /// Repeat count 0.
    ZeroRepeat,
    /// Repeat count above [`MAX_CALLS_PER_REQUEST`].
    RepeatTooLarge {
        /// The refused count.
        repeat: u32,
    },
    /// Connection id ≥ 2^24 (bits 31:24 set) without raw mode.
    ConnectionIdTooLarge(
        /// The refused id, with hvcall's one message for the 24-bit rule.
        SignalInputError,
    ),
    /// A raw-only field is non-zero without raw mode.
    RawFieldWithoutRawMode {
        /// Which field.
        field: RawField,
        /// Its value.
        value: u64,
    },
    /// Extra control bits overlap the call code or fast bit (bits 16:0), refused even in raw mode.
    FixedControlBits {
        /// The offending bits.
        bits: u64,
    },
    /// Input offset beyond the 4096-byte page.
    InputOffsetTooLarge {
        /// The refused offset.
        offset: u16,
    },
    /// Input offset given with the fast convention, which has no input page.
    InputOffsetWithFastConvention {
        /// The refused offset.
        offset: u16,
    },
    /// Memory convention: the input (at its offset, with any variable header) would reach past
    /// the driver's input page, into memory the driver does not own.
    InputBeyondPage {
        /// The input offset.
        offset: u16,
        /// The bytes the hypervisor would read.
        size: usize,
    },
    /// The entry sets option bits this protocol does not define.
    UnknownOptions {
        /// Its value.
        value: u16,
    },
}

impl OperationError {
    /// The check that refused the operation, by name (the variant's), for traces.
    #[must_use]
    pub const fn rule(&self) -> &'static str {
        match self {
            Self::ZeroRepeat => "ZeroRepeat",
            Self::RepeatTooLarge { .. } => "RepeatTooLarge",
            Self::ConnectionIdTooLarge(..) => "ConnectionIdTooLarge",
            Self::RawFieldWithoutRawMode { .. } => "RawFieldWithoutRawMode",
            Self::FixedControlBits { .. } => "FixedControlBits",
            Self::InputOffsetTooLarge { .. } => "InputOffsetTooLarge",
            Self::InputOffsetWithFastConvention { .. } => "InputOffsetWithFastConvention",
            Self::InputBeyondPage { .. } => "InputBeyondPage",
            Self::UnknownOptions { .. } => "UnknownOptions",
        }
    }
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ZeroRepeat => f.write_str("repeat count is 0; give 1 or more"),
            Self::RepeatTooLarge { repeat } => write!(
                f,
                "repeat count {repeat} is over the limit of {MAX_CALLS_PER_REQUEST} calls per request; split the job"
            ),
            Self::ConnectionIdTooLarge(error) => error.fmt(f),
            Self::RawFieldWithoutRawMode { field, value } => write!(
                f,
                "{} is {value:#x}, but non-zero values need raw mode",
                field.name()
            ),
            Self::FixedControlBits { bits } => write!(
                f,
                "extra control bits {bits:#x} touch the call code or fast bit (bits 16:0), which are never settable"
            ),
            Self::InputOffsetTooLarge { offset } => write!(
                f,
                "input offset {offset} is outside the 4096-byte input page (0 to 4095)"
            ),
            Self::InputOffsetWithFastConvention { offset } => write!(
                f,
                "input offset {offset} needs the memory convention; the fast convention has no input page"
            ),
            Self::InputBeyondPage { offset, size } => write!(
                f,
                "an input of {size} bytes at offset {offset} would end at byte {}, past the driver's 4096-byte input page; the driver never lets a hypervisor read memory it does not own, so the input (with its variable header) must end by byte 4096",
                (offset as usize).saturating_add(size)
            ),
            Self::UnknownOptions { value } => write!(
                f,
                "the entry's options {value:#x} include bits this protocol does not define (only {OPTIONS_ALL:#x}: samples)"
            ),
        }
    }
}

/// Why a signal request's bytes were refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ParseError {
    /// Shorter than the 32-byte request header.
    TooShort {
        /// The input's length.
        len: usize,
    },
    /// The message header is not a signal request of this protocol version (bad magic, another
    /// version, another kind): [`MessageHeader::check`]'s finding.
    Header(HeaderMismatch),
    /// The header's size field differs from the input's length.
    SizeMismatch {
        /// The header's size.
        declared: u32,
        /// The input's length.
        actual: usize,
    },
    /// A reserved header field is non-zero.
    HeaderReservedNonZero,
    /// Unknown calling convention.
    UnknownConvention {
        /// The value sent.
        found: u32,
    },
    /// Unknown request flags.
    UnknownFlags {
        /// The undefined bits that were set.
        flags: u32,
    },
    /// Zero operations.
    NoOperations,
    /// More than [`MAX_OPERATIONS`] operations.
    TooManyOperations {
        /// The count sent.
        count: u32,
    },
    /// The operation count needs more bytes than the input has.
    EntriesBeyondBuffer {
        /// The count sent.
        count: u32,
        /// The input's length.
        len: usize,
    },
    /// Bytes follow the last operation.
    TrailingBytes {
        /// The count sent.
        count: u32,
        /// The input's length.
        len: usize,
    },
    /// An operation is invalid.
    Operation {
        /// Its index in the request.
        index: u32,
        /// What is wrong with it.
        error: OperationError,
    },
    /// The repeat counts add up to more than [`MAX_CALLS_PER_REQUEST`].
    TooManyCalls {
        /// The sum (saturated at `u32::MAX`).
        total: u32,
    },
}

impl ParseError {
    /// The kind of failure, and so the NTSTATUS the driver completes with.
    #[must_use]
    pub const fn failure(&self) -> Failure {
        match self {
            Self::TooShort { .. }
            | Self::SizeMismatch { .. }
            | Self::EntriesBeyondBuffer { .. }
            | Self::TrailingBytes { .. } => Failure::InputSize,
            Self::Header(HeaderMismatch::UnsupportedVersion { .. }) => Failure::VersionMismatch,
            Self::Header(HeaderMismatch::BadMagic { .. } | HeaderMismatch::WrongKind { .. })
            | Self::HeaderReservedNonZero
            | Self::UnknownConvention { .. }
            | Self::UnknownFlags { .. }
            | Self::NoOperations
            | Self::TooManyOperations { .. }
            | Self::Operation { .. }
            | Self::TooManyCalls { .. } => Failure::Malformed,
        }
    }

    /// The NTSTATUS the driver completes with.
    #[must_use]
    pub const fn nt_status(&self) -> NtStatus {
        self.failure().nt_status()
    }

    /// The check that refused the request, by name (the variant's; a header mismatch gives
    /// [`HeaderMismatch::name`], an invalid operation its [`OperationError::rule`]), for traces.
    #[must_use]
    pub const fn rule(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "TooShort",
            Self::Header(mismatch) => mismatch.name(),
            Self::SizeMismatch { .. } => "SizeMismatch",
            Self::HeaderReservedNonZero => "HeaderReservedNonZero",
            Self::UnknownConvention { .. } => "UnknownConvention",
            Self::UnknownFlags { .. } => "UnknownFlags",
            Self::NoOperations => "NoOperations",
            Self::TooManyOperations { .. } => "TooManyOperations",
            Self::EntriesBeyondBuffer { .. } => "EntriesBeyondBuffer",
            Self::TrailingBytes { .. } => "TrailingBytes",
            Self::Operation { error, .. } => error.rule(),
            Self::TooManyCalls { .. } => "TooManyCalls",
        }
    }
}

impl From<HeaderMismatch> for ParseError {
    fn from(mismatch: HeaderMismatch) -> Self {
        Self::Header(mismatch)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(
                f,
                "request is {len} bytes, shorter than the {SIGNAL_HEADER_SIZE}-byte header"
            ),
            Self::Header(HeaderMismatch::BadMagic { found }) => write!(
                f,
                "request does not start with the hvsignal magic {MAGIC:#010x} (found {found:#010x})"
            ),
            Self::Header(HeaderMismatch::UnsupportedVersion { found }) => write!(
                f,
                "request has protocol version {found}; this side speaks version {PROTOCOL_VERSION}"
            ),
            Self::Header(HeaderMismatch::WrongKind { found, .. }) => write!(
                f,
                "message kind {found} is not a signal request ({KIND_SIGNAL_REQUEST})"
            ),
            Self::SizeMismatch { declared, actual } => write!(
                f,
                "header says the request is {declared} bytes, but {actual} bytes were sent"
            ),
            Self::HeaderReservedNonZero => f.write_str("a reserved header field is not zero"),
            Self::UnknownConvention { found } => write!(
                f,
                "calling convention {found} is unknown (0 = fast, 1 = memory)"
            ),
            Self::UnknownFlags { flags } => write!(f, "unknown request flags {flags:#x}"),
            Self::NoOperations => f.write_str("request has no operations; give at least one"),
            Self::TooManyOperations { count } => write!(
                f,
                "request has {count} operations, over the limit of {MAX_OPERATIONS}; split the job"
            ),
            Self::EntriesBeyondBuffer { count, len } => write!(
                f,
                "{count} operations need {} bytes, but the request is only {len} bytes",
                signal_request_size(count as usize)
            ),
            Self::TrailingBytes { count, len } => write!(
                f,
                "{count} operations need {} bytes, but the request is {len} bytes",
                signal_request_size(count as usize)
            ),
            Self::Operation { index, error } => write!(f, "operation {index}: {error}"),
            Self::TooManyCalls { total } => write!(
                f,
                "the repeat counts add up to {total} calls, over the limit of {MAX_CALLS_PER_REQUEST} per request; split the job"
            ),
        }
    }
}

impl core::error::Error for ParseError {}

/// The output buffer given to [`SignalRequest::encode`] is too small.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EncodeError {
    /// Bytes needed.
    pub needed: usize,
    /// Bytes given.
    pub len: usize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request needs {} bytes, the buffer has {}",
            self.needed, self.len
        )
    }
}

impl core::error::Error for EncodeError {}

/// A valid signal request: a calling convention, the raw flag, and 1..=[`MAX_OPERATIONS`]
/// operations whose repeat counts add up to at most [`MAX_CALLS_PER_REQUEST`].
///
/// Built with [`SignalRequest::new`] and [`SignalRequest::push`] (which validates each
/// operation), or parsed from bytes. A request with no operations can be built but is refused by
/// [`SignalRequest::encode`]'s reader: `parse` requires at least one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignalRequest {
    convention: CallingConvention,
    raw: bool,
    count: usize,
    total_calls: u32,
    operations: [Operation; MAX_OPERATIONS],
}

impl SignalRequest {
    /// An empty request.
    #[must_use]
    pub const fn new(convention: CallingConvention, raw: bool) -> Self {
        Self {
            convention,
            raw,
            count: 0,
            total_calls: 0,
            operations: [Operation::new(0, 0, 0); MAX_OPERATIONS],
        }
    }

    /// The calling convention.
    #[must_use]
    pub const fn convention(&self) -> CallingConvention {
        self.convention
    }

    /// True when the request asks for raw mode.
    #[must_use]
    pub const fn raw(&self) -> bool {
        self.raw
    }

    /// The operations, in order.
    #[must_use]
    pub fn operations(&self) -> &[Operation] {
        self.operations.get(..self.count).unwrap_or(&[])
    }

    /// Sum of the repeat counts.
    #[must_use]
    pub const fn total_calls(&self) -> u32 {
        self.total_calls
    }

    /// Appends an operation after validating it.
    ///
    /// # Errors
    /// [`ParseError::TooManyOperations`], [`ParseError::Operation`] (with its index) or
    /// [`ParseError::TooManyCalls`]; the request is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::SignalInputError;
    /// use hvsignal_proto::{CallingConvention, Operation, OperationError, ParseError, SignalRequest};
    ///
    /// let mut request = SignalRequest::new(CallingConvention::Fast, false);
    /// request.push(Operation::new(0x2001, 0, 9_000))?;
    /// // 9 000 + 1 001 calls exceed the 10 000 calls a request may issue.
    /// assert_eq!(
    ///     request.push(Operation::new(0x2002, 0, 1_001)),
    ///     Err(ParseError::TooManyCalls { total: 10_001 })
    /// );
    /// // Connection-id bits 31:24 are reserved; only raw mode may set them.
    /// assert_eq!(
    ///     request.push(Operation::new(0x0100_2001, 0, 1)),
    ///     Err(ParseError::Operation {
    ///         index: 1,
    ///         error: OperationError::ConnectionIdTooLarge(SignalInputError { connection_id: 0x0100_2001 }),
    ///     })
    /// );
    /// assert_eq!((request.operations().len(), request.total_calls()), (1, 9_000));
    /// # Ok::<(), ParseError>(())
    /// ```
    pub fn push(&mut self, operation: Operation) -> Result<(), ParseError> {
        let index = u32::try_from(self.count).unwrap_or(u32::MAX);
        let Some(slot) = self.operations.get_mut(self.count) else {
            return Err(ParseError::TooManyOperations {
                count: index.saturating_add(1),
            });
        };
        operation
            .validate(self.convention, self.raw)
            .map_err(|error| ParseError::Operation { index, error })?;
        let total = self.total_calls.saturating_add(operation.repeat);
        if total > MAX_CALLS_PER_REQUEST {
            return Err(ParseError::TooManyCalls { total });
        }
        *slot = operation;
        self.total_calls = total;
        self.count = self.count.saturating_add(1);
        Ok(())
    }

    /// The most bytes the response to this request can take: the header, one result per
    /// operation, and each operation's samples or at most one histogram entry per call and
    /// per bucket ([`crate::wire::trailing_words`]). The driver issues nothing unless the
    /// output buffer holds this many bytes; the response itself may be shorter.
    #[must_use]
    pub fn response_capacity(&self) -> usize {
        let words = self
            .operations()
            .iter()
            .map(|op| crate::wire::trailing_words(op.repeat, op.options))
            .fold(0usize, usize::saturating_add);
        crate::wire::signal_response_size(self.count, words)
    }

    /// Size of the encoded request.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        signal_request_size(self.count)
    }

    /// Writes the request's bytes to the start of `out`, returning how many were written.
    ///
    /// # Errors
    /// `out` is shorter than [`Self::encoded_len`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.encoded_len();
        let too_small = EncodeError {
            needed,
            len: out.len(),
        };
        let out = out.get_mut(..needed).ok_or(too_small)?;
        let (head, entries) = out
            .split_at_mut_checked(SIGNAL_HEADER_SIZE)
            .ok_or(too_small)?;
        let header = SignalRequestHeader {
            header: MessageHeader::new(
                KIND_SIGNAL_REQUEST,
                u32::try_from(needed).unwrap_or(u32::MAX),
            ),
            convention: self.convention.to_wire(),
            flags: if self.raw { SIGNAL_FLAG_RAW } else { 0 },
            operation_count: u32::try_from(self.count).unwrap_or(u32::MAX),
            timer_overhead_cycles: 0,
        };
        header.write_to(head).map_err(|_| too_small)?;
        for (chunk, operation) in entries
            .chunks_exact_mut(OPERATION_ENTRY_SIZE)
            .zip(self.operations())
        {
            operation
                .to_entry()
                .write_to(chunk)
                .map_err(|_| too_small)?;
        }
        Ok(needed)
    }

    /// Parses and validates a signal request.
    ///
    /// # Errors
    /// The first problem found, in this order: length below the header, magic, version, kind,
    /// size field, reserved header fields, convention, flags, operation count, entries vs.
    /// length, then each operation in order ([`Operation::validate`], which checks its options
    /// first), then the total number of calls. [`ParseError::nt_status`] is the status the
    /// driver completes the request with.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvsignal_proto::{
    ///     CallingConvention, Failure, Operation, OperationError, ParseError, SignalRequest,
    ///     STATUS_INVALID_BUFFER_SIZE, STATUS_INVALID_PARAMETER,
    /// };
    ///
    /// let mut request = SignalRequest::new(CallingConvention::Memory, false);
    /// request.push(Operation::new(0x2001, 0, 1))?;
    /// let mut bytes = [0u8; 56];
    /// request.encode(&mut bytes)?;
    /// assert_eq!(SignalRequest::parse(&bytes)?.convention(), CallingConvention::Memory);
    ///
    /// // One byte short of what the header declares: an input-size failure.
    /// let error = ParseError::SizeMismatch { declared: 56, actual: 55 };
    /// assert_eq!(SignalRequest::parse(&bytes[..55]), Err(error));
    /// assert_eq!(error.nt_status(), STATUS_INVALID_BUFFER_SIZE);
    ///
    /// // Repeat count 0 (bytes 48..52 of operation 0): malformed.
    /// bytes[48] = 0;
    /// let error = ParseError::Operation { index: 0, error: OperationError::ZeroRepeat };
    /// assert_eq!(SignalRequest::parse(&bytes), Err(error));
    /// assert_eq!(error.failure(), Failure::Malformed);
    /// assert_eq!(error.nt_status(), STATUS_INVALID_PARAMETER);
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut request = Self::new(CallingConvention::Fast, false);
        request.parse_into(bytes)?;
        Ok(request)
    }

    /// [`Self::parse`] into an existing request, overwriting it: the driver keeps one request
    /// in its device context and parses every IOCTL into it, so no request is ever built or
    /// copied on the kernel stack.
    ///
    /// # Errors
    /// As [`Self::parse`]; on error `self` holds an empty request.
    pub fn parse_into(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        let parsed = self.parse_entries(bytes);
        if parsed.is_err() {
            self.count = 0;
            self.total_calls = 0;
        }
        parsed
    }

    /// [`Self::parse_into`]'s work; may leave a partial request behind on error.
    fn parse_entries(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        self.count = 0;
        self.total_calls = 0;
        let Ok((header, entries)) = SignalRequestHeader::read_from_prefix(bytes) else {
            return Err(ParseError::TooShort { len: bytes.len() });
        };
        let h = header.header;
        h.check(KIND_SIGNAL_REQUEST)?;
        if usize::try_from(h.size).ok() != Some(bytes.len()) {
            return Err(ParseError::SizeMismatch {
                declared: h.size,
                actual: bytes.len(),
            });
        }
        if h.reserved != 0 || header.timer_overhead_cycles != 0 {
            return Err(ParseError::HeaderReservedNonZero);
        }
        let Some(convention) = CallingConvention::from_wire(header.convention) else {
            return Err(ParseError::UnknownConvention {
                found: header.convention,
            });
        };
        if header.flags & !SIGNAL_FLAGS_ALL != 0 {
            return Err(ParseError::UnknownFlags {
                flags: header.flags & !SIGNAL_FLAGS_ALL,
            });
        }
        let count = header.operation_count;
        if count == 0 {
            return Err(ParseError::NoOperations);
        }
        let count_usize = usize::try_from(count).unwrap_or(usize::MAX);
        if count_usize > MAX_OPERATIONS {
            return Err(ParseError::TooManyOperations { count });
        }
        let needed = signal_request_size(count_usize);
        if needed > bytes.len() {
            return Err(ParseError::EntriesBeyondBuffer {
                count,
                len: bytes.len(),
            });
        }
        if needed < bytes.len() {
            return Err(ParseError::TrailingBytes {
                count,
                len: bytes.len(),
            });
        }
        self.convention = convention;
        self.raw = header.flags & SIGNAL_FLAG_RAW != 0;
        for chunk in entries.chunks_exact(OPERATION_ENTRY_SIZE) {
            let Ok(entry) = OperationEntry::read_from_bytes(chunk) else {
                return Err(ParseError::EntriesBeyondBuffer {
                    count,
                    len: bytes.len(),
                });
            };
            self.push(Operation::from_entry(&entry))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ntstatus::{
        STATUS_INVALID_BUFFER_SIZE, STATUS_INVALID_PARAMETER, STATUS_REVISION_MISMATCH,
    };
    use hvcall::CONNECTION_ID_MASK;
    use proptest::prelude::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    fn encode(request: &SignalRequest) -> Vec<u8> {
        let mut out = vec![0u8; request.encoded_len()];
        assert_eq!(request.encode(&mut out), Ok(out.len()));
        out
    }

    fn one_op_bytes() -> Vec<u8> {
        let mut r = SignalRequest::new(CallingConvention::Fast, false);
        r.push(Operation::new(0x2001, 3, 10)).unwrap();
        encode(&r)
    }

    /// Writes `value` at `offset` (little-endian) and returns the bytes.
    fn patch(mut bytes: Vec<u8>, offset: usize, value: &[u8]) -> Vec<u8> {
        bytes[offset..offset + value.len()].copy_from_slice(value);
        bytes
    }

    #[test]
    fn encoding_is_byte_exact() {
        let bytes = one_op_bytes();
        let expected: Vec<u8> = [
            &b"HvSg"[..],
            &[2, 0, 2, 0],            // version 2, kind 2
            &56u32.to_le_bytes(),     // size
            &[0; 4],                  // reserved
            &[0; 4],                  // convention fast
            &[0; 4],                  // flags
            &1u32.to_le_bytes(),      // count
            &[0; 4],                  // reserved
            &0x2001u32.to_le_bytes(), // connection id
            &3u16.to_le_bytes(),      // flag
            &[0; 2],                  // rsvd_z
            &[0; 8],                  // extra control
            &10u32.to_le_bytes(),     // repeat
            &[0; 4],                  // input offset, reserved
        ]
        .concat();
        assert_eq!(bytes, expected);
        let parsed = SignalRequest::parse(&bytes).unwrap();
        assert_eq!(parsed.operations(), &[Operation::new(0x2001, 3, 10)]);
        assert_eq!(parsed.convention(), CallingConvention::Fast);
        assert!(!parsed.raw());
        assert_eq!(parsed.total_calls(), 10);
    }

    #[test]
    fn raw_request_round_trips() {
        let mut r = SignalRequest::new(CallingConvention::Memory, true);
        let op = Operation {
            connection_id: 0xAB00_2001,
            flag_number: 7,
            rsvd_z: 0x55,
            extra_control: 1 << 60 | 1 << 31 | 3 << 32,
            repeat: 2,
            input_offset: 4088,
            options: OPTION_SAMPLES,
        };
        r.push(op).unwrap();
        r.push(Operation::new(5, 0, 1)).unwrap();
        let bytes = encode(&r);
        assert_eq!(bytes.len(), 80);
        assert_eq!(SignalRequest::parse(&bytes).unwrap(), r);
        assert_eq!(
            op.control(CallingConvention::Memory).raw(),
            0x5D | 1 << 60 | 1 << 31 | 3 << 32
        );
        assert_eq!(
            op.control(CallingConvention::Fast).raw(),
            0x1_005D | 1 << 60 | 1 << 31 | 3 << 32
        );
        assert!(op.uses_raw_fields());
        assert!(!Operation::new(5, 0, 1).uses_raw_fields());
    }

    fn parse_err(bytes: &[u8]) -> ParseError {
        SignalRequest::parse(bytes).unwrap_err()
    }

    #[test]
    fn every_header_error_is_specific() {
        let good = one_op_bytes();
        assert_eq!(parse_err(&[]), ParseError::TooShort { len: 0 });
        assert_eq!(parse_err(&good[..31]), ParseError::TooShort { len: 31 });
        assert_eq!(
            parse_err(&patch(good.clone(), 0, b"XvSg")),
            ParseError::Header(HeaderMismatch::BadMagic {
                found: u32::from_le_bytes(*b"XvSg")
            })
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 4, &3u16.to_le_bytes())),
            ParseError::Header(HeaderMismatch::UnsupportedVersion { found: 3 })
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 6, &3u16.to_le_bytes())),
            ParseError::Header(HeaderMismatch::WrongKind {
                found: 3,
                expected: KIND_SIGNAL_REQUEST
            })
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 8, &57u32.to_le_bytes())),
            ParseError::SizeMismatch {
                declared: 57,
                actual: 56
            }
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 12, &[1])),
            ParseError::HeaderReservedNonZero
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 28, &[1])),
            ParseError::HeaderReservedNonZero
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 16, &2u32.to_le_bytes())),
            ParseError::UnknownConvention { found: 2 }
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 20, &0x8001u32.to_le_bytes())),
            ParseError::UnknownFlags { flags: 0x8000 }
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 24, &0u32.to_le_bytes())),
            ParseError::NoOperations
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 24, &65u32.to_le_bytes())),
            ParseError::TooManyOperations { count: 65 }
        );
        assert_eq!(
            parse_err(&patch(good.clone(), 24, &2u32.to_le_bytes())),
            ParseError::EntriesBeyondBuffer { count: 2, len: 56 }
        );
        let mut longer = good.clone();
        longer.extend_from_slice(&[0; 8]);
        let longer = patch(longer, 8, &64u32.to_le_bytes());
        assert_eq!(
            parse_err(&longer),
            ParseError::TrailingBytes { count: 1, len: 64 }
        );
    }

    #[test]
    fn every_operation_error_is_specific() {
        let good = one_op_bytes();
        let op_err = |bytes: Vec<u8>| match parse_err(&bytes) {
            ParseError::Operation { index: 0, error } => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            op_err(patch(good.clone(), 48, &0u32.to_le_bytes())),
            OperationError::ZeroRepeat
        );
        assert_eq!(
            op_err(patch(good.clone(), 48, &10_001u32.to_le_bytes())),
            OperationError::RepeatTooLarge { repeat: 10_001 }
        );
        assert_eq!(
            op_err(patch(good.clone(), 32, &0x0100_0000u32.to_le_bytes())),
            OperationError::ConnectionIdTooLarge(SignalInputError {
                connection_id: 0x0100_0000
            })
        );
        assert_eq!(
            op_err(patch(good.clone(), 38, &9u16.to_le_bytes())),
            OperationError::RawFieldWithoutRawMode {
                field: RawField::RsvdZ,
                value: 9
            }
        );
        assert_eq!(
            op_err(patch(good.clone(), 40, &(1u64 << 32).to_le_bytes())),
            OperationError::RawFieldWithoutRawMode {
                field: RawField::ControlBits,
                value: 1 << 32
            }
        );
        assert_eq!(
            op_err(patch(good.clone(), 52, &8u16.to_le_bytes())),
            OperationError::RawFieldWithoutRawMode {
                field: RawField::InputOffset,
                value: 8
            }
        );
        assert_eq!(
            op_err(patch(good.clone(), 54, &2u16.to_le_bytes())),
            OperationError::UnknownOptions { value: 2 }
        );
        // Raw mode: the call code and fast bit stay out of reach; offsets need the memory
        // convention and must lie in the page.
        let raw = patch(good.clone(), 20, &1u32.to_le_bytes());
        assert_eq!(
            op_err(patch(raw.clone(), 40, &0x1_0000u64.to_le_bytes())),
            OperationError::FixedControlBits { bits: 0x1_0000 }
        );
        assert_eq!(
            op_err(patch(raw.clone(), 40, &0x5Eu64.to_le_bytes())),
            OperationError::FixedControlBits { bits: 0x5E }
        );
        assert_eq!(
            op_err(patch(raw.clone(), 52, &8u16.to_le_bytes())),
            OperationError::InputOffsetWithFastConvention { offset: 8 }
        );
        let raw_memory = patch(raw.clone(), 16, &1u32.to_le_bytes());
        assert_eq!(
            op_err(patch(raw_memory.clone(), 52, &4096u16.to_le_bytes())),
            OperationError::InputOffsetTooLarge { offset: 4096 }
        );
        assert_eq!(
            op_err(patch(raw_memory.clone(), 52, &4089u16.to_le_bytes())),
            OperationError::InputBeyondPage {
                offset: 4089,
                size: 8
            }
        );
        assert!(SignalRequest::parse(&patch(raw_memory, 52, &4088u16.to_le_bytes())).is_ok());
        assert!(SignalRequest::parse(&patch(raw, 32, &0xFF00_0001u32.to_le_bytes())).is_ok());
        // The program's own requests meet the same rule: an unknown option is refused when the
        // operation is added, not first by the driver.
        let mut unknown = Operation::new(1, 0, 1);
        unknown.options = 2;
        assert_eq!(
            SignalRequest::new(CallingConvention::Fast, false).push(unknown),
            Err(ParseError::Operation {
                index: 0,
                error: OperationError::UnknownOptions { value: 2 }
            })
        );
    }

    #[test]
    fn limits_on_operations_and_calls() {
        let mut r = SignalRequest::new(CallingConvention::Fast, false);
        for i in 0..64 {
            r.push(Operation::new(i, 0, 100)).unwrap();
        }
        assert_eq!(
            r.push(Operation::new(1, 0, 1)),
            Err(ParseError::TooManyOperations { count: 65 })
        );
        assert_eq!(r.operations().len(), 64);
        assert_eq!(r.total_calls(), 6400);
        let bytes = encode(&r);
        assert_eq!(bytes.len(), 1568);
        assert_eq!(SignalRequest::parse(&bytes).unwrap(), r);

        let mut r = SignalRequest::new(CallingConvention::Fast, false);
        r.push(Operation::new(1, 0, 10_000)).unwrap();
        assert_eq!(
            r.push(Operation::new(1, 0, 1)),
            Err(ParseError::TooManyCalls { total: 10_001 })
        );
        // The same, arriving as bytes.
        let mut two = SignalRequest::new(CallingConvention::Fast, false);
        two.push(Operation::new(1, 0, 5_000)).unwrap();
        two.push(Operation::new(1, 0, 5_000)).unwrap();
        let bytes = patch(encode(&two), 72, &5_001u32.to_le_bytes());
        assert_eq!(
            parse_err(&bytes),
            ParseError::TooManyCalls { total: 10_001 }
        );
        let bytes = patch(encode(&two), 72, &0u32.to_le_bytes());
        assert_eq!(
            parse_err(&bytes),
            ParseError::Operation {
                index: 1,
                error: OperationError::ZeroRepeat
            }
        );
    }

    #[test]
    fn errors_map_to_their_statuses_and_read_well() {
        assert_eq!(
            ParseError::TooShort { len: 3 }.nt_status(),
            STATUS_INVALID_BUFFER_SIZE
        );
        assert_eq!(
            ParseError::Header(HeaderMismatch::UnsupportedVersion { found: 9 }).nt_status(),
            STATUS_REVISION_MISMATCH
        );
        assert_eq!(
            ParseError::NoOperations.nt_status(),
            STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            ParseError::Operation {
                index: 2,
                error: OperationError::ConnectionIdTooLarge(SignalInputError {
                    connection_id: 0x0100_0000
                })
            }
            .to_string(),
            "operation 2: connection id 0x1000000 does not fit 24 bits (0 to 0xffffff); bits 31:24 are reserved"
        );
        assert_eq!(
            ParseError::EntriesBeyondBuffer { count: 2, len: 56 }.to_string(),
            "2 operations need 80 bytes, but the request is only 56 bytes"
        );
    }

    #[test]
    fn encode_refuses_a_short_buffer() {
        let mut r = SignalRequest::new(CallingConvention::Fast, false);
        r.push(Operation::new(1, 0, 1)).unwrap();
        let mut small = [0u8; 55];
        assert_eq!(
            r.encode(&mut small),
            Err(EncodeError {
                needed: 56,
                len: 55
            })
        );
    }

    #[test]
    fn parsed_request_fits_a_kernel_stack() {
        assert!(core::mem::size_of::<SignalRequest>() <= 1600);
    }

    fn arb_operation() -> impl Strategy<Value = Operation> {
        (
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u64>(),
            0u32..12_000,
            any::<u16>(),
            any::<u16>(),
        )
            .prop_map(
                |(
                    connection_id,
                    flag_number,
                    rsvd_z,
                    extra_control,
                    repeat,
                    input_offset,
                    options,
                )| {
                    Operation {
                        connection_id,
                        flag_number,
                        rsvd_z,
                        extra_control,
                        repeat,
                        input_offset,
                        options,
                    }
                },
            )
    }

    /// Makes an arbitrary operation valid for a request with this convention and raw flag.
    fn normalise(op: Operation, convention: CallingConvention, raw: bool) -> Operation {
        let fitted = fit_in_page(op);
        let op = if convention.is_fast() { op } else { fitted };
        Operation {
            connection_id: if raw {
                op.connection_id
            } else {
                op.connection_id & CONNECTION_ID_MASK
            },
            flag_number: op.flag_number,
            rsvd_z: if raw { op.rsvd_z } else { 0 },
            extra_control: if raw {
                op.extra_control & !FIXED_CONTROL_BITS
            } else {
                0
            },
            repeat: op.repeat % 1000 + 1,
            input_offset: if raw && !convention.is_fast() {
                op.input_offset
            } else {
                0
            },
            options: op.options & OPTIONS_ALL,
        }
    }

    /// Shrinks a memory-convention operation's variable header and offset so that its input
    /// ends inside the page (the rule `InputBeyondPage` enforces).
    fn fit_in_page(mut op: Operation) -> Operation {
        let header_mask = u64::from(HypercallControl::VARIABLE_HEADER_MAX)
            << HypercallControl::VARIABLE_HEADER_SHIFT;
        let qwords = (op.extra_control & header_mask) >> HypercallControl::VARIABLE_HEADER_SHIFT;
        let qwords = qwords % 511;
        op.extra_control =
            op.extra_control & !header_mask | qwords << HypercallControl::VARIABLE_HEADER_SHIFT;
        let room = u16::try_from(PAGE_SIZE - op.memory_input_size()).unwrap_or(0);
        op.input_offset %= room + 1;
        op
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = SignalRequest::parse(&bytes);
        }

        #[test]
        fn valid_requests_round_trip(raw: bool, memory: bool,
                                     ops in proptest::collection::vec(arb_operation(), 1..8)) {
            let convention = if memory { CallingConvention::Memory } else { CallingConvention::Fast };
            let mut r = SignalRequest::new(convention, raw);
            for op in &ops {
                r.push(normalise(*op, convention, raw)).unwrap();
            }
            // Unnormalised operations are accepted exactly when they are valid.
            let mut checked = SignalRequest::new(convention, raw);
            for op in &ops {
                let fits = checked.total_calls() + op.repeat <= MAX_CALLS_PER_REQUEST;
                let valid = op.validate(convention, raw).is_ok();
                prop_assert_eq!(checked.push(*op).is_ok(), valid && fits);
            }
            let bytes = encode(&r);
            let parsed = SignalRequest::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &r);
            for op in parsed.operations() {
                prop_assert_eq!(op.control(convention).call_code(), 0x5D);
                prop_assert_eq!(op.control(convention).fast(), !memory);
                prop_assert!(raw || !op.uses_raw_fields());
            }
        }

        #[test]
        fn mutated_requests_parse_or_fail_cleanly(ops in proptest::collection::vec(arb_operation(), 1..4),
                                                  at in 0usize..128, value: u8) {
            let mut r = SignalRequest::new(CallingConvention::Memory, true);
            for op in ops { r.push(normalise(op, CallingConvention::Memory, true)).unwrap(); }
            let mut bytes = encode(&r);
            let at = at % bytes.len();
            bytes[at] = value;
            if let Ok(parsed) = SignalRequest::parse(&bytes) {
                // What parses re-encodes to the same bytes.
                prop_assert_eq!(encode(&parsed), bytes);
            }
        }
    }
}

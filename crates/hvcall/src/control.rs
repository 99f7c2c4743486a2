//! The hypercall input value ("control word") passed in RCX.
//!
//! Layout (x64, current TLFS, OpenVMM `hvdef::Control`, Linux `hvgdk_mini.h`):
//!
//! | bits  | field                                        |
//! |-------|----------------------------------------------|
//! | 15:0  | call code                                    |
//! | 16    | fast (register calling convention)           |
//! | 26:17 | variable header size, in 8-byte units        |
//! | 30:27 | reserved, must be zero                       |
//! | 31    | is nested (handled by the L0 hypervisor)     |
//! | 43:32 | rep count                                    |
//! | 47:44 | reserved, must be zero                       |
//! | 59:48 | rep start index                              |
//! | 63:60 | reserved, must be zero                       |
//!
//! Older TLFS editions (6.0b) place "is nested" at bit 26 and give the variable header 9 bits;
//! the layout above is the one every current implementation uses.

use core::fmt;

/// Call code of `HvCallSignalEvent`.
pub const SIGNAL_EVENT: u16 = 0x005D;

/// A field of the control word, named in errors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ControlField {
    /// Bits 26:17.
    VariableHeaderSize,
    /// Bits 43:32.
    RepCount,
    /// Bits 59:48.
    RepStart,
    /// Bits 30:27, 47:44 and 63:60.
    ReservedBits,
}

impl ControlField {
    /// The field's name as the TLFS and this project's command line spell it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::VariableHeaderSize => "variable header size",
            Self::RepCount => "rep count",
            Self::RepStart => "rep start index",
            Self::ReservedBits => "reserved control bits",
        }
    }
}

/// A value that does not fit the control-word field it was meant for. Nothing is truncated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ControlError {
    /// The field being set.
    pub field: ControlField,
    /// The value that was refused.
    pub value: u64,
    /// The largest value the field holds, or for reserved bits the mask of allowed bits.
    pub allowed: u64,
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            ControlField::ReservedBits => write!(
                f,
                "{:#x} sets bits outside the reserved control-word bits (allowed mask {:#x}: bits 30:27, 47:44, 63:60)",
                self.value, self.allowed
            ),
            field => write!(
                f,
                "{} {} does not fit its field (0 to {})",
                field.name(),
                self.value,
                self.allowed
            ),
        }
    }
}

impl core::error::Error for ControlError {}

/// The hypercall input value (RCX). A plain `u64` with typed accessors; any `u64` is
/// representable so that raw values read back from a caller can be inspected as they are.
///
/// # Examples
///
/// Building a word field by field; each `with_*` that takes a number refuses a value its field
/// cannot hold instead of truncating it:
///
/// ```
/// use hvcall::{ControlField, HypercallControl, SIGNAL_EVENT};
///
/// let word = HypercallControl::new(SIGNAL_EVENT)
///     .with_fast(true)
///     .with_rep_count(2)?   // bits 43:32
///     .with_rep_start(1)?;  // bits 59:48
/// assert_eq!(word.raw(), 0x0001_0002_0001_005D);
/// assert_eq!((word.call_code(), word.fast()), (0x005D, true));
/// assert_eq!((word.rep_count(), word.rep_start()), (2, 1));
/// assert!(!word.is_plain_simple_call()); // SignalEvent is not a rep call
///
/// // The rep count is 12 bits wide: 4096 does not fit.
/// let error = word.with_rep_count(0x1000).err();
/// assert_eq!(
///     error.map(|e| (e.field, e.value, e.allowed)),
///     Some((ControlField::RepCount, 0x1000, 0xFFF))
/// );
/// # Ok::<(), hvcall::ControlError>(())
/// ```
///
/// Decoding a raw RCX value as a caller passed it:
///
/// ```
/// use hvcall::HypercallControl;
///
/// // The fast SignalEvent word with "is nested" (bit 31) and reserved bit 60 set.
/// let word = HypercallControl::from_raw(0x1000_0000_8001_005D);
/// assert_eq!(word.call_code(), 0x005D);
/// assert!(word.fast() && word.nested());
/// assert_eq!(word.reserved_bits(), 1 << 60);
/// assert_eq!(word.variable_header_size(), 0);
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HypercallControl(u64);

// The register (or field) it is, checked at compile time.
const _: () = assert!(size_of::<HypercallControl>() == 8);

impl HypercallControl {
    /// Bits 15:0.
    pub const CALL_CODE_MASK: u64 = 0xFFFF;
    /// Bit 16.
    pub const FAST_BIT: u64 = 1 << 16;
    /// First bit of the variable header size.
    pub const VARIABLE_HEADER_SHIFT: u32 = 17;
    /// Largest variable header size (10 bits).
    pub const VARIABLE_HEADER_MAX: u16 = 0x3FF;
    /// Bit 31.
    pub const NESTED_BIT: u64 = 1 << 31;
    /// First bit of the rep count.
    pub const REP_COUNT_SHIFT: u32 = 32;
    /// First bit of the rep start index.
    pub const REP_START_SHIFT: u32 = 48;
    /// Largest rep count or rep start index (12 bits).
    pub const REP_MAX: u16 = 0xFFF;
    /// The reserved, must-be-zero bits: 30:27, 47:44 and 63:60.
    pub const RESERVED_MASK: u64 = (0xF << 27) | (0xF << 44) | (0xF << 60);

    const VARIABLE_HEADER_MASK: u64 =
        (Self::VARIABLE_HEADER_MAX as u64) << Self::VARIABLE_HEADER_SHIFT;
    const REP_COUNT_MASK: u64 = (Self::REP_MAX as u64) << Self::REP_COUNT_SHIFT;
    const REP_START_MASK: u64 = (Self::REP_MAX as u64) << Self::REP_START_SHIFT;

    /// A control word with the given call code and every other field zero (memory convention).
    #[must_use]
    pub const fn new(call_code: u16) -> Self {
        Self(call_code as u64)
    }

    /// The well-formed `HvCallSignalEvent` control word: 0x5D, fast when asked, nothing else.
    /// The fast form is 0x1_005D.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::HypercallControl;
    ///
    /// assert_eq!(HypercallControl::signal_event(true).raw(), 0x0001_005D);
    /// assert_eq!(HypercallControl::signal_event(false).raw(), 0x0000_005D);
    /// assert!(HypercallControl::signal_event(true).is_plain_simple_call());
    /// ```
    #[must_use]
    pub const fn signal_event(fast: bool) -> Self {
        Self::new(SIGNAL_EVENT).with_fast(fast)
    }

    /// Reinterprets a raw RCX value.
    #[must_use]
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw RCX value.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Bits 15:0.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 16 bits first")]
    pub const fn call_code(self) -> u16 {
        (self.0 & Self::CALL_CODE_MASK) as u16
    }

    /// Bit 16: register (fast) calling convention.
    #[must_use]
    pub const fn fast(self) -> bool {
        self.0 & Self::FAST_BIT != 0
    }

    /// Bits 26:17, in 8-byte units.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 10 bits first")]
    pub const fn variable_header_size(self) -> u16 {
        ((self.0 & Self::VARIABLE_HEADER_MASK) >> Self::VARIABLE_HEADER_SHIFT) as u16
    }

    /// Bit 31.
    #[must_use]
    pub const fn nested(self) -> bool {
        self.0 & Self::NESTED_BIT != 0
    }

    /// Bits 43:32.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 12 bits first")]
    pub const fn rep_count(self) -> u16 {
        ((self.0 & Self::REP_COUNT_MASK) >> Self::REP_COUNT_SHIFT) as u16
    }

    /// Bits 59:48.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 12 bits first")]
    pub const fn rep_start(self) -> u16 {
        ((self.0 & Self::REP_START_MASK) >> Self::REP_START_SHIFT) as u16
    }

    /// The reserved bits that are set, in place (a subset of [`Self::RESERVED_MASK`]).
    #[must_use]
    pub const fn reserved_bits(self) -> u64 {
        self.0 & Self::RESERVED_MASK
    }

    /// Sets or clears bit 16.
    #[must_use]
    pub const fn with_fast(self, fast: bool) -> Self {
        if fast {
            Self(self.0 | Self::FAST_BIT)
        } else {
            Self(self.0 & !Self::FAST_BIT)
        }
    }

    /// Sets or clears bit 31.
    #[must_use]
    pub const fn with_nested(self, nested: bool) -> Self {
        if nested {
            Self(self.0 | Self::NESTED_BIT)
        } else {
            Self(self.0 & !Self::NESTED_BIT)
        }
    }

    /// Sets bits 26:17.
    ///
    /// # Errors
    /// `size` above [`Self::VARIABLE_HEADER_MAX`].
    pub const fn with_variable_header_size(self, size: u16) -> Result<Self, ControlError> {
        if size > Self::VARIABLE_HEADER_MAX {
            return Err(ControlError {
                field: ControlField::VariableHeaderSize,
                value: size as u64,
                allowed: Self::VARIABLE_HEADER_MAX as u64,
            });
        }
        Ok(Self(
            (self.0 & !Self::VARIABLE_HEADER_MASK) | ((size as u64) << Self::VARIABLE_HEADER_SHIFT),
        ))
    }

    /// Sets bits 43:32.
    ///
    /// # Errors
    /// `count` above [`Self::REP_MAX`].
    pub const fn with_rep_count(self, count: u16) -> Result<Self, ControlError> {
        if count > Self::REP_MAX {
            return Err(ControlError {
                field: ControlField::RepCount,
                value: count as u64,
                allowed: Self::REP_MAX as u64,
            });
        }
        Ok(Self(
            (self.0 & !Self::REP_COUNT_MASK) | ((count as u64) << Self::REP_COUNT_SHIFT),
        ))
    }

    /// Sets bits 59:48.
    ///
    /// # Errors
    /// `start` above [`Self::REP_MAX`].
    pub const fn with_rep_start(self, start: u16) -> Result<Self, ControlError> {
        if start > Self::REP_MAX {
            return Err(ControlError {
                field: ControlField::RepStart,
                value: start as u64,
                allowed: Self::REP_MAX as u64,
            });
        }
        Ok(Self(
            (self.0 & !Self::REP_START_MASK) | ((start as u64) << Self::REP_START_SHIFT),
        ))
    }

    /// Replaces the reserved bits with `bits`, given in place (e.g. `1 << 60`).
    ///
    /// # Errors
    /// `bits` has a bit outside [`Self::RESERVED_MASK`].
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{ControlField, HypercallControl};
    ///
    /// let word = HypercallControl::signal_event(true).with_reserved_bits(1 << 60)?;
    /// assert_eq!(word.raw(), 0x1000_0000_0001_005D);
    /// // Bit 16 is the fast bit, not a reserved one.
    /// let error = word.with_reserved_bits(1 << 16).err();
    /// assert_eq!(
    ///     error.map(|e| (e.field, e.allowed)),
    ///     Some((ControlField::ReservedBits, 0xF000_F000_7800_0000))
    /// );
    /// # Ok::<(), hvcall::ControlError>(())
    /// ```
    pub const fn with_reserved_bits(self, bits: u64) -> Result<Self, ControlError> {
        if bits & !Self::RESERVED_MASK != 0 {
            return Err(ControlError {
                field: ControlField::ReservedBits,
                value: bits,
                allowed: Self::RESERVED_MASK,
            });
        }
        Ok(Self((self.0 & !Self::RESERVED_MASK) | bits))
    }

    /// True when the word is a well-formed simple call: no rep fields, no variable header, no
    /// reserved bits, not nested. (The call code and fast bit are not judged.)
    #[must_use]
    pub const fn is_plain_simple_call(self) -> bool {
        self.0
            & (Self::VARIABLE_HEADER_MASK
                | Self::REP_COUNT_MASK
                | Self::REP_START_MASK
                | Self::RESERVED_MASK
                | Self::NESTED_BIT)
            == 0
    }
}

impl fmt::Debug for HypercallControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HypercallControl")
            .field("raw", &format_args!("{:#018x}", self.0))
            .field("call_code", &format_args!("{:#06x}", self.call_code()))
            .field("fast", &self.fast())
            .field("variable_header_size", &self.variable_header_size())
            .field("nested", &self.nested())
            .field("rep_count", &self.rep_count())
            .field("rep_start", &self.rep_start())
            .field(
                "reserved_bits",
                &format_args!("{:#x}", self.reserved_bits()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn fast_signal_event_word_is_0x1005d() {
        assert_eq!(
            HypercallControl::signal_event(true).raw(),
            0x0000_0000_0001_005D
        );
        assert_eq!(HypercallControl::signal_event(false).raw(), 0x5D);
        assert_eq!(SIGNAL_EVENT, 0x005D);
    }

    #[test]
    fn field_positions_match_the_tlfs() {
        let c = HypercallControl::new(0);
        assert_eq!(c.with_fast(true).raw(), 1 << 16);
        assert_eq!(c.with_variable_header_size(1).unwrap().raw(), 1 << 17);
        assert_eq!(
            c.with_variable_header_size(0x3FF).unwrap().raw(),
            0x3FF << 17
        );
        assert_eq!(c.with_nested(true).raw(), 1 << 31);
        assert_eq!(c.with_rep_count(1).unwrap().raw(), 1 << 32);
        assert_eq!(c.with_rep_count(0xFFF).unwrap().raw(), 0xFFF << 32);
        assert_eq!(c.with_rep_start(1).unwrap().raw(), 1 << 48);
        assert_eq!(c.with_rep_start(0xFFF).unwrap().raw(), 0xFFF << 48);
        assert_eq!(HypercallControl::RESERVED_MASK, 0xF000_F000_7800_0000);
    }

    #[test]
    fn out_of_range_values_are_refused_not_truncated() {
        let c = HypercallControl::signal_event(true);
        let e = c.with_variable_header_size(0x400).unwrap_err();
        assert_eq!(
            (e.field, e.value, e.allowed),
            (ControlField::VariableHeaderSize, 0x400, 0x3FF)
        );
        assert_eq!(
            c.with_rep_count(0x1000).unwrap_err().field,
            ControlField::RepCount
        );
        assert_eq!(
            c.with_rep_start(0x1000).unwrap_err().field,
            ControlField::RepStart
        );
        let e = c.with_reserved_bits(1 << 31).unwrap_err();
        assert_eq!(
            (e.field, e.allowed),
            (ControlField::ReservedBits, HypercallControl::RESERVED_MASK)
        );
        assert_eq!(c.with_reserved_bits(1).unwrap_err().value, 1);
    }

    #[test]
    fn plain_simple_call_detection() {
        assert!(HypercallControl::signal_event(true).is_plain_simple_call());
        assert!(
            !HypercallControl::signal_event(true)
                .with_nested(true)
                .is_plain_simple_call()
        );
        assert!(!HypercallControl::from_raw(0x1_005D | 1 << 60).is_plain_simple_call());
    }

    #[test]
    fn error_messages_name_field_and_range() {
        let e = HypercallControl::new(0).with_rep_count(5000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rep count 5000 does not fit its field (0 to 4095)"
        );
    }

    proptest! {
        #[test]
        fn every_field_round_trips(code: u16, fast: bool, nested: bool, vh in 0u16..=0x3FF,
                                   rc in 0u16..=0xFFF, rs in 0u16..=0xFFF, rsvd: u64) {
            let rsvd = rsvd & HypercallControl::RESERVED_MASK;
            let c = HypercallControl::new(code).with_fast(fast).with_nested(nested)
                .with_variable_header_size(vh).unwrap()
                .with_rep_count(rc).unwrap()
                .with_rep_start(rs).unwrap()
                .with_reserved_bits(rsvd).unwrap();
            prop_assert_eq!(c.call_code(), code);
            prop_assert_eq!(c.fast(), fast);
            prop_assert_eq!(c.nested(), nested);
            prop_assert_eq!(c.variable_header_size(), vh);
            prop_assert_eq!(c.rep_count(), rc);
            prop_assert_eq!(c.rep_start(), rs);
            prop_assert_eq!(c.reserved_bits(), rsvd);
        }

        #[test]
        fn raw_words_decode_and_rebuild_identically(raw: u64) {
            let c = HypercallControl::from_raw(raw);
            let rebuilt = HypercallControl::new(c.call_code()).with_fast(c.fast()).with_nested(c.nested())
                .with_variable_header_size(c.variable_header_size()).unwrap()
                .with_rep_count(c.rep_count()).unwrap()
                .with_rep_start(c.rep_start()).unwrap()
                .with_reserved_bits(c.reserved_bits()).unwrap();
            prop_assert_eq!(rebuilt.raw(), raw);
        }

        #[test]
        fn too_wide_values_are_refused(vh in 0x400u16.., rep in 0x1000u16..) {
            let c = HypercallControl::new(SIGNAL_EVENT);
            prop_assert!(c.with_variable_header_size(vh).is_err());
            prop_assert!(c.with_rep_count(rep).is_err());
            prop_assert!(c.with_rep_start(rep).is_err());
        }

        #[test]
        fn non_reserved_bits_are_refused(bits: u64) {
            prop_assume!(bits & !HypercallControl::RESERVED_MASK != 0);
            prop_assert!(HypercallControl::new(SIGNAL_EVENT).with_reserved_bits(bits).is_err());
        }
    }
}

//! Planning: what the command line (or a conformance case, or a fuzz log entry) asks for,
//! checked and turned into the protocol's operation, so that errors name the argument before
//! anything is sent. Describing a call for a report is `issued.rs`'s job.

use hvcall::{ControlError, HypercallControl, SignalInputError};
use hvsignal_proto::{CallingConvention, FIXED_CONTROL_BITS, Operation, OperationError};

use crate::cli::RawArgs;

/// Control-word bits `--control-bits` may set: everything but the call code and the fast bit.
pub const EXTRA_CONTROL_BITS: u64 = !FIXED_CONTROL_BITS;

/// Why a call cannot be planned: each names the argument at fault (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A connection id above 24 bits without raw mode (hvcall's rule, named after the option).
    #[error("--connection: {0}. Add --raw to send it anyway (raw mode)")]
    ConnectionIdTooLarge(SignalInputError),
    /// A control-word field (`--rep-count`, `--rep-start`, `--var-header`) out of range.
    #[error("{argument}: {source}")]
    ControlField {
        /// The option.
        argument: &'static str,
        /// What hvcall refused.
        source: ControlError,
    },
    /// `--control-bits` with any of bits 16:0.
    #[error(
        "--control-bits {0:#x}: bits 16:0 (call code and fast bit) are never settable, even in \
         raw mode; give bits 63:17 only (mask {EXTRA_CONTROL_BITS:#x})"
    )]
    FixedControlBits(u64),
    /// The protocol's validator refused the operation.
    #[error("the call cannot be issued: {0}")]
    Refused(OperationError),
}

/// The convention `--memory` selects.
#[must_use]
pub const fn convention(memory: bool) -> CallingConvention {
    if memory {
        CallingConvention::Memory
    } else {
        CallingConvention::Fast
    }
}

/// The operation (one call) of a connection id, a flag and the raw-mode options, checked as the
/// driver will check it.
///
/// # Errors
/// A connection id above 24 bits without raw mode, a control field out of range, control bits
/// outside bits 63:17, or anything else the protocol refuses.
pub fn plan(
    connection_id: u32,
    flag: u16,
    convention: CallingConvention,
    raw: &RawArgs,
) -> Result<Operation, PlanError> {
    // The fields are placed with hvcall's control-word layout; the protocol carries only the
    // bits above the call code and the fast bit, which the driver adds back.
    let field = |argument| move |source| PlanError::ControlField { argument, source };
    let mut control = HypercallControl::from_raw(0);
    if let Some(count) = raw.rep_count {
        control = control
            .with_rep_count(count)
            .map_err(field("--rep-count"))?;
    }
    if let Some(start) = raw.rep_start {
        control = control
            .with_rep_start(start)
            .map_err(field("--rep-start"))?;
    }
    if let Some(size) = raw.var_header {
        control = control
            .with_variable_header_size(size)
            .map_err(field("--var-header"))?;
    }
    let bits = raw.control_bits.unwrap_or(0);
    if bits & !EXTRA_CONTROL_BITS != 0 {
        return Err(PlanError::FixedControlBits(bits));
    }
    let operation = Operation {
        rsvd_z: raw.rsvd.unwrap_or(0),
        extra_control: control.raw() | bits,
        input_offset: raw.input_offset.unwrap_or(0),
        ..Operation::new(connection_id, flag, 1)
    };
    check(operation, convention, raw.is_raw())
}

/// `operation` (one call, its fields already typed: a fuzz log entry's, or [`plan`]'s), checked
/// as the driver will check it in `convention` and raw mode or not: the protocol's validator
/// decides, and a refusal of what an option sets names the option.
///
/// # Errors
/// A connection id above 24 bits without raw mode, or anything else the protocol refuses.
pub fn check(
    operation: Operation,
    convention: CallingConvention,
    raw_mode: bool,
) -> Result<Operation, PlanError> {
    match operation.validate(convention, raw_mode) {
        Ok(()) => Ok(operation),
        Err(OperationError::ConnectionIdTooLarge(error)) => {
            Err(PlanError::ConnectionIdTooLarge(error))
        }
        Err(error) => Err(PlanError::Refused(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: CallingConvention = CallingConvention::Fast;

    #[test]
    fn a_plain_call_has_no_raw_fields() {
        let op = plan(0x2001, 3, FAST, &RawArgs::default()).unwrap();
        assert_eq!(op, Operation::new(0x2001, 3, 1));
        assert_eq!(op.control(FAST).raw(), 0x1_005D);
        assert_eq!(op.input().to_rdx(), 0x0000_0003_0000_2001);
    }

    #[test]
    fn raw_fields_land_in_their_bits() {
        let raw = RawArgs {
            rsvd: Some(0x55),
            rep_count: Some(1),
            rep_start: Some(2),
            var_header: Some(3),
            control_bits: Some(1 << 60 | 1 << 31),
            ..RawArgs::default()
        };
        let op = plan(0xAB00_0001, 0, FAST, &raw).unwrap();
        assert_eq!(
            op.control(FAST).raw(),
            0x1_005D | 1 << 32 | 2 << 48 | 3 << 17 | 1 << 60 | 1 << 31
        );
        assert_eq!(op.input().to_rdx(), 0x0055_0000_AB00_0001);
    }

    #[test]
    fn refusals_name_the_argument() {
        let err = plan(0x0100_0000, 0, FAST, &RawArgs::default()).unwrap_err();
        assert!(
            err.to_string()
                == "--connection: connection id 0x1000000 does not fit 24 bits (0 to 0xffffff); \
                    bits 31:24 are reserved. Add --raw to send it anyway (raw mode)",
            "{err}"
        );
        let raw = RawArgs {
            control_bits: Some(1 << 16),
            ..RawArgs::default()
        };
        let err = plan(1, 0, FAST, &raw).unwrap_err();
        assert!(
            err.to_string().starts_with("--control-bits 0x10000: "),
            "{err}"
        );
        let raw = RawArgs {
            input_offset: Some(3),
            ..RawArgs::default()
        };
        let err = plan(1, 0, FAST, &raw).unwrap_err();
        assert!(
            err.to_string().contains("needs the memory convention"),
            "{err}"
        );
        let op = plan(1, 0, CallingConvention::Memory, &raw).unwrap();
        assert_eq!(op.input_offset, 3);
    }
}

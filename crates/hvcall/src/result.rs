//! The hypercall result value returned in RAX.
//!
//! Bits 15:0 hold the `HV_STATUS`, bits 43:32 the number of reps completed (absolute, not
//! relative to the start index); bits 31:16 and 63:44 are reserved and ignored by callers
//! (TLFS 6.0b, OpenVMM `HypercallOutput`; the web TLFS's "RsvdZ 63-40" is a documentation bug).

use crate::status::HvStatus;

/// The hypercall result value (RAX).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct HypercallResult(u64);

// The register (or field) it is, checked at compile time.
const _: () = assert!(size_of::<HypercallResult>() == 8);

impl HypercallResult {
    /// Reinterprets a raw RAX value.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{HvStatus, HypercallResult};
    ///
    /// // Status in bits 15:0, reps completed in bits 43:32; the reserved bits are ignored.
    /// let result = HypercallResult::from_raw(0xFFFF_F003_FFFF_0012);
    /// assert_eq!(result.status(), HvStatus::INVALID_CONNECTION_ID);
    /// assert_eq!(result.reps_completed(), 3);
    /// assert!(HypercallResult::from_raw(0).status().is_success());
    /// ```
    #[must_use]
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// A result carrying `status` and `reps_completed` (only the low 12 bits are kept): the
    /// hypervisor's side, as the reference model builds RAX.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{HvStatus, HypercallResult};
    ///
    /// assert_eq!(HypercallResult::new(HvStatus::ACCESS_DENIED, 0).raw(), 0x0006);
    /// assert_eq!(HypercallResult::new(HvStatus::SUCCESS, 0x1003).raw(), 0x0000_0003_0000_0000);
    /// ```
    #[must_use]
    pub const fn new(status: HvStatus, reps_completed: u16) -> Self {
        Self(status.code() as u64 | (((reps_completed & 0xFFF) as u64) << 32))
    }

    /// The raw RAX value.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Bits 15:0.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 16 bits first")]
    pub const fn status(self) -> HvStatus {
        HvStatus::from_code((self.0 & 0xFFFF) as u16)
    }

    /// Bits 43:32.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 12 bits first")]
    pub const fn reps_completed(self) -> u16 {
        ((self.0 >> 32) & 0xFFF) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_are_where_the_tlfs_puts_them() {
        let r = HypercallResult::from_raw(0xFFFF_FABC_FFFF_0012);
        assert_eq!(r.status(), HvStatus::INVALID_CONNECTION_ID);
        assert_eq!(r.reps_completed(), 0xABC);
        assert_eq!(HypercallResult::new(HvStatus::SUCCESS, 3).raw(), 3 << 32);
    }

    proptest! {
        #[test]
        fn status_and_reps_round_trip(code: u16, reps in 0u16..=0xFFF) {
            let r = HypercallResult::new(HvStatus::from_code(code), reps);
            prop_assert_eq!(r.status().code(), code);
            prop_assert_eq!(r.reps_completed(), reps);
        }
    }
}

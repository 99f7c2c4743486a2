//! The `HvCallSignalEvent` input: 8 bytes, 8-byte aligned (TLFS `HV_INPUT_SIGNAL_EVENT`).
//!
//! | offset | size | field                                                     |
//! |--------|------|-----------------------------------------------------------|
//! | 0      | 4    | ConnectionId: bits 23:0 the id, bits 31:24 reserved (zero)  |
//! | 4      | 2    | FlagNumber, relative to the port's BaseFlagNumber          |
//! | 6      | 2    | RsvdZ                                                     |
//!
//! In the fast convention the same 8 bytes travel in RDX as a little-endian `u64`:
//! `RDX = ConnectionId | FlagNumber << 32 | RsvdZ << 48`.

use core::fmt;

/// The 24 bits of `HV_CONNECTION_ID` that carry the id; bits 31:24 are reserved.
pub const CONNECTION_ID_MASK: u32 = 0x00FF_FFFF;

/// The 24 bits of `HV_PORT_ID` that carry the id; bits 31:24 are reserved (TLFS "Port IDs").
pub const PORT_ID_MASK: u32 = 0x00FF_FFFF;

/// The 24-bit connection-id rule, the one place it is checked: `connection_id` when no bit
/// above bit 23 is set.
///
/// # Errors
/// `connection_id` has a bit set in the reserved bits 31:24.
///
/// # Examples
///
/// ```
/// use hvcall::{SignalInputError, check_connection_id};
///
/// assert_eq!(check_connection_id(0x2001), Ok(0x2001));
/// assert_eq!(check_connection_id(0x00FF_FFFF), Ok(0x00FF_FFFF));
/// let error = SignalInputError { connection_id: 0x0100_0000 };
/// assert_eq!(check_connection_id(0x0100_0000), Err(error));
/// assert_eq!(
///     error.to_string(),
///     "connection id 0x1000000 does not fit 24 bits (0 to 0xffffff); bits 31:24 are reserved"
/// );
/// ```
pub const fn check_connection_id(connection_id: u32) -> Result<u32, SignalInputError> {
    if connection_id & !CONNECTION_ID_MASK != 0 {
        return Err(SignalInputError { connection_id });
    }
    Ok(connection_id)
}

/// A connection id that does not fit the 24-bit field ([`check_connection_id`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SignalInputError {
    /// The refused value.
    pub connection_id: u32,
}

impl fmt::Display for SignalInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection id {:#x} does not fit 24 bits (0 to {CONNECTION_ID_MASK:#x}); bits 31:24 are reserved",
            self.connection_id
        )
    }
}

impl core::error::Error for SignalInputError {}

/// The `HvCallSignalEvent` input. The fields hold exactly what travels to the hypervisor, so a
/// raw-mode caller can set the reserved parts; [`SignalEventInput::new`] builds only
/// well-formed inputs.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SignalEventInput {
    /// The whole 32-bit ConnectionId field, reserved bits 31:24 included.
    pub connection_id: u32,
    /// FlagNumber, relative to the port's base flag.
    pub flag_number: u16,
    /// The RsvdZ field (bytes 6–7).
    pub rsvd_z: u16,
}

// The wire size, checked against the layout at compile time.
const _: () = assert!(size_of::<SignalEventInput>() == SignalEventInput::SIZE);

impl SignalEventInput {
    /// Size of the input in bytes.
    pub const SIZE: usize = 8;

    /// A well-formed input: a 24-bit connection id, a flag number and RsvdZ zero.
    ///
    /// # Errors
    /// `connection_id` has a bit set above bit 23 ([`check_connection_id`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::SignalEventInput;
    ///
    /// let input = SignalEventInput::new(0x2001, 3)?;
    /// // Fast convention: the 8 bytes as one little-endian u64 in RDX.
    /// assert_eq!(input.to_rdx(), 0x0000_0003_0000_2001);
    /// // Memory convention: ConnectionId at offset 0, FlagNumber at 4, RsvdZ at 6.
    /// assert_eq!(input.to_bytes(), [0x01, 0x20, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00]);
    /// assert!(input.is_well_formed());
    ///
    /// assert!(SignalEventInput::new(0x0100_0000, 0).is_err());
    /// # Ok::<(), hvcall::SignalInputError>(())
    /// ```
    pub const fn new(connection_id: u32, flag_number: u16) -> Result<Self, SignalInputError> {
        if let Err(error) = check_connection_id(connection_id) {
            return Err(error);
        }
        Ok(Self {
            connection_id,
            flag_number,
            rsvd_z: 0,
        })
    }

    /// The fast-call RDX value.
    #[must_use]
    pub const fn to_rdx(self) -> u64 {
        self.connection_id as u64 | (self.flag_number as u64) << 32 | (self.rsvd_z as u64) << 48
    }

    /// Decodes a fast-call RDX value; every bit lands in a field, reserved ones included.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::SignalEventInput;
    ///
    /// // Connection-id byte 3 (reserved) is 0xAB and RsvdZ is 0x55: kept, and reported.
    /// let input = SignalEventInput::from_rdx(0x0055_0003_AB00_2001);
    /// assert_eq!((input.id(), input.connection_id_reserved()), (0x2001, 0xAB));
    /// assert_eq!((input.flag_number, input.rsvd_z), (3, 0x55));
    /// assert!(!input.is_well_formed());
    /// assert_eq!(input.to_rdx(), 0x0055_0003_AB00_2001);
    /// ```
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "each field is shifted down and truncated on purpose"
    )]
    pub const fn from_rdx(rdx: u64) -> Self {
        Self {
            connection_id: rdx as u32,
            flag_number: (rdx >> 32) as u16,
            rsvd_z: (rdx >> 48) as u16,
        }
    }

    /// The memory-convention bytes (little-endian, as the hypervisor reads them).
    #[must_use]
    pub const fn to_bytes(self) -> [u8; Self::SIZE] {
        self.to_rdx().to_le_bytes()
    }

    /// Decodes memory-convention bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::SIZE]) -> Self {
        Self::from_rdx(u64::from_le_bytes(bytes))
    }

    /// Bits 23:0 of the connection id field.
    #[must_use]
    pub const fn id(self) -> u32 {
        self.connection_id & CONNECTION_ID_MASK
    }

    /// Bits 31:24 of the connection id field (reserved).
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "the top byte, on purpose")]
    pub const fn connection_id_reserved(self) -> u8 {
        (self.connection_id >> 24) as u8
    }

    /// True when no reserved bit is set (connection id bits 31:24 and RsvdZ are zero).
    #[must_use]
    pub const fn is_well_formed(self) -> bool {
        self.connection_id_reserved() == 0 && self.rsvd_z == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rdx_is_connection_id_flag_and_rsvdz() {
        let input = SignalEventInput {
            connection_id: 0x2001,
            flag_number: 3,
            rsvd_z: 0x55,
        };
        assert_eq!(input.to_rdx(), 0x2001 | 3 << 32 | 0x55 << 48);
        assert_eq!(input.to_rdx(), 0x0055_0003_0000_2001);
        assert_eq!(
            input.to_bytes(),
            [0x01, 0x20, 0x00, 0x00, 0x03, 0x00, 0x55, 0x00]
        );
    }

    #[test]
    fn connection_ids_are_24_bits() {
        assert_eq!(CONNECTION_ID_MASK, 0x00FF_FFFF);
        assert!(SignalEventInput::new(0x00FF_FFFF, 0).is_ok());
        assert_eq!(
            SignalEventInput::new(0x0100_0000, 0),
            Err(SignalInputError {
                connection_id: 0x0100_0000
            })
        );
        let raw = SignalEventInput {
            connection_id: 0xAB00_2001,
            flag_number: 0,
            rsvd_z: 0,
        };
        assert_eq!((raw.id(), raw.connection_id_reserved()), (0x2001, 0xAB));
        assert!(!raw.is_well_formed());
    }

    proptest! {
        #[test]
        fn rdx_and_bytes_round_trip(connection_id: u32, flag_number: u16, rsvd_z: u16) {
            let input = SignalEventInput { connection_id, flag_number, rsvd_z };
            prop_assert_eq!(SignalEventInput::from_rdx(input.to_rdx()), input);
            prop_assert_eq!(SignalEventInput::from_bytes(input.to_bytes()), input);
            prop_assert_eq!(u64::from_le_bytes(input.to_bytes()), input.to_rdx());
        }

        #[test]
        fn new_accepts_exactly_24_bit_ids(connection_id: u32, flag: u16) {
            let result = SignalEventInput::new(connection_id, flag);
            prop_assert_eq!(result.is_ok(), connection_id <= CONNECTION_ID_MASK);
            if let Ok(input) = result {
                prop_assert!(input.is_well_formed());
                prop_assert_eq!(input.to_rdx(), u64::from(connection_id) | u64::from(flag) << 32);
            }
        }
    }
}

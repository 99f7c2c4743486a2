//! IOCTL codes, built exactly as the Windows `CTL_CODE` macro (`winioctl.h`, `devioctl.h`) builds
//! them:
//!
//! ```text
//! CTL_CODE(DeviceType, Function, Method, Access) =
//!     (DeviceType << 16) | (Access << 14) | (Function << 2) | Method
//! ```
//!
//! Both hvsignal requests use `FILE_DEVICE_UNKNOWN`, a customer function code (0x800 and up),
//! and `METHOD_BUFFERED` (the I/O manager copies the input into one system buffer that also
//! receives the output). The query needs read access to the handle, the signal request write
//! access; the I/O manager checks that before the driver sees the request.

/// `FILE_DEVICE_UNKNOWN` (0x22).
pub const FILE_DEVICE_UNKNOWN: u32 = 0x0000_0022;
/// `METHOD_BUFFERED`.
pub const METHOD_BUFFERED: u32 = 0;
/// `METHOD_IN_DIRECT`.
pub const METHOD_IN_DIRECT: u32 = 1;
/// `METHOD_OUT_DIRECT`.
pub const METHOD_OUT_DIRECT: u32 = 2;
/// `METHOD_NEITHER`.
pub const METHOD_NEITHER: u32 = 3;
/// `FILE_ANY_ACCESS`.
pub const FILE_ANY_ACCESS: u32 = 0;
/// `FILE_READ_ACCESS`.
pub const FILE_READ_ACCESS: u32 = 1;
/// `FILE_WRITE_ACCESS`.
pub const FILE_WRITE_ACCESS: u32 = 2;
/// First function code of the customer range (0x000–0x7FF are Microsoft's).
pub const CUSTOMER_FUNCTION_BASE: u32 = 0x800;

/// The `CTL_CODE` macro. Each argument is masked to its field (device type 16 bits, access 2,
/// function 12, method 2), as the fields are defined; callers pass in-range values.
///
/// # Examples
///
/// The two hvsignal codes (docs/PROTOCOL.md, IOCTL codes):
///
/// ```
/// use hvsignal_proto::ioctl::{
///     FILE_DEVICE_UNKNOWN, FILE_READ_ACCESS, FILE_WRITE_ACCESS, METHOD_BUFFERED,
/// };
/// use hvsignal_proto::{IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, ctl_code};
///
/// let query = ctl_code(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED, FILE_READ_ACCESS);
/// assert_eq!(query, 0x0022_6000);
/// assert_eq!(query, IOCTL_HVSIGNAL_QUERY);
/// assert_eq!(ctl_code(0x22, 0x801, 0, FILE_WRITE_ACCESS), 0x0022_A004);
/// assert_eq!(IOCTL_HVSIGNAL_SIGNAL, 0x0022_A004);
/// ```
#[must_use]
pub const fn ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
    ((device_type & 0xFFFF) << 16)
        | ((access & 0x3) << 14)
        | ((function & 0xFFF) << 2)
        | (method & 0x3)
}

/// The fields of an IOCTL code (the inverse of [`ctl_code`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IoctlFields {
    /// Bits 31:16.
    pub device_type: u32,
    /// Bits 15:14.
    pub access: u32,
    /// Bits 13:2.
    pub function: u32,
    /// Bits 1:0.
    pub method: u32,
}

/// Splits an IOCTL code into its fields.
///
/// # Examples
///
/// ```
/// use hvsignal_proto::ioctl::{IoctlFields, ioctl_fields};
///
/// // IOCTL_HVSIGNAL_SIGNAL: FILE_DEVICE_UNKNOWN, FILE_WRITE_ACCESS, function 0x801, METHOD_BUFFERED.
/// assert_eq!(
///     ioctl_fields(0x0022_A004),
///     IoctlFields { device_type: 0x22, access: 2, function: 0x801, method: 0 }
/// );
/// ```
#[must_use]
pub const fn ioctl_fields(code: u32) -> IoctlFields {
    IoctlFields {
        device_type: code >> 16,
        access: (code >> 14) & 0x3,
        function: (code >> 2) & 0xFFF,
        method: code & 0x3,
    }
}

/// Function code of the query.
pub const FUNCTION_QUERY: u32 = CUSTOMER_FUNCTION_BASE;
/// Function code of the signal request.
pub const FUNCTION_SIGNAL: u32 = CUSTOMER_FUNCTION_BASE + 1;

/// The query: no input; output a [`crate::QueryResponse`]. Read access. Value 0x0022_6000.
pub const IOCTL_HVSIGNAL_QUERY: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    FUNCTION_QUERY,
    METHOD_BUFFERED,
    FILE_READ_ACCESS,
);

/// The signal request: input a signal request, output a signal response. Write access.
/// Value 0x0022_A004.
pub const IOCTL_HVSIGNAL_SIGNAL: u32 = ctl_code(
    FILE_DEVICE_UNKNOWN,
    FUNCTION_SIGNAL,
    METHOD_BUFFERED,
    FILE_WRITE_ACCESS,
);

/// The requests the driver knows.
///
/// # Examples
///
/// ```
/// use hvsignal_proto::Ioctl;
///
/// assert_eq!(Ioctl::from_code(0x0022_6000), Some(Ioctl::Query));
/// assert_eq!(Ioctl::Signal.code(), 0x0022_A004);
/// assert_eq!(Ioctl::Signal.name(), "IOCTL_HVSIGNAL_SIGNAL");
/// // Any other code is not this driver's (it completes with STATUS_INVALID_DEVICE_REQUEST).
/// assert_eq!(Ioctl::from_code(0x0022_6004), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ioctl {
    /// [`IOCTL_HVSIGNAL_QUERY`].
    Query,
    /// [`IOCTL_HVSIGNAL_SIGNAL`].
    Signal,
}

impl Ioctl {
    /// The request with this code, or `None` for any other code.
    #[must_use]
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            IOCTL_HVSIGNAL_QUERY => Some(Self::Query),
            IOCTL_HVSIGNAL_SIGNAL => Some(Self::Signal),
            _ => None,
        }
    }

    /// The IOCTL code.
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            Self::Query => IOCTL_HVSIGNAL_QUERY,
            Self::Signal => IOCTL_HVSIGNAL_SIGNAL,
        }
    }

    /// The name used in docs and logs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Query => "IOCTL_HVSIGNAL_QUERY",
            Self::Signal => "IOCTL_HVSIGNAL_SIGNAL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CTL_CODE` written the way `winioctl.h` writes it, independently of [`ctl_code`].
    #[allow(
        clippy::identity_op,
        reason = "mirrors the header's expression term by term"
    )]
    const fn header_ctl_code(device_type: u32, function: u32, method: u32, access: u32) -> u32 {
        (device_type << 16) | (access << 14) | (function << 2) | method
    }

    #[test]
    fn codes_match_the_header_definition() {
        assert_eq!(IOCTL_HVSIGNAL_QUERY, header_ctl_code(0x22, 0x800, 0, 1),);
        assert_eq!(IOCTL_HVSIGNAL_SIGNAL, header_ctl_code(0x22, 0x801, 0, 2),);
        assert_eq!(IOCTL_HVSIGNAL_QUERY, 0x0022_6000);
        assert_eq!(IOCTL_HVSIGNAL_SIGNAL, 0x0022_A004);
    }

    #[test]
    fn ctl_code_reproduces_well_known_windows_ioctls() {
        // IOCTL_DISK_GET_DRIVE_GEOMETRY = CTL_CODE(IOCTL_DISK_BASE 7, 0, BUFFERED, ANY).
        assert_eq!(
            ctl_code(7, 0, METHOD_BUFFERED, FILE_ANY_ACCESS),
            0x0007_0000
        );
        // IOCTL_STORAGE_QUERY_PROPERTY = CTL_CODE(IOCTL_STORAGE_BASE 0x2D, 0x500, BUFFERED, ANY).
        assert_eq!(
            ctl_code(0x2D, 0x500, METHOD_BUFFERED, FILE_ANY_ACCESS),
            0x002D_1400
        );
        // FSCTL_GET_REPARSE_POINT = CTL_CODE(FILE_DEVICE_FILE_SYSTEM 9, 42, BUFFERED, ANY).
        assert_eq!(
            ctl_code(9, 42, METHOD_BUFFERED, FILE_ANY_ACCESS),
            0x0009_00A8
        );
        // IOCTL_DISK_SET_DRIVE_LAYOUT = CTL_CODE(7, 4, BUFFERED, READ | WRITE).
        assert_eq!(
            ctl_code(7, 4, METHOD_BUFFERED, FILE_READ_ACCESS | FILE_WRITE_ACCESS),
            0x0007_C010
        );
    }

    #[test]
    fn fields_round_trip_and_follow_the_conventions() {
        let q = ioctl_fields(IOCTL_HVSIGNAL_QUERY);
        assert_eq!(
            q,
            IoctlFields {
                device_type: FILE_DEVICE_UNKNOWN,
                access: FILE_READ_ACCESS,
                function: 0x800,
                method: METHOD_BUFFERED
            }
        );
        let s = ioctl_fields(IOCTL_HVSIGNAL_SIGNAL);
        assert_eq!(
            (s.device_type, s.access, s.function, s.method),
            (0x22, FILE_WRITE_ACCESS, 0x801, METHOD_BUFFERED)
        );
        for ioctl in [Ioctl::Query, Ioctl::Signal] {
            let f = ioctl_fields(ioctl.code());
            assert!(f.function >= CUSTOMER_FUNCTION_BASE);
            assert_eq!(
                ctl_code(f.device_type, f.function, f.method, f.access),
                ioctl.code()
            );
            assert_eq!(Ioctl::from_code(ioctl.code()), Some(ioctl));
        }
        assert_eq!(Ioctl::from_code(0), None);
        assert_eq!(Ioctl::from_code(IOCTL_HVSIGNAL_QUERY | 1), None);
        assert_eq!(Ioctl::Signal.name(), "IOCTL_HVSIGNAL_SIGNAL");
    }
}

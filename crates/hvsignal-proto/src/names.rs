//! The names every part of hvsignal agrees on: driver binary, service, hardware ID, raw-call
//! policy value, device security descriptor, the device interface GUID and the two TraceLogging
//! (ETW) providers. Each is defined once
//! here; the driver, the INF test, the console program and the VM harness use these constants.

use core::fmt;

/// The driver's service name (`HKLM\SYSTEM\CurrentControlSet\Services\HvSignal`).
pub const SERVICE_NAME: &str = "HvSignal";

/// The root-enumerated device's hardware ID, as written in the INF and given to `devcon`/`pnputil`.
pub const HARDWARE_ID: &str = "Root\\HvSignal";

/// The driver binary the package contains.
pub const DRIVER_BINARY: &str = "hvsignal_driver.sys";

/// The DWORD under the service's `Parameters` key that allows raw mode when it is 1.
pub const RAW_POLICY_VALUE_NAME: &str = "AllowRawHypercalls";

/// [`RAW_POLICY_VALUE_NAME`] as UTF-16 code units (no terminating NUL), the form the kernel's
/// registry calls take in a `UNICODE_STRING`.
pub const RAW_POLICY_VALUE_NAME_UTF16: [u16; RAW_POLICY_VALUE_NAME.len()] =
    ascii_to_utf16(RAW_POLICY_VALUE_NAME);

/// The byte length of [`RAW_POLICY_VALUE_NAME_UTF16`], as `UNICODE_STRING.Length` wants it.
pub const RAW_POLICY_VALUE_NAME_UTF16_BYTES: u16 =
    utf16_byte_length(RAW_POLICY_VALUE_NAME_UTF16.len());

/// The ASCII string `text` as `N` UTF-16 code units. Private and used only in `const` items, so
/// a wrong `N` or a non-ASCII byte stops the build: the assertions run in the compiler, never
/// in the kernel.
const fn ascii_to_utf16<const N: usize>(text: &str) -> [u16; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() == N, "N must be the length of the string");
    let mut out = [0u16; N];
    let mut rest = bytes;
    let mut slots: &mut [u16] = &mut out;
    while let ([byte, tail @ ..], [slot, free @ ..]) = (rest, slots) {
        assert!(byte.is_ascii(), "only ASCII strings are converted");
        *slot = *byte as u16;
        rest = tail;
        slots = free;
    }
    out
}

/// The byte length of `units` UTF-16 code units; a string longer than a `UNICODE_STRING` can
/// describe stops the build (used only in `const` items).
const fn utf16_byte_length(units: usize) -> u16 {
    let bytes = units.saturating_mul(2);
    assert!(
        bytes <= u16::MAX as usize,
        "a UNICODE_STRING holds at most 65535 bytes"
    );
    #[allow(
        clippy::cast_possible_truncation,
        reason = "checked by the assertion just above"
    )]
    let length = bytes as u16;
    length
}

/// The registry key (below `HKEY_LOCAL_MACHINE`) holding [`RAW_POLICY_VALUE_NAME`].
pub const POLICY_KEY_PATH: &str = "SYSTEM\\CurrentControlSet\\Services\\HvSignal\\Parameters";

/// The device's security descriptor: full access for LocalSystem and Administrators only
/// (`SDDL_DEVOBJ_SYS_ALL_ADM_ALL`).
pub const DEVICE_SDDL: &str = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";

/// A GUID in the Windows `GUID` layout (`Data1`–`Data4`).
///
/// # Examples
///
/// ```
/// use hvsignal_proto::{HVSIGNAL_INTERFACE_GUID, HVSIGNAL_INTERFACE_GUID_STR};
///
/// assert_eq!(HVSIGNAL_INTERFACE_GUID.to_string(), "{7705f10c-2086-488b-b836-3c5bb2b55a15}");
/// assert_eq!(HVSIGNAL_INTERFACE_GUID.to_string(), HVSIGNAL_INTERFACE_GUID_STR);
/// assert_eq!(&HVSIGNAL_INTERFACE_GUID.registry_format(), HVSIGNAL_INTERFACE_GUID_STR.as_bytes());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Guid {
    /// First 8 hex digits.
    pub data1: u32,
    /// Next 4 hex digits.
    pub data2: u16,
    /// Next 4 hex digits.
    pub data3: u16,
    /// Last 16 hex digits: 2 bytes, then (after a dash) 6 bytes.
    pub data4: [u8; 8],
}

/// Length of the registry format `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`.
pub const GUID_REGISTRY_FORMAT_LEN: usize = 38;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl Guid {
    /// The registry format with lowercase hex digits and braces, e.g.
    /// `{7705f10c-2086-488b-b836-3c5bb2b55a15}`, as ASCII bytes.
    #[must_use]
    #[allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        reason = "constant indices below 38 and nibble values below 16, checked at compile time"
    )]
    pub const fn registry_format(&self) -> [u8; GUID_REGISTRY_FORMAT_LEN] {
        let mut out = [0u8; GUID_REGISTRY_FORMAT_LEN];
        out[0] = b'{';
        out[9] = b'-';
        out[14] = b'-';
        out[19] = b'-';
        out[24] = b'-';
        out[37] = b'}';
        // Data1: 8 digits at 1..9, Data2: 4 at 10..14, Data3: 4 at 15..19.
        let mut i = 0;
        while i < 8 {
            out[1 + i] = HEX_DIGITS[((self.data1 >> (28 - 4 * i)) & 0xF) as usize];
            i += 1;
        }
        let mut i = 0;
        while i < 4 {
            out[10 + i] = HEX_DIGITS[((self.data2 >> (12 - 4 * i)) & 0xF) as usize];
            out[15 + i] = HEX_DIGITS[((self.data3 >> (12 - 4 * i)) & 0xF) as usize];
            i += 1;
        }
        // Data4: bytes 0–1 at 20..24, bytes 2–7 at 25..37.
        let mut b = 0;
        while b < 8 {
            let at = if b < 2 { 20 + 2 * b } else { 25 + 2 * (b - 2) };
            out[at] = HEX_DIGITS[(self.data4[b] >> 4) as usize];
            out[at + 1] = HEX_DIGITS[(self.data4[b] & 0xF) as usize];
            b += 1;
        }
        out
    }
}

impl fmt::Display for Guid {
    /// The registry format, lowercase: `{7705f10c-2086-488b-b836-3c5bb2b55a15}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.registry_format();
        // The bytes are ASCII by construction; a failure would be a bug, shown rather than hidden.
        match core::str::from_utf8(&bytes) {
            Ok(text) => f.write_str(text),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// The device interface the driver registers and the console program opens:
/// `{7705f10c-2086-488b-b836-3c5bb2b55a15}`.
pub const HVSIGNAL_INTERFACE_GUID: Guid = Guid {
    data1: 0x7705_f10c,
    data2: 0x2086,
    data3: 0x488b,
    data4: [0xb8, 0x36, 0x3c, 0x5b, 0xb2, 0xb5, 0x5a, 0x15],
};

/// [`HVSIGNAL_INTERFACE_GUID`] in registry format (a test checks the two agree).
pub const HVSIGNAL_INTERFACE_GUID_STR: &str = "{7705f10c-2086-488b-b836-3c5bb2b55a15}";

/// The driver's TraceLogging (ETW) provider (docs/WINDOWS.md, Tracing).
pub const DRIVER_TRACE_PROVIDER_NAME: &str = "HvSignal.Driver";

/// [`DRIVER_TRACE_PROVIDER_NAME`]'s provider GUID, `{44e0bdd4-8e8a-551b-327f-4b7410d28584}`: the
/// standard ETW name hash of the name (what TraceLogging's `define_provider!` and
/// `tracelogging::Guid::from_name` compute; a test recomputes it).
pub const DRIVER_TRACE_PROVIDER_GUID: Guid = Guid {
    data1: 0x44e0_bdd4,
    data2: 0x8e8a,
    data3: 0x551b,
    data4: [0x32, 0x7f, 0x4b, 0x74, 0x10, 0xd2, 0x85, 0x84],
};

/// The console program's TraceLogging (ETW) provider.
pub const CONSOLE_TRACE_PROVIDER_NAME: &str = "HvSignal.Console";

/// [`CONSOLE_TRACE_PROVIDER_NAME`]'s provider GUID, `{70240bed-0bf1-5a74-8968-dadc31358d0a}`
/// (the ETW name hash, as for the driver's).
pub const CONSOLE_TRACE_PROVIDER_GUID: Guid = Guid {
    data1: 0x7024_0bed,
    data2: 0x0bf1,
    data3: 0x5a74,
    data4: [0x89, 0x68, 0xda, 0xdc, 0x31, 0x35, 0x8d, 0x0a],
};

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn interface_guid_formats_as_the_documented_string() {
        assert_eq!(
            HVSIGNAL_INTERFACE_GUID.to_string(),
            "{7705f10c-2086-488b-b836-3c5bb2b55a15}"
        );
        assert_eq!(
            &HVSIGNAL_INTERFACE_GUID.registry_format(),
            HVSIGNAL_INTERFACE_GUID_STR.as_bytes()
        );
    }

    #[test]
    fn guid_fields_land_in_the_right_places() {
        let guid = Guid {
            data1: 0x0123_4567,
            data2: 0x89ab,
            data3: 0xcdef,
            data4: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff],
        };
        assert_eq!(guid.to_string(), "{01234567-89ab-cdef-0011-2233445566ff}");
    }

    #[test]
    fn names_are_the_documented_ones() {
        assert_eq!(SERVICE_NAME, "HvSignal");
        assert_eq!(HARDWARE_ID, r"Root\HvSignal");
        assert_eq!(DRIVER_BINARY, "hvsignal_driver.sys");
        assert_eq!(RAW_POLICY_VALUE_NAME, "AllowRawHypercalls");
        assert!(
            "AllowRawHypercalls"
                .encode_utf16()
                .eq(RAW_POLICY_VALUE_NAME_UTF16.iter().copied())
        );
        assert_eq!(RAW_POLICY_VALUE_NAME_UTF16_BYTES, 36);
        assert_eq!(ascii_to_utf16::<0>(""), [0u16; 0]);
        assert_eq!(utf16_byte_length(32_767), 65_534);
        assert_eq!(
            POLICY_KEY_PATH,
            r"SYSTEM\CurrentControlSet\Services\HvSignal\Parameters"
        );
        assert_eq!(DEVICE_SDDL, "D:P(A;;GA;;;SY)(A;;GA;;;BA)");
    }

    #[test]
    fn trace_provider_guids_are_the_etw_name_hashes_of_their_names() {
        for (name, guid) in [
            (DRIVER_TRACE_PROVIDER_NAME, DRIVER_TRACE_PROVIDER_GUID),
            (CONSOLE_TRACE_PROVIDER_NAME, CONSOLE_TRACE_PROVIDER_GUID),
        ] {
            let (data1, data2, data3, data4) = tracelogging::Guid::from_name(name).to_fields();
            assert_eq!(
                Guid {
                    data1,
                    data2,
                    data3,
                    data4
                },
                guid,
                "{name}"
            );
        }
        assert_eq!(DRIVER_TRACE_PROVIDER_NAME, "HvSignal.Driver");
        assert_eq!(CONSOLE_TRACE_PROVIDER_NAME, "HvSignal.Console");
        assert_eq!(
            DRIVER_TRACE_PROVIDER_GUID.to_string(),
            "{44e0bdd4-8e8a-551b-327f-4b7410d28584}"
        );
        assert_eq!(
            CONSOLE_TRACE_PROVIDER_GUID.to_string(),
            "{70240bed-0bf1-5a74-8968-dadc31358d0a}"
        );
    }
}

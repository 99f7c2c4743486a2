//! UTF-16 string constants, built at compile time, for the kernel APIs that take a
//! `UNICODE_STRING` (the registry value name of the raw-call policy).
//!
//! OS-independent: `tests/driver_package.rs` includes this file to test it on every host.

/// The ASCII string `text` as `N` UTF-16 code units (no terminating NUL).
///
/// Meant for `const` items, where a wrong `N` or a non-ASCII byte stops the build instead of
/// running: the assertions are evaluated by the compiler.
pub const fn ascii_to_utf16<const N: usize>(text: &str) -> [u16; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() == N, "N must be the length of the string");
    let mut out = [0u16; N];
    let mut rest = bytes;
    let mut index = 0;
    while let [byte, tail @ ..] = rest {
        assert!(byte.is_ascii(), "only ASCII strings are converted");
        #[allow(
            clippy::indexing_slicing,
            reason = "index < N: the loop runs once per byte and there are exactly N bytes"
        )]
        {
            out[index] = *byte as u16;
        }
        index += 1;
        rest = tail;
    }
    out
}

/// The byte length of `units` UTF-16 code units, as `UNICODE_STRING.Length` wants it.
///
/// Evaluated in `const` items: a string longer than `UNICODE_STRING` can describe stops the build.
pub const fn utf16_byte_length(units: usize) -> u16 {
    let bytes = units * 2;
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

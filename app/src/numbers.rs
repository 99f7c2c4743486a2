//! Numbers on the command line: decimal (`8193`), hexadecimal (`0x2001`) or binary (`0b1`),
//! with `_` allowed between digits (`0x00FF_FFFF`). Every error says what was wrong and what is
//! allowed; clap adds the name of the argument.

use std::fmt;

/// Why a number was refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum NumberError {
    /// Not a number in any accepted notation.
    Malformed(String),
    /// Larger than fits even 64 bits.
    TooLarge(String),
    /// A number, but outside the range of the argument.
    OutOfRange {
        /// The value given.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
        /// What the value is, e.g. "a flag number".
        what: &'static str,
    },
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(text) => write!(
                f,
                "'{text}' is not a number; write it in decimal (8193), hexadecimal (0x2001) or binary (0b1)"
            ),
            Self::TooLarge(text) => write!(f, "'{text}' does not fit 64 bits"),
            Self::OutOfRange {
                value,
                min,
                max,
                what,
            } => write!(
                f,
                "{value} ({value:#x}) is out of range for {what}: allowed {min} to {max} ({max:#x})"
            ),
        }
    }
}

impl std::error::Error for NumberError {}

/// Parses an unsigned number in decimal, `0x` hexadecimal or `0b` binary notation.
///
/// # Errors
/// Empty text, a sign, a digit outside the radix, a misplaced `_`, or more than 64 bits.
pub fn parse_u64(text: &str) -> Result<u64, NumberError> {
    let malformed = || NumberError::Malformed(text.to_owned());
    let lower = text.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest, 2)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return Err(malformed());
    }
    let mut value: u64 = 0;
    for character in digits.chars().filter(|&c| c != '_') {
        let digit = character.to_digit(radix).ok_or_else(malformed)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or_else(|| NumberError::TooLarge(text.to_owned()))?;
    }
    Ok(value)
}

/// Parses a number and checks it lies in `min..=max`.
///
/// # Errors
/// As [`parse_u64`], or [`NumberError::OutOfRange`].
pub fn parse_in_range(
    text: &str,
    min: u64,
    max: u64,
    what: &'static str,
) -> Result<u64, NumberError> {
    let value = parse_u64(text)?;
    if value < min || value > max {
        return Err(NumberError::OutOfRange {
            value,
            min,
            max,
            what,
        });
    }
    Ok(value)
}

fn narrow<T: TryFrom<u64>>(value: u64, what: &'static str) -> Result<T, String> {
    T::try_from(value).map_err(|_| format!("{value} does not fit {what}"))
}

/// clap parser: a connection id, any 32-bit value (whether bits 31:24 may be set is decided
/// after parsing, by raw mode).
///
/// # Errors
/// Not a number, or above 0xFFFFFFFF.
pub fn connection_id(text: &str) -> Result<u32, String> {
    let value = parse_in_range(
        text,
        0,
        u64::from(u32::MAX),
        "a connection id (32-bit field)",
    )
    .map_err(|e| e.to_string())?;
    narrow(value, "a connection id")
}

/// clap parser: a flag number (16 bits).
///
/// # Errors
/// Not a number, or above 65535.
pub fn flag_number(text: &str) -> Result<u16, String> {
    let value =
        parse_in_range(text, 0, u64::from(u16::MAX), "a flag number").map_err(|e| e.to_string())?;
    narrow(value, "a flag number")
}

/// clap parser: the RsvdZ field of the SignalEvent input (16 bits).
///
/// # Errors
/// Not a number, or above 65535.
pub fn rsvd_z(text: &str) -> Result<u16, String> {
    let value = parse_in_range(text, 0, u64::from(u16::MAX), "RsvdZ (input bits 63:48)")
        .map_err(|e| e.to_string())?;
    narrow(value, "RsvdZ")
}

/// clap parser: a rep count or rep start index (12 bits).
///
/// # Errors
/// Not a number, or above 4095.
pub fn rep_field(text: &str) -> Result<u16, String> {
    let max = hvcall::HypercallControl::REP_MAX;
    let value = parse_in_range(text, 0, u64::from(max), "a rep field (12 bits)")
        .map_err(|e| e.to_string())?;
    narrow(value, "a rep field")
}

/// clap parser: a variable header size in 8-byte units (10 bits).
///
/// # Errors
/// Not a number, or above 1023.
pub fn variable_header(text: &str) -> Result<u16, String> {
    let max = hvcall::HypercallControl::VARIABLE_HEADER_MAX;
    let value = parse_in_range(text, 0, u64::from(max), "a variable header size (10 bits)")
        .map_err(|e| e.to_string())?;
    narrow(value, "a variable header size")
}

/// clap parser: a byte offset in the 4096-byte input page.
///
/// # Errors
/// Not a number, or above 4095.
pub fn input_offset(text: &str) -> Result<u16, String> {
    let last = hvcall::PAGE_SIZE as u64 - 1;
    let value = parse_in_range(text, 0, last, "an offset in the 4096-byte input page")
        .map_err(|e| e.to_string())?;
    narrow(value, "an input offset")
}

/// clap parser: any 64-bit value (checked against the allowed bits after parsing).
///
/// # Errors
/// Not a number, or more than 64 bits.
pub fn any_u64(text: &str) -> Result<u64, String> {
    parse_u64(text).map_err(|e| e.to_string())
}

/// clap parser: a count of at least one call, at most `u32::MAX`.
///
/// # Errors
/// Not a number, zero, or above 4294967295.
pub fn call_count(text: &str) -> Result<u32, String> {
    let value = parse_in_range(text, 1, u64::from(u32::MAX), "a number of calls")
        .map_err(|e| e.to_string())?;
    narrow(value, "a number of calls")
}

/// clap parser: a number of fuzz calls, at least one.
///
/// # Errors
/// Not a number, or zero.
pub fn iterations(text: &str) -> Result<u64, String> {
    parse_in_range(text, 1, u64::MAX, "a number of calls").map_err(|e| e.to_string())
}

/// clap parser: a port's flag count, 1 to 2048 (the flags of one SINT's slot).
///
/// # Errors
/// Not a number, or outside 1..=2048.
pub fn flag_count(text: &str) -> Result<u16, String> {
    let most = u64::from(hvmodel::world::FLAGS_PER_SINT);
    let value = parse_in_range(text, 1, most, "a flag count").map_err(|e| e.to_string())?;
    narrow(value, "a flag count")
}

/// clap parser: a duration: a number with the unit `ms`, `s`, `m` or `h` (`90s`, `5m`), or a
/// plain number of seconds; more than zero, at most 1000 hours.
///
/// # Errors
/// Not a number, an unknown unit, zero, or too long.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let millis_per = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "`{text}` is not a duration: give a whole number with ms, s, m or h (90s, 5m, 1h)"
            ));
        }
    };
    let value: u64 = digits.parse().map_err(|_| {
        format!("`{text}` is not a duration: give a whole number with ms, s, m or h (90s, 5m, 1h)")
    })?;
    let millis = value.saturating_mul(millis_per);
    if millis == 0 || millis > 1000 * 3_600_000 {
        return Err(format!(
            "`{text}`: a duration is more than zero and at most 1000 hours"
        ));
    }
    Ok(std::time::Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_notation() {
        assert_eq!(parse_u64("8193"), Ok(8193));
        assert_eq!(parse_u64("0x2001"), Ok(0x2001));
        assert_eq!(parse_u64("0X2001"), Ok(0x2001));
        assert_eq!(parse_u64("0xffFF"), Ok(0xFFFF));
        assert_eq!(parse_u64("0b101"), Ok(5));
        assert_eq!(parse_u64("0x00FF_FFFF"), Ok(0x00FF_FFFF));
        assert_eq!(parse_u64("1_000"), Ok(1000));
        assert_eq!(parse_u64("0"), Ok(0));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("0xffffffffffffffff"), Ok(u64::MAX));
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "", "0x", "0b", "-1", "+1", "12a", "0b2", "0xg", "_1", "1_", "1__0", " 1", "1.0",
        ] {
            assert_eq!(
                parse_u64(text),
                Err(NumberError::Malformed(text.to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_u64("18446744073709551616"),
            Err(NumberError::TooLarge("18446744073709551616".to_owned()))
        );
        assert_eq!(
            parse_u64("0x1_0000_0000_0000_0000"),
            Err(NumberError::TooLarge("0x1_0000_0000_0000_0000".to_owned()))
        );
    }

    #[test]
    fn range_errors_say_what_is_allowed() {
        assert_eq!(
            flag_number("65536").unwrap_err(),
            "65536 (0x10000) is out of range for a flag number: allowed 0 to 65535 (0xffff)"
        );
        assert_eq!(flag_number("0xffff"), Ok(0xFFFF));
        assert_eq!(
            rep_field("4096").unwrap_err(),
            "4096 (0x1000) is out of range for a rep field (12 bits): allowed 0 to 4095 (0xfff)"
        );
        assert_eq!(variable_header("1023"), Ok(1023));
        assert!(variable_header("1024").is_err());
        assert_eq!(connection_id("0xffffffff"), Ok(u32::MAX));
        assert!(connection_id("0x100000000").is_err());
        assert_eq!(
            call_count("0").unwrap_err(),
            "0 (0x0) is out of range for a number of calls: allowed 1 to 4294967295 (0xffffffff)"
        );
        assert_eq!(
            flag_number("x1").unwrap_err(),
            "'x1' is not a number; write it in decimal (8193), hexadecimal (0x2001) or binary (0b1)"
        );
    }
}

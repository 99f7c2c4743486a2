//! One SignalEvent call as the program plans it: the 8 input bytes, the control word, and the
//! registers the driver loads before `vmcall`/`vmmcall`. Used for `signal --dry-run` and to
//! describe what a real run issued.

use hvcall::{CpuVendor, HypercallControl, HypercallInstruction, SignalEventInput};
use serde::Serialize;

use hvsignal_proto::{CallingConvention, FIXED_CONTROL_BITS, Operation};

use crate::cli::RawArgs;
use crate::exit::AppError;
use crate::numbers::hex64_grouped;
use crate::report::hex_bytes;

/// Control-word bits `--control-bits` may set: everything but the call code and the fast bit.
pub const EXTRA_CONTROL_BITS: u64 = !FIXED_CONTROL_BITS;

/// One call: input, control word and convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedCall {
    /// The SignalEvent input (connection id, flag, RsvdZ).
    pub input: SignalEventInput,
    /// The control word (RCX).
    pub control: HypercallControl,
    /// True for the memory (slow) convention.
    pub memory: bool,
    /// True when raw-mode fields are in use.
    pub raw: bool,
    /// Memory convention: offset of the input in the input page.
    pub input_offset: u16,
}

impl PlannedCall {
    /// Builds and checks a call from the command line. Errors name the argument.
    ///
    /// # Errors
    /// A connection id above 24 bits without raw mode, or control bits outside the reserved
    /// and nested bits.
    pub fn new(
        connection_id: u32,
        flag: u16,
        memory: bool,
        raw: &RawArgs,
    ) -> Result<Self, AppError> {
        let raw_mode = raw.is_raw();
        if !raw_mode && connection_id & !hvcall::CONNECTION_ID_MASK != 0 {
            return Err(AppError::Usage(format!(
                "--connection {connection_id:#x}: a connection id is 24 bits (0 to 0xffffff); bits \
                 31:24 are reserved. Add --raw to send it anyway (raw mode)"
            )));
        }
        let mut control = HypercallControl::signal_event(!memory);
        let field = |e: hvcall::ControlError, arg: &str| AppError::Usage(format!("{arg}: {e}"));
        if let Some(count) = raw.rep_count {
            control = control
                .with_rep_count(count)
                .map_err(|e| field(e, "--rep-count"))?;
        }
        if let Some(start) = raw.rep_start {
            control = control
                .with_rep_start(start)
                .map_err(|e| field(e, "--rep-start"))?;
        }
        if let Some(size) = raw.var_header {
            control = control
                .with_variable_header_size(size)
                .map_err(|e| field(e, "--var-header"))?;
        }
        if let Some(bits) = raw.control_bits {
            if bits & !EXTRA_CONTROL_BITS != 0 {
                return Err(AppError::Usage(format!(
                    "--control-bits {bits:#x}: bits 16:0 (call code and fast bit) are never \
                     settable, even in raw mode; give bits 63:17 only (mask {EXTRA_CONTROL_BITS:#x})"
                )));
            }
            control = HypercallControl::from_raw(control.raw() | bits);
        }
        let call = Self {
            input: SignalEventInput {
                connection_id,
                flag_number: flag,
                rsvd_z: raw.rsvd.unwrap_or(0),
            },
            control,
            memory,
            raw: raw_mode,
            input_offset: raw.input_offset.unwrap_or(0),
        };
        call.operation(1)
            .validate(call.convention_kind(), raw_mode)
            .map_err(|e| AppError::Usage(format!("the call cannot be issued: {e}")))?;
        Ok(call)
    }

    /// The convention as the protocol names it.
    #[must_use]
    pub const fn convention_kind(&self) -> CallingConvention {
        if self.memory {
            CallingConvention::Memory
        } else {
            CallingConvention::Fast
        }
    }

    /// The protocol operation that issues this call `repeat` times.
    #[must_use]
    pub const fn operation(&self, repeat: u32) -> Operation {
        Operation {
            connection_id: self.input.connection_id,
            flag_number: self.input.flag_number,
            rsvd_z: self.input.rsvd_z,
            extra_control: self.control.raw() & !FIXED_CONTROL_BITS,
            repeat,
            input_offset: self.input_offset,
            options: 0,
        }
    }

    /// RCX.
    #[must_use]
    pub const fn rcx(&self) -> u64 {
        self.control.raw()
    }

    /// RDX: the input itself (fast) or `None` for the memory convention, where it is the GPA of
    /// the driver's input page, known only to the driver.
    #[must_use]
    pub const fn rdx(&self) -> Option<u64> {
        if self.memory {
            None
        } else {
            Some(self.input.to_rdx())
        }
    }

    /// R8: the second fast input register (unused by SignalEvent, 0) or the output GPA of the
    /// memory convention (SignalEvent has no output, 0).
    #[must_use]
    pub const fn r8(&self) -> u64 {
        let _ = self;
        0
    }

    /// The convention's name.
    #[must_use]
    pub const fn convention(&self) -> &'static str {
        if self.memory { "memory" } else { "fast" }
    }

    /// JSON description.
    #[must_use]
    pub fn json(&self) -> PlannedCallJson {
        let c = self.control;
        PlannedCallJson {
            connection_id: self.input.connection_id,
            flag: self.input.flag_number,
            rsvd_z: self.input.rsvd_z,
            convention: self.convention(),
            registers: RegistersJson {
                rcx: format!("{:#018x}", self.rcx()),
                rdx: self.rdx().map(|v| format!("{v:#018x}")),
                r8: format!("{:#018x}", self.r8()),
            },
            control: ControlJson {
                raw: format!("{:#018x}", c.raw()),
                call_code: c.call_code(),
                fast: c.fast(),
                variable_header_size: c.variable_header_size(),
                reserved_bits: format!("{:#x}", c.reserved_bits()),
                nested: c.nested(),
                rep_count: c.rep_count(),
                rep_start: c.rep_start(),
            },
            input_bytes: hex_bytes(&self.input.to_bytes()),
            input_offset: self.input_offset,
        }
    }

    /// The register lines of a human report.
    #[must_use]
    pub fn register_lines(&self) -> Vec<(&'static str, String, String)> {
        let rdx = match self.rdx() {
            Some(v) => (
                hex64_grouped(v),
                "input: connection id | flag << 32 | RsvdZ << 48".to_owned(),
            ),
            None if self.input_offset == 0 => (
                "input GPA".to_owned(),
                "guest-physical address of the driver's 8-byte-aligned input page".to_owned(),
            ),
            None => (
                format!("input GPA + {:#x}", self.input_offset),
                "the driver's input page plus --input-offset".to_owned(),
            ),
        };
        let r8_note = if self.memory {
            "output GPA: SignalEvent has no output"
        } else {
            "second input register: unused by SignalEvent"
        };
        vec![
            ("RCX", hex64_grouped(self.rcx()), "control word".to_owned()),
            ("RDX", rdx.0, rdx.1),
            ("R8", hex64_grouped(self.r8()), r8_note.to_owned()),
        ]
    }

    /// The control word, field by field: (bits, field, value, note).
    #[must_use]
    pub fn control_fields(&self) -> Vec<(&'static str, &'static str, String, &'static str)> {
        let c = self.control;
        let raw = c.raw();
        let reserved = |shift: u32| format!("{:#x}", (raw >> shift) & 0xF);
        vec![
            (
                "15:0",
                "call code",
                format!("{:#06x}", c.call_code()),
                "HvCallSignalEvent",
            ),
            (
                "16",
                "fast",
                u8::from(c.fast()).to_string(),
                if c.fast() {
                    "register convention"
                } else {
                    "memory convention"
                },
            ),
            (
                "26:17",
                "variable header size",
                c.variable_header_size().to_string(),
                "8-byte units",
            ),
            ("30:27", "reserved", reserved(27), "must be zero"),
            (
                "31",
                "nested",
                u8::from(c.nested()).to_string(),
                "handled by the L0 hypervisor",
            ),
            (
                "43:32",
                "rep count",
                c.rep_count().to_string(),
                "0 for a simple call",
            ),
            ("47:44", "reserved", reserved(44), "must be zero"),
            (
                "59:48",
                "rep start index",
                c.rep_start().to_string(),
                "0 for a simple call",
            ),
            ("63:60", "reserved", reserved(60), "must be zero"),
        ]
    }
}

/// Registers in JSON (hex strings; `rdx` is `null` for the memory convention).
#[derive(Debug, Serialize)]
pub struct RegistersJson {
    /// Control word.
    pub rcx: String,
    /// Input (fast) or `null` (memory: the driver's input page GPA).
    pub rdx: Option<String>,
    /// Always 0 for SignalEvent.
    pub r8: String,
}

/// The control word in JSON, field by field.
#[derive(Debug, Serialize)]
pub struct ControlJson {
    /// The whole word, hex.
    pub raw: String,
    /// Bits 15:0.
    pub call_code: u16,
    /// Bit 16.
    pub fast: bool,
    /// Bits 26:17.
    pub variable_header_size: u16,
    /// Bits 30:27, 47:44, 63:60 in place, hex.
    pub reserved_bits: String,
    /// Bit 31.
    pub nested: bool,
    /// Bits 43:32.
    pub rep_count: u16,
    /// Bits 59:48.
    pub rep_start: u16,
}

/// One planned call in JSON.
#[derive(Debug, Serialize)]
pub struct PlannedCallJson {
    /// Connection id (32-bit field).
    pub connection_id: u32,
    /// Flag number.
    pub flag: u16,
    /// RsvdZ.
    pub rsvd_z: u16,
    /// `fast` or `memory`.
    pub convention: &'static str,
    /// RCX, RDX, R8.
    pub registers: RegistersJson,
    /// RCX decoded.
    pub control: ControlJson,
    /// The 8 input bytes, hex pairs.
    pub input_bytes: String,
    /// Offset of the input in the input page (memory convention; 0 otherwise).
    pub input_offset: u16,
}

/// An instruction for a vendor, in JSON.
#[derive(Debug, Serialize, Clone)]
pub struct InstructionJson {
    /// `intel` or `amd`.
    pub vendor: &'static str,
    /// `vmcall` or `vmmcall`.
    pub mnemonic: &'static str,
    /// Encoding, hex pairs.
    pub encoding: String,
}

impl InstructionJson {
    /// Description of `instruction` for `vendor`.
    #[must_use]
    pub fn new(vendor: &'static str, instruction: HypercallInstruction) -> Self {
        Self {
            vendor,
            mnemonic: instruction.mnemonic(),
            encoding: hex_bytes(&instruction.encoding()),
        }
    }
}

/// The vendor's name in reports: `intel`, `amd`, or the vendor string.
#[must_use]
pub fn vendor_name(vendor: CpuVendor) -> String {
    match vendor {
        CpuVendor::Intel => "intel".to_owned(),
        CpuVendor::Amd => "amd".to_owned(),
        CpuVendor::Other(bytes) => String::from_utf8_lossy(&bytes)
            .trim_end_matches('\0')
            .to_owned(),
    }
}

/// The instruction of `vendor` in JSON, `None` for a vendor that is neither Intel nor AMD.
#[must_use]
pub fn instruction_json(vendor: CpuVendor) -> Option<InstructionJson> {
    let name = match vendor {
        CpuVendor::Intel => "intel",
        CpuVendor::Amd => "amd",
        CpuVendor::Other(_) => return None,
    };
    vendor.instruction().map(|i| InstructionJson::new(name, i))
}

/// Both vendors and their instructions.
#[must_use]
pub fn all_instructions() -> [InstructionJson; 2] {
    [
        InstructionJson::new("intel", HypercallInstruction::Vmcall),
        InstructionJson::new("amd", HypercallInstruction::Vmmcall),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_call_registers() {
        let call = PlannedCall::new(0x2001, 3, false, &RawArgs::default()).unwrap();
        assert_eq!(call.rcx(), 0x1_005D);
        assert_eq!(call.rdx(), Some(0x0000_0003_0000_2001));
        assert_eq!(call.r8(), 0);
        assert!(!call.raw);
    }

    #[test]
    fn memory_call_registers() {
        let call = PlannedCall::new(0x2001, 0, true, &RawArgs::default()).unwrap();
        assert_eq!(call.rcx(), 0x5D);
        assert_eq!(call.rdx(), None);
        assert_eq!(call.json().input_bytes, "01 20 00 00 00 00 00 00");
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
        let call = PlannedCall::new(0xAB00_0001, 0, false, &raw).unwrap();
        assert_eq!(
            call.rcx(),
            0x1_005D | 1 << 32 | 2 << 48 | 3 << 17 | 1 << 60 | 1 << 31
        );
        assert_eq!(call.rdx(), Some(0x0055_0000_AB00_0001));
        assert!(call.raw);
    }

    #[test]
    fn refusals_name_the_argument() {
        let err = PlannedCall::new(0x0100_0000, 0, false, &RawArgs::default()).unwrap_err();
        assert!(matches!(&err, AppError::Usage(m) if m.starts_with("--connection 0x1000000: ")));
        let raw = RawArgs {
            control_bits: Some(1 << 16),
            ..RawArgs::default()
        };
        let err = PlannedCall::new(1, 0, false, &raw).unwrap_err();
        assert!(matches!(&err, AppError::Usage(m) if m.starts_with("--control-bits 0x10000: ")));
        let raw = RawArgs {
            input_offset: Some(3),
            ..RawArgs::default()
        };
        let err = PlannedCall::new(1, 0, false, &raw).unwrap_err();
        assert!(matches!(&err, AppError::Usage(m) if m.contains("needs the memory convention")));
        let call = PlannedCall::new(1, 0, true, &raw).unwrap();
        assert_eq!(call.operation(5).input_offset, 3);
        assert_eq!(call.operation(5).repeat, 5);
    }
}

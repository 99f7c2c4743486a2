//! One call as reports describe it: the SignalEvent input, the control word (RCX) and the
//! input's offset, read from the driver's echo in an operation result (a real run) or from an
//! operation not sent yet (`signal --dry-run`). JSON and the human register and control-word
//! tables are built from it, so a real run reports what the driver says it issued.

use hvcall::{CpuVendor, HypercallControl, HypercallInstruction, SignalEventInput};
use hvsignal_proto::{CallingConvention, Operation, OperationResult};
use serde::Serialize;

use crate::report::{hex_bytes, hex64_grouped};

/// What one call loads into the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuedCall {
    /// The 8 input bytes (RDX, or the input page for the memory convention).
    pub input: SignalEventInput,
    /// The control word (RCX); its fast bit says the convention.
    pub control: HypercallControl,
    /// Memory convention: offset of the input in the input page.
    pub input_offset: u16,
}

impl IssuedCall {
    /// What the driver says it issued (the echo in its result).
    #[must_use]
    pub const fn from_result(result: &OperationResult) -> Self {
        Self {
            input: SignalEventInput {
                connection_id: result.connection_id,
                flag_number: result.flag_number,
                rsvd_z: result.rsvd_z,
            },
            control: HypercallControl::from_raw(result.control),
            input_offset: result.input_offset,
        }
    }

    /// What the driver will issue for `operation` under `convention`.
    #[must_use]
    pub const fn planned(operation: &Operation, convention: CallingConvention) -> Self {
        Self {
            input: operation.input(),
            control: operation.control(convention),
            input_offset: operation.input_offset,
        }
    }

    /// True for the memory (slow) convention.
    #[must_use]
    pub const fn memory(&self) -> bool {
        !self.control.fast()
    }

    /// The convention's name.
    #[must_use]
    pub const fn convention(&self) -> &'static str {
        convention_name(if self.memory() {
            CallingConvention::Memory
        } else {
            CallingConvention::Fast
        })
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
        if self.memory() {
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

    /// JSON description.
    #[must_use]
    pub fn json(&self) -> CallJson {
        let c = self.control;
        CallJson {
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
        let r8_note = if self.memory() {
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

/// The control word in JSON, field by field (the whole word is `registers.rcx`).
#[derive(Debug, Serialize)]
pub struct ControlJson {
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

/// One call in JSON.
#[derive(Debug, Serialize)]
pub struct CallJson {
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

/// A convention's name in reports: `fast` or `memory`.
#[must_use]
pub const fn convention_name(convention: CallingConvention) -> &'static str {
    match convention {
        CallingConvention::Fast => "fast",
        CallingConvention::Memory => "memory",
    }
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
    if let CpuVendor::Other(bytes) = vendor {
        return String::from_utf8_lossy(&bytes)
            .trim_end_matches('\0')
            .to_owned();
    }
    hypercall_vendor_name(vendor).unwrap_or_default().to_owned()
}

/// `intel` or `amd`: the name of a vendor whose hypercall instruction hvsignal knows, `None`
/// for another vendor.
const fn hypercall_vendor_name(vendor: CpuVendor) -> Option<&'static str> {
    match vendor {
        CpuVendor::Intel => Some("intel"),
        CpuVendor::Amd => Some("amd"),
        CpuVendor::Other(_) => None,
    }
}

/// The instruction of `vendor` in JSON, `None` for a vendor that is neither Intel nor AMD.
#[must_use]
pub fn instruction_json(vendor: CpuVendor) -> Option<InstructionJson> {
    let name = hypercall_vendor_name(vendor)?;
    vendor.instruction().map(|i| InstructionJson::new(name, i))
}

/// Both vendors and their instructions.
#[must_use]
pub fn all_instructions() -> Vec<InstructionJson> {
    [CpuVendor::Intel, CpuVendor::Amd]
        .into_iter()
        .filter_map(instruction_json)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_call_registers() {
        let call = IssuedCall::planned(&Operation::new(0x2001, 3, 1), CallingConvention::Fast);
        assert_eq!(call.rcx(), 0x1_005D);
        assert_eq!(call.rdx(), Some(0x0000_0003_0000_2001));
        assert_eq!(call.r8(), 0);
        assert_eq!(call.convention(), "fast");
    }

    #[test]
    fn memory_call_registers() {
        let call = IssuedCall::planned(&Operation::new(0x2001, 0, 1), CallingConvention::Memory);
        assert_eq!(call.rcx(), 0x5D);
        assert_eq!(call.rdx(), None);
        assert_eq!(call.json().input_bytes, "01 20 00 00 00 00 00 00");
    }

    #[test]
    fn a_result_reports_the_echoed_control_word() {
        let result = OperationResult {
            connection_id: 0x2001,
            flag_number: 2,
            control: 0x1_005D | 1 << 31,
            ..OperationResult::default()
        };
        let call = IssuedCall::from_result(&result);
        assert_eq!(call.rcx(), 0x8001_005D);
        assert!(call.control.nested());
        assert_eq!(call.json().registers.rcx, "0x000000008001005d");
    }
}

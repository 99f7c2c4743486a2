//! End-to-end through bytes with a scripted primitive: request bytes as the console program
//! builds them → `RequestHandler::handle_device_control` → response bytes → decoded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test indices and offsets are small"
)]

mod common;

use common::{Buffers, Failing, PAGE_GPA, Scripted, SystemBuffer, bare_metal, ready};
use hvcall::{CpuVendor, HvStatus, HypercallResult};
use hvsignal_core::{Completion, DRIVER_VERSION, Policy, RequestHandler};
use hvsignal_proto::wire::{
    CPU_VENDOR_AMD, CPU_VENDOR_INTEL, INSTRUCTION_NONE, INSTRUCTION_VMCALL, INSTRUCTION_VMMCALL,
    QUERY_FLAG_HV1_INTERFACE, QUERY_FLAG_HYPERCALLS_AVAILABLE, QUERY_FLAG_HYPERVISOR_PRESENT,
    QUERY_FLAG_MEMORY_CONVENTION, QUERY_FLAG_RAW_ALLOWED,
};
use hvsignal_proto::{
    CallingConvention, IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, MAX_SIGNAL_RESPONSE_SIZE,
    Operation, OperationError, OperationResult, ParseError, QueryResponse, STATUS_ACCESS_DENIED,
    STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_BUFFER_SIZE,
    STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED,
    STATUS_REVISION_MISMATCH, SignalRequest, SignalResponse, signal_response_size,
};

const ALLOW_RAW: Policy = Policy {
    allow_raw_hypercalls: true,
};
const NO_RAW: Policy = Policy {
    allow_raw_hypercalls: false,
};
/// `STATUS_INVALID_USER_BUFFER`, as a WDF retrieve call might fail.
const STATUS_INVALID_USER_BUFFER: i32 = 0xC000_00E8_u32.cast_signed();

fn device(primitive: Scripted, policy: Policy) -> RequestHandler<Scripted> {
    RequestHandler::new(ready(CpuVendor::Intel), Some(primitive), policy)
}

fn request(convention: CallingConvention, raw: bool, ops: &[Operation]) -> Vec<u8> {
    let mut r = SignalRequest::new(convention, raw);
    for op in ops {
        r.push(*op).unwrap();
    }
    let mut bytes = vec![0; r.encoded_len()];
    r.encode(&mut bytes).unwrap();
    bytes
}

/// Sends `bytes` as a signal request with an output buffer of `output_len`.
fn signal(
    dev: &mut RequestHandler<Scripted>,
    bytes: Vec<u8>,
    output_len: usize,
) -> (Completion, Vec<u8>) {
    let mut buffers = Buffers::new(bytes, output_len);
    let completion = dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut buffers);
    let out = buffers.output[..completion.information].to_vec();
    (completion, out)
}

/// Operation `index`'s histogram entries.
fn histogram(bytes: &[u8], index: usize) -> Vec<(usize, u32)> {
    SignalResponse::decode(bytes)
        .unwrap()
        .views()
        .nth(index)
        .unwrap()
        .histogram()
        .collect()
}

fn results(bytes: &[u8]) -> Vec<OperationResult> {
    SignalResponse::decode(bytes)
        .unwrap()
        .operations()
        .collect()
}

fn calls(dev: &RequestHandler<Scripted>) -> &[(u64, u64, u64)] {
    &dev.hypercalls().unwrap().calls
}

#[test]
fn query_reports_cpu_policy_and_limits() {
    let mut dev = device(Scripted::succeeding(), ALLOW_RAW);
    let mut buffers = Failing {
        // The query never reads its input: a failing input retrieval does not matter.
        input: Err(STATUS_BUFFER_TOO_SMALL),
        output: Ok(vec![0xA5; 240]),
    };
    let c = dev.handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut buffers);
    assert_eq!(c, Completion::success(224));
    let out = buffers.output.unwrap();
    let q = QueryResponse::decode(&out[..224]).unwrap();
    assert_eq!(
        q.flags,
        QUERY_FLAG_HYPERVISOR_PRESENT
            | QUERY_FLAG_HV1_INTERFACE
            | QUERY_FLAG_HYPERCALLS_AVAILABLE
            | QUERY_FLAG_MEMORY_CONVENTION
            | QUERY_FLAG_RAW_ALLOWED
    );
    assert_eq!(q.cpu_vendor, CPU_VENDOR_INTEL);
    assert_eq!(&q.cpu_vendor_string, b"GenuineIntel");
    assert_eq!(q.instruction, INSTRUCTION_VMCALL);
    assert_eq!(q.max_operations, 64);
    assert_eq!(q.max_calls_per_request, 10_000);
    assert_eq!(q.leaf1_ecx, 0xFEDA_3203);
    assert_eq!(q.tsc_frequency_hz, 2_000_000_000);
    assert_eq!(q.driver_version, DRIVER_VERSION);
    assert_eq!(
        (
            DRIVER_VERSION.major,
            DRIVER_VERSION.minor,
            DRIVER_VERSION.patch
        ),
        (0, 1, 0)
    );
    assert_eq!(q.reserved, 0);
    let hv = q.hypervisor_cpuid();
    assert_eq!(&hv.vendor_signature(), b"Microsoft Hv");
    assert!(hv.privileges().signal_events());
    assert_eq!(q.hypervisor_leaves[2].eax, 0x4000_0002);
    assert_eq!(q.hypervisor_leaves[6].edx, 0x4000_0005);
    // The readiness facts: both MSRs read, no isolation leaf (no Isolation privilege).
    assert_eq!(q.refusal(), None);
    assert_eq!(q.refusal_code(), 0);
    assert_eq!(q.guest_os_id(), Some(0x0001_040A_0000_65F4));
    assert_eq!(q.hypercall_msr(), Some(0x1001));
    assert_eq!(q.isolation(), None);
    // Bytes past the response are untouched.
    assert!(out[224..].iter().all(|&b| b == 0xA5));
    assert!(calls(&dev).is_empty());
}

#[test]
fn query_without_hypercalls_or_page_or_raw() {
    let mut dev = RequestHandler::<Scripted>::new(bare_metal(), None, NO_RAW);
    let q = dev.query();
    assert_eq!(q.flags, 0);
    assert_eq!(q.instruction, INSTRUCTION_NONE);
    assert_eq!(q.tsc_frequency_hz, 0);

    let mut primitive = Scripted::succeeding().without_page();
    primitive.tsc_hz = None;
    let mut dev = RequestHandler::new(ready(CpuVendor::Amd), Some(primitive), NO_RAW);
    let q = dev.query();
    assert_eq!(
        q.flags,
        QUERY_FLAG_HYPERVISOR_PRESENT | QUERY_FLAG_HV1_INTERFACE | QUERY_FLAG_HYPERCALLS_AVAILABLE
    );
    assert_eq!(q.cpu_vendor, CPU_VENDOR_AMD);
    assert_eq!(q.instruction, INSTRUCTION_VMMCALL);
    assert_eq!(q.tsc_frequency_hz, 0);
}

#[test]
fn query_output_errors() {
    let mut dev = device(Scripted::succeeding(), NO_RAW);
    let mut small = Buffers::new(Vec::new(), 183);
    assert_eq!(
        dev.handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut small),
        Completion::failed(STATUS_BUFFER_TOO_SMALL)
    );
    assert_eq!(small.input_reads, 0);
    let mut failing = Failing {
        input: Ok(Vec::new()),
        output: Err(STATUS_INVALID_USER_BUFFER),
    };
    assert_eq!(
        dev.handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut failing),
        Completion::refused(STATUS_INVALID_USER_BUFFER, "BufferUnavailable")
    );
}

#[test]
fn unknown_ioctl_touches_nothing() {
    let mut dev = device(Scripted::succeeding(), ALLOW_RAW);
    for code in [
        0,
        IOCTL_HVSIGNAL_QUERY + 4,
        IOCTL_HVSIGNAL_SIGNAL ^ 0xC000,
        u32::MAX,
    ] {
        let mut buffers = Buffers::new(
            request(CallingConvention::Fast, false, &[Operation::new(1, 0, 1)]),
            1000,
        );
        assert_eq!(
            dev.handle_device_control(code, &mut buffers),
            Completion::failed(STATUS_INVALID_DEVICE_REQUEST)
        );
        assert_eq!((buffers.input_reads, buffers.output_reads), (0, 0));
    }
    assert!(calls(&dev).is_empty());
}

#[test]
fn fast_signal_end_to_end_with_exact_statuses_and_counts() {
    let success = HypercallResult::new(HvStatus::SUCCESS, 0).raw();
    let bad_conn = HypercallResult::new(HvStatus::INVALID_CONNECTION_ID, 0).raw();
    // Op 0 (3 calls): SUCCESS, INVALID_CONNECTION_ID, SUCCESS; op 1 (2 calls): both
    // INVALID_CONNECTION_ID; results cycle with period 5.
    let primitive = Scripted::new(
        vec![success, bad_conn, success, bad_conn, bad_conn],
        vec![100],
    );
    let mut dev = device(primitive, NO_RAW);
    let bytes = request(
        CallingConvention::Fast,
        false,
        &[Operation::new(0x2001, 3, 3), Operation::new(0x99, 0, 2)],
    );
    let (c, out) = signal(&mut dev, bytes, MAX_SIGNAL_RESPONSE_SIZE);
    // Two results, one histogram entry each (every call took 100 cycles).
    assert_eq!(c, Completion::success(32 + 2 * 80 + 2 * 4));
    let response = SignalResponse::decode(&out).unwrap();
    assert_eq!(response.convention(), Some(CallingConvention::Fast));
    assert!(!response.raw());
    let r = results(&out);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (
            r[0].connection_id,
            r[0].flag_number,
            r[0].rsvd_z,
            r[0].control
        ),
        (0x2001, 3, 0, 0x1_005D)
    );
    assert_eq!((r[0].calls, r[0].successes, r[0].failures), (3, 2, 1));
    assert_eq!(r[0].first_hv_status(), HvStatus::SUCCESS);
    assert_eq!(r[0].last_hv_status(), HvStatus::SUCCESS);
    assert_eq!((r[0].first_result, r[0].last_result), (success, success));
    assert_eq!((r[1].calls, r[1].successes, r[1].failures), (2, 0, 2));
    assert_eq!(r[1].first_status, 0x12);
    assert_eq!(r[1].last_status, 0x12);
    assert_eq!(
        (r[1].cycles_min, r[1].cycles_max, r[1].cycles_sum),
        (100, 100, 200)
    );
    assert_eq!(histogram(&out, 0), [(100, 3)]);
    assert_eq!(histogram(&out, 1), [(100, 2)]);
    // Registers: fast control word, RDX = conn | flag << 32, R8 = 0.
    let issued = calls(&dev);
    assert_eq!(issued.len(), 5);
    assert!(
        issued[..3]
            .iter()
            .all(|&c| c == (0x1_005D, 0x2001 | 3 << 32, 0))
    );
    assert!(issued[3..].iter().all(|&c| c == (0x1_005D, 0x99, 0)));
}

#[test]
fn statistics_are_exact_on_scripted_cycles() {
    let cycles = vec![5, 1, 1000, 3, 0, 4096, u64::from(u32::MAX) + 7];
    let mut dev = device(Scripted::new(vec![0], cycles.clone()), NO_RAW);
    let (c, out) = signal(
        &mut dev,
        request(CallingConvention::Fast, false, &[Operation::new(1, 0, 7)]),
        MAX_SIGNAL_RESPONSE_SIZE,
    );
    assert_eq!(c, Completion::success(32 + 80 + 7 * 4));
    let r = results(&out)[0];
    assert_eq!(r.cycles_min, 0);
    assert_eq!(r.cycles_max, u64::from(u32::MAX) + 7);
    assert_eq!(r.cycles_sum, cycles.iter().sum::<u64>());
    // Below 256 every value is its own bucket; 1000 = 512 + 122·4 + 0 → 256 + 128 + 122;
    // 4096 = 2^12 → 256 + 4·128; 2^32 + 7 saturates into the last bucket.
    assert_eq!(
        histogram(&out, 0),
        [
            (0, 1),
            (1, 1),
            (3, 1),
            (5, 1),
            (506, 1),
            (768, 1),
            (3327, 1)
        ]
    );
    assert_eq!(r.histogram_entries, 7);
    assert_eq!(r.mean_cycles(), Some(cycles.iter().sum::<u64>() / 7));
}

#[test]
fn a_backwards_timestamp_counts_as_zero_cycles() {
    let op = Operation::new(1, 0, 3);
    let mut region = [zerocopy::byteorder::U32::<zerocopy::byteorder::LittleEndian>::new(7); 3];
    let acc = hvsignal_core::Accumulator::run_into(
        // The timestamp counter goes down by 10 on every read.
        &mut Scripted::with_backwards_clock(1000, 10),
        (0x1_005D, 1, 0),
        3,
        true,
        &mut region,
    )
    .unwrap();
    let r = acc.result(&op, 0x1_005D);
    assert_eq!((r.cycles_min, r.cycles_max, r.cycles_sum), (0, 0, 0));
    assert_eq!(region.map(zerocopy::byteorder::U32::get), [0, 0, 0]);
    // A zero-call accumulator writes zeros, not u64::MAX.
    let empty = hvsignal_core::Accumulator::new().result(&op, 0x1_005D);
    assert_eq!((empty.calls, empty.cycles_min, empty.cycles_max), (0, 0, 0));
}

#[test]
fn memory_convention_writes_the_input_page_and_passes_its_gpa() {
    let mut dev = device(Scripted::succeeding(), NO_RAW);
    let (c, out) = signal(
        &mut dev,
        request(
            CallingConvention::Memory,
            false,
            &[Operation::new(0x2001, 5, 2)],
        ),
        MAX_SIGNAL_RESPONSE_SIZE,
    );
    assert_eq!(c, Completion::success(32 + 80 + 4));
    let r = results(&out)[0];
    assert_eq!(
        (r.control, r.calls, r.successes, r.input_offset),
        (0x5D, 2, 2, 0)
    );
    let p = dev.hypercalls().unwrap();
    assert_eq!(p.calls, vec![(0x5D, PAGE_GPA, 0); 2]);
    let expected = vec![0x01, 0x20, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00];
    assert_eq!(p.inputs_read, vec![expected.clone(), expected]);
}

#[test]
fn raw_memory_input_offset_can_misalign_but_never_leave_the_page() {
    let mut dev = device(Scripted::succeeding(), ALLOW_RAW);
    let misaligned = Operation {
        input_offset: 3,
        ..Operation::new(0x2001, 1, 1)
    };
    let last = Operation {
        input_offset: 4088,
        rsvd_z: 0xBEEF,
        ..Operation::new(0x0A0B_0C0D, 0x0E0F, 1)
    };
    // A one-QWORD variable header (control bits 26:17 = 1) makes the input 16 bytes: at 4080
    // it still ends at byte 4096.
    let with_header = Operation {
        input_offset: 4080,
        extra_control: 1 << 17,
        ..Operation::new(0x2001, 0, 1)
    };
    let (c, out) = signal(
        &mut dev,
        request(
            CallingConvention::Memory,
            true,
            &[misaligned, last, with_header],
        ),
        MAX_SIGNAL_RESPONSE_SIZE,
    );
    assert_eq!(c, Completion::success(32 + 3 * 80 + 3 * 4));
    let r = results(&out);
    assert_eq!(
        (r[0].input_offset, r[1].input_offset, r[2].input_offset),
        (3, 4088, 4080)
    );
    let p = dev.hypercalls().unwrap();
    assert_eq!(
        p.calls,
        vec![
            (0x5D, PAGE_GPA + 3, 0),
            (0x5D, PAGE_GPA + 4088, 0),
            (0x5D | 1 << 17, PAGE_GPA + 4080, 0)
        ]
    );
    let page = p.page.as_ref().unwrap();
    assert_eq!(&page[3..11], &[0x01, 0x20, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        &page[4088..],
        &[0x0D, 0x0C, 0x0B, 0x0A, 0x0F, 0x0E, 0xEF, 0xBE]
    );
}

#[test]
fn memory_input_that_would_leave_the_page_is_refused_and_nothing_is_issued() {
    for (offset, header_qwords, size) in [
        (4089u16, 0u64, 8usize),
        (4095, 0, 8),
        (4088, 1, 16),
        (0, 0x3FF, 8192),
    ] {
        let op = Operation {
            input_offset: offset,
            extra_control: header_qwords << 17,
            ..Operation::new(0x2001, 0, 1)
        };
        let mut built = SignalRequest::new(CallingConvention::Memory, true);
        assert_eq!(
            built.push(op),
            Err(ParseError::Operation {
                index: 0,
                error: OperationError::InputBeyondPage { offset, size },
            })
        );
        // The driver refuses the same bytes a program might send without that check.
        let mut bytes = request(
            CallingConvention::Memory,
            true,
            &[Operation::new(0x2001, 0, 1)],
        );
        bytes[32 + 8..32 + 16].copy_from_slice(&(header_qwords << 17).to_le_bytes());
        bytes[32 + 20..32 + 22].copy_from_slice(&offset.to_le_bytes());
        let mut dev = device(Scripted::succeeding(), ALLOW_RAW);
        let (c, out) = signal(&mut dev, bytes, MAX_SIGNAL_RESPONSE_SIZE);
        assert_eq!(
            c,
            Completion::refused(STATUS_INVALID_PARAMETER, "InputBeyondPage"),
            "{offset}/{header_qwords}"
        );
        assert!(out.is_empty());
        assert!(calls(&dev).is_empty());
    }
}

#[test]
fn raw_mode_sets_extra_bits_but_never_the_call_code() {
    let mut dev = device(Scripted::new(vec![0x3], vec![10]), ALLOW_RAW);
    let op = Operation {
        connection_id: 0xFF00_2001,
        rsvd_z: 0x1234,
        extra_control: 1 << 60 | 1 << 31 | 5 << 32 | 7 << 48 | 2 << 17 | 1 << 27,
        ..Operation::new(0, 9, 2)
    };
    let (c, out) = signal(&mut dev, request(CallingConvention::Fast, true, &[op]), 368);
    assert_eq!(c.status, 0);
    let r = results(&out)[0];
    let expected_control = 0x1_005D | 1 << 60 | 1 << 31 | 5 << 32 | 7 << 48 | 2 << 17 | 1 << 27;
    assert_eq!(r.control, expected_control);
    assert_eq!(
        (r.first_hv_status(), r.failures),
        (HvStatus::INVALID_HYPERCALL_INPUT, 2)
    );
    assert_eq!(
        calls(&dev),
        &[(expected_control, 0x1234_0009_FF00_2001, 0); 2]
    );
    assert!(SignalResponse::decode(&out).unwrap().raw());
}

#[test]
fn raw_mode_is_refused_without_the_policy_and_nothing_is_issued() {
    let mut dev = device(Scripted::succeeding(), NO_RAW);
    // Even a raw request whose operations use no raw field needs the policy.
    for op in [
        Operation::new(1, 0, 1),
        Operation {
            rsvd_z: 1,
            ..Operation::new(1, 0, 1)
        },
    ] {
        let (c, out) = signal(&mut dev, request(CallingConvention::Fast, true, &[op]), 368);
        assert_eq!(c, Completion::failed(STATUS_ACCESS_DENIED));
        assert!(out.is_empty());
    }
    assert!(calls(&dev).is_empty());
}

#[test]
fn no_hypervisor_refuses_signals_and_issues_nothing() {
    let mut dev = RequestHandler::<Scripted>::new(bare_metal(), None, ALLOW_RAW);
    let (c, _) = signal(
        &mut dev,
        request(CallingConvention::Fast, false, &[Operation::new(1, 0, 1)]),
        368,
    );
    // The refusal names the readiness rule behind it (the trace's `Detail`).
    assert_eq!(
        c,
        Completion::refused(STATUS_NOT_SUPPORTED, "no-hypervisor")
    );
    // Malformed input is still reported as such.
    let (c, _) = signal(&mut dev, vec![1, 2, 3], 368);
    assert_eq!(
        c,
        Completion::refused(STATUS_INVALID_BUFFER_SIZE, "TooShort")
    );
}

#[test]
fn memory_convention_without_a_page_is_refused() {
    let mut dev = device(Scripted::succeeding().without_page(), NO_RAW);
    let (c, _) = signal(
        &mut dev,
        request(CallingConvention::Memory, false, &[Operation::new(1, 0, 1)]),
        368,
    );
    assert_eq!(c, Completion::failed(STATUS_INSUFFICIENT_RESOURCES));
    let (c, _) = signal(
        &mut dev,
        request(CallingConvention::Fast, false, &[Operation::new(1, 0, 1)]),
        368,
    );
    assert_eq!(c, Completion::success(32 + 80 + 4));
    assert_eq!(calls(&dev).len(), 1);
}

#[test]
fn a_short_output_buffer_is_refused_before_any_call() {
    let mut dev = device(Scripted::succeeding(), NO_RAW);
    let bytes = request(
        CallingConvention::Fast,
        false,
        &[Operation::new(1, 0, 1), Operation::new(2, 0, 1)],
    );
    // The capacity: two results and at most one histogram entry per call.
    let capacity = signal_response_size(2, 2);
    assert_eq!(capacity, 32 + 2 * 80 + 2 * 4);
    let (c, _) = signal(&mut dev, bytes.clone(), capacity - 1);
    assert_eq!(c, Completion::failed(STATUS_BUFFER_TOO_SMALL));
    assert!(calls(&dev).is_empty());
    let (c, _) = signal(&mut dev, bytes, capacity);
    assert_eq!(c, Completion::success(capacity));
}

#[test]
fn parse_errors_complete_with_their_statuses() {
    let mut dev = device(Scripted::succeeding(), ALLOW_RAW);
    let good = request(CallingConvention::Fast, false, &[Operation::new(1, 0, 1)]);
    let with = |offset: usize, value: &[u8]| {
        let mut b = good.clone();
        b[offset..offset + value.len()].copy_from_slice(value);
        b
    };
    // Each with the parser's rule, which the driver's Refusal trace event names (`Detail`).
    let cases: Vec<(Vec<u8>, i32, &str)> = vec![
        (Vec::new(), STATUS_INVALID_BUFFER_SIZE, "TooShort"),
        (
            good[..40].to_vec(),
            STATUS_INVALID_BUFFER_SIZE,
            "SizeMismatch",
        ),
        (with(0, b"nope"), STATUS_INVALID_PARAMETER, "BadMagic"),
        (
            with(4, &[1, 0]),
            STATUS_REVISION_MISMATCH,
            "UnsupportedVersion",
        ),
        (
            with(4, &[3, 0]),
            STATUS_REVISION_MISMATCH,
            "UnsupportedVersion",
        ),
        (with(6, &[1, 0]), STATUS_INVALID_PARAMETER, "WrongKind"),
        (with(20, &[2]), STATUS_INVALID_PARAMETER, "UnknownFlags"),
        (with(24, &[0]), STATUS_INVALID_PARAMETER, "NoOperations"),
        (
            with(24, &[2]),
            STATUS_INVALID_BUFFER_SIZE,
            "EntriesBeyondBuffer",
        ),
        (with(48, &[0]), STATUS_INVALID_PARAMETER, "ZeroRepeat"),
        (
            with(35, &[1]),
            STATUS_INVALID_PARAMETER,
            "ConnectionIdTooLarge",
        ),
    ];
    for (bytes, status, rule) in cases {
        let (c, out) = signal(&mut dev, bytes.clone(), 1000);
        assert_eq!(c, Completion::refused(status, rule), "{bytes:02x?}");
        assert!(out.is_empty());
    }
    let mut failing = Failing {
        input: Err(STATUS_INVALID_USER_BUFFER),
        output: Ok(vec![0; 1000]),
    };
    assert_eq!(
        dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut failing),
        Completion::refused(STATUS_INVALID_USER_BUFFER, "BufferUnavailable")
    );
    let mut failing = Failing {
        input: Ok(good.clone()),
        output: Err(STATUS_BUFFER_TOO_SMALL),
    };
    assert_eq!(
        dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut failing),
        // The framework's status, passed through: the detail tells it from the core's own
        // OutputTooSmall, which has the same value.
        Completion::refused(STATUS_BUFFER_TOO_SMALL, "BufferUnavailable")
    );
    assert!(calls(&dev).is_empty());
}

#[test]
fn method_buffered_aliasing_input_and_output_share_one_buffer() {
    let mut dev = device(Scripted::new(vec![0, 0x12], vec![50]), NO_RAW);
    let ops: Vec<Operation> = (0..64)
        .map(|i| Operation::new(0x1000 + i, i as u16, 2))
        .collect();
    let bytes = request(CallingConvention::Fast, false, &ops);
    let mut system = SystemBuffer::new(&bytes, MAX_SIGNAL_RESPONSE_SIZE);
    let c = dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut system);
    // 64 results, one histogram entry each (every call took 50 cycles).
    assert_eq!(c, Completion::success(32 + 64 * 80 + 64 * 4));
    let r = results(&system.buffer[..c.information]);
    assert_eq!(r.len(), 64);
    for (i, result) in r.iter().enumerate() {
        assert_eq!(result.connection_id, 0x1000 + i as u32);
        assert_eq!(result.flag_number, i as u16);
        assert_eq!((result.calls, result.successes, result.failures), (2, 1, 1));
        assert_eq!((result.first_status, result.last_status), (0, 0x12));
    }
    let issued = calls(&dev);
    assert_eq!(issued.len(), 128);
    for (i, pair) in issued.chunks(2).enumerate() {
        let rdx = (0x1000 + i as u64) | (i as u64) << 32;
        assert_eq!(pair, &[(0x1_005D, rdx, 0); 2]);
    }
}

#[test]
fn responses_are_fully_written() {
    // The same request into a buffer of 0x00s and one of 0xFFs gives the same bytes: nothing in
    // the response is left from the buffer's previous contents.
    let run = |fill: u8| {
        let mut dev = device(Scripted::new(vec![0, 5], vec![3, 900]), ALLOW_RAW);
        let ops = [
            Operation::new(1, 2, 3),
            Operation {
                rsvd_z: 4,
                input_offset: 8,
                ..Operation::new(5, 6, 7)
            },
        ];
        let mut buffers = Buffers::new(request(CallingConvention::Memory, true, &ops), 1000);
        buffers.output.fill(fill);
        let c = dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut buffers);
        let mut q = Buffers::new(Vec::new(), 224);
        q.output.fill(fill);
        let qc = dev.handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut q);
        (
            c,
            buffers.output[..c.information].to_vec(),
            buffers.output[c.information..].to_vec(),
            qc,
            q.output,
        )
    };
    let (c0, out0, rest0, q0, query0) = run(0x00);
    let (c1, out1, rest1, q1, query1) = run(0xFF);
    assert_eq!((c0, q0), (c1, q1));
    // Two histogram entries per operation (3 and 900 cycles alternate).
    assert_eq!(c0.information, 32 + 2 * 80 + 4 * 4);
    assert_eq!(out0, out1);
    assert_eq!(query0, query1);
    // The rest of the capacity (3 + 7 words reserved, 4 used) is zeroed scratch; past it the
    // buffer is untouched.
    let scratch = 4 * (3 + 7 - 4);
    assert!(rest0.iter().all(|&b| b == 0));
    assert!(rest1[..scratch].iter().all(|&b| b == 0));
    assert!(rest1[scratch..].iter().all(|&b| b == 0xFF));
}

//! End to end through bytes over the reference model (`hvmodel`): request bytes as the console
//! program builds them → `RequestHandler` → `hvmodel::ModelPrimitive` → response bytes → decoded, with
//! exact statuses, counts, cycle statistics and the model's observed side effects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::sync::Arc;

use hvcall::HvStatus;
use hvmodel::{Hypervisor, INPUT_PAGE_BASE_GPA, ModelPrimitive, World};
use hvsignal_core::{Completion, Policy, RequestHandler};
use hvsignal_proto::wire::{
    CPU_VENDOR_INTEL, INSTRUCTION_VMCALL, QUERY_FLAG_HV1_INTERFACE,
    QUERY_FLAG_HYPERCALLS_AVAILABLE, QUERY_FLAG_HYPERVISOR_PRESENT, QUERY_FLAG_MEMORY_CONVENTION,
    QUERY_FLAG_RAW_ALLOWED,
};
use hvsignal_proto::{
    CallingConvention, IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, MAX_SIGNAL_RESPONSE_SIZE,
    NtStatus, Operation, OperationResult, QueryResponse, STATUS_ACCESS_DENIED,
    STATUS_NOT_SUPPORTED, SignalRequest, SignalResponse,
};

/// The built-in world with deterministic timing: no jitter, no outliers.
const EXACT_TIMING: &str = r#"
profile = "tlfs"
vendor = "intel"

[driver]
allow_raw_hypercalls = true

[caller]
privileges = ["SignalEvents", "PostMessages", "AccessFrequencyRegs", "AccessHypercallMsrs"]

[[partition]]
id = 1
name = "host"
[[partition.vp]]
index = 0

[[port]]
id = 1
partition = 1
sint = 2
base_flag = 0
flag_count = 16

[[connection]]
id = 0x2001
port = 1

[timing]
jitter_cycles = 0
outlier_one_in = 0
"#;

struct Setup {
    hv: Arc<Hypervisor>,
    device: RequestHandler<ModelPrimitive>,
}

/// A device over `world`, built the way the driver builds it: the primitive only when the
/// machine takes hypercalls, the policy from the world's `[driver]` table.
fn setup(world: World) -> Setup {
    let policy = Policy {
        allow_raw_hypercalls: world.allow_raw_hypercalls(),
    };
    let hv = Hypervisor::new(world);
    let device = RequestHandler::new(hv.readiness(), Some(hv.primitive()), policy);
    Setup { hv, device }
}

struct Buffers {
    input: Vec<u8>,
    output: Vec<u8>,
}

impl hvsignal_core::IoBuffers for Buffers {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        Ok(&self.input)
    }
    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        Ok(&mut self.output)
    }
}

fn signal(
    device: &mut RequestHandler<ModelPrimitive>,
    convention: CallingConvention,
    raw: bool,
    ops: &[Operation],
) -> (Completion, Vec<OperationResult>) {
    let (c, bytes) = signal_bytes(device, convention, raw, ops);
    let results = if c.status == 0 {
        SignalResponse::decode(&bytes)
            .unwrap()
            .operations()
            .collect()
    } else {
        Vec::new()
    };
    (c, results)
}

/// An operation's histogram entries (bucket, count) and its samples.
type Distribution = (Vec<(usize, u32)>, Vec<u32>);

/// Each operation's histogram entries and samples, from a successful response's bytes.
fn distributions(bytes: &[u8]) -> Vec<Distribution> {
    SignalResponse::decode(bytes)
        .unwrap()
        .views()
        .map(|v| (v.histogram().collect(), v.samples().collect()))
        .collect()
}

/// Sends the operations; returns the completion and the response's bytes.
fn signal_bytes(
    device: &mut RequestHandler<ModelPrimitive>,
    convention: CallingConvention,
    raw: bool,
    ops: &[Operation],
) -> (Completion, Vec<u8>) {
    let mut request = SignalRequest::new(convention, raw);
    for op in ops {
        request.push(*op).unwrap();
    }
    let mut input = vec![0; request.encoded_len()];
    request.encode(&mut input).unwrap();
    let mut buffers = Buffers {
        input,
        output: vec![0; MAX_SIGNAL_RESPONSE_SIZE],
    };
    let c = device.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut buffers);
    if c.status != 0 {
        assert_eq!(c.information, 0);
    }
    buffers.output.truncate(c.information);
    (c, buffers.output)
}

/// Timestamp reads the driver makes per request to measure its timer overhead.
const TIMER_READS: u64 = 2 * hvsignal_proto::wire::TIMER_OVERHEAD_PAIRS as u64;

fn counts(r: &OperationResult) -> (u32, u32, u32, HvStatus, HvStatus) {
    (
        r.calls,
        r.successes,
        r.failures,
        r.first_hv_status(),
        r.last_hv_status(),
    )
}

#[test]
fn query_over_the_builtin_world() {
    let mut s = setup(World::builtin());
    let mut buffers = Buffers {
        input: Vec::new(),
        output: vec![0; 224],
    };
    let c = s
        .device
        .handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut buffers);
    assert_eq!(c, Completion::success(224));
    let q = QueryResponse::decode(&buffers.output).unwrap();
    assert_eq!(
        q.flags,
        QUERY_FLAG_HYPERVISOR_PRESENT
            | QUERY_FLAG_HV1_INTERFACE
            | QUERY_FLAG_HYPERCALLS_AVAILABLE
            | QUERY_FLAG_MEMORY_CONVENTION
    );
    assert_eq!(q.flags & QUERY_FLAG_RAW_ALLOWED, 0);
    assert_eq!(
        (q.cpu_vendor, q.instruction),
        (CPU_VENDOR_INTEL, INSTRUCTION_VMCALL)
    );
    assert_eq!(&q.cpu_vendor_string, b"GenuineIntel");
    assert_eq!(q.tsc_frequency_hz, 2_400_000_000);
    let hv = q.hypervisor_cpuid();
    assert_eq!(&hv.vendor_signature(), b"Microsoft Hv");
    assert!(hv.is_hv1());
    assert!(hv.privileges().signal_events());
    for (i, leaf) in q.hypervisor_leaves.iter().enumerate() {
        let expected = s.hv.cpuid(0x4000_0000 + u32::try_from(i).unwrap());
        assert_eq!(*leaf, expected);
    }
    assert_eq!(s.hv.total_calls(), 0);
}

#[test]
fn success_sets_the_flag_and_raises_the_sint_once() {
    let mut s = setup(World::builtin());
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[Operation::new(0x2001, 3, 5), Operation::new(0x2004, 15, 1)],
    );
    // Two results and their histogram entries (the model's jitter spreads the five calls).
    let words = (r[0].histogram_entries + r[1].histogram_entries) as usize;
    assert_eq!((r[0].histogram_entries, r[1].histogram_entries), (5, 1));
    assert_eq!(c, Completion::success(32 + 2 * 80 + 4 * words));
    assert_eq!(
        counts(&r[0]),
        (5, 5, 0, HvStatus::SUCCESS, HvStatus::SUCCESS)
    );
    assert_eq!(
        counts(&r[1]),
        (1, 1, 0, HvStatus::SUCCESS, HvStatus::SUCCESS)
    );
    assert_eq!(
        (r[0].control, r[0].first_result, r[0].last_result),
        (0x1_005D, 0, 0)
    );
    // Port 1 (base flag 0) flag 3 and port 4 (base flag 48) flag 15 in SINT 2 of VP 0.
    assert_eq!(s.hv.sief_flag(1, 0, 2, 3), Some(true));
    assert_eq!(s.hv.sief_flag(1, 0, 2, 63), Some(true));
    assert_eq!(s.hv.sief_flag(1, 0, 2, 4), Some(false));
    assert_eq!(s.hv.interrupts(1, 0, 2), Some(2));
    assert_eq!(s.hv.calls_with_status(HvStatus::SUCCESS), 6);
}

#[test]
fn unknown_connection_and_flag_out_of_range() {
    let mut s = setup(World::builtin());
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[
            Operation::new(0x9999, 0, 4),
            Operation::new(0x2002, 16, 2),
            Operation::new(0x2002, 15, 1),
        ],
    );
    assert_eq!(c.status, 0);
    let bad_connection = HvStatus::INVALID_CONNECTION_ID;
    assert_eq!(counts(&r[0]), (4, 0, 4, bad_connection, bad_connection));
    assert_eq!(r[0].first_result, 0x12);
    let bad_flag = HvStatus::INVALID_PARAMETER;
    assert_eq!(counts(&r[1]), (2, 0, 2, bad_flag, bad_flag));
    assert_eq!(
        counts(&r[2]),
        (1, 1, 0, HvStatus::SUCCESS, HvStatus::SUCCESS)
    );
    assert_eq!(s.hv.calls_with_status(bad_connection), 4);
    assert_eq!(s.hv.calls_with_status(bad_flag), 2);
    assert_eq!(s.hv.interrupts(1, 0, 2), Some(1));
}

#[test]
fn raw_mode_malformed_calls_return_invalid_hypercall_input() {
    let world = World::from_toml_str(EXACT_TIMING, "exact-timing.toml").unwrap();
    let mut s = setup(world);
    assert!(s.device.policy().allow_raw_hypercalls);
    let rep_count = Operation {
        extra_control: 1 << 32,
        ..Operation::new(0x2001, 0, 2)
    };
    let reserved_bit = Operation {
        extra_control: 1 << 60,
        ..Operation::new(0x2001, 0, 1)
    };
    let var_header = Operation {
        extra_control: 1 << 17,
        ..Operation::new(0x2001, 0, 1)
    };
    let rsvd_z = Operation {
        rsvd_z: 1,
        ..Operation::new(0x2001, 0, 1)
    };
    let high_id = Operation::new(0x0100_2001, 0, 1);
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Fast,
        true,
        &[rep_count, reserved_bit, var_header, rsvd_z, high_id],
    );
    assert_eq!(c.status, 0);
    let input = HvStatus::INVALID_HYPERCALL_INPUT;
    assert_eq!(counts(&r[0]), (2, 0, 2, input, input));
    assert_eq!(r[0].control, 0x1_005D | 1 << 32);
    for result in &r[1..] {
        assert_eq!(counts(result), (1, 0, 1, input, input));
    }
    assert_eq!(r[1].control, 0x1_005D | 1 << 60);
    assert_eq!((r[3].rsvd_z, r[4].connection_id), (1, 0x0100_2001));
    assert_eq!(s.hv.calls_with_status(input), 6);
    assert_eq!(s.hv.sief_flag(1, 0, 2, 0), Some(false));
}

#[test]
fn raw_mode_is_refused_when_the_world_does_not_allow_it() {
    let mut s = setup(World::builtin());
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Fast,
        true,
        &[Operation::new(0x2001, 0, 1)],
    );
    assert_eq!(c, Completion::failed(STATUS_ACCESS_DENIED));
    assert!(r.is_empty());
    assert_eq!(s.hv.total_calls(), 0);
}

#[test]
fn memory_convention_reads_the_input_page() {
    let world = World::from_toml_str(EXACT_TIMING, "exact-timing.toml").unwrap();
    let mut s = setup(world);
    let misaligned = Operation {
        input_offset: 4,
        ..Operation::new(0x2001, 1, 1)
    };
    let misaligned_late = Operation {
        input_offset: 4084,
        ..Operation::new(0x2001, 1, 1)
    };
    let last_slot = Operation {
        input_offset: 4088,
        ..Operation::new(0x2001, 2, 1)
    };
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Memory,
        true,
        &[
            Operation::new(0x2001, 7, 3),
            misaligned,
            misaligned_late,
            last_slot,
        ],
    );
    assert_eq!(c.status, 0);
    assert_eq!(
        counts(&r[0]),
        (3, 3, 0, HvStatus::SUCCESS, HvStatus::SUCCESS)
    );
    assert_eq!(r[0].control, 0x5D);
    let alignment = HvStatus::INVALID_ALIGNMENT;
    assert_eq!(counts(&r[1]), (1, 0, 1, alignment, alignment));
    assert_eq!(counts(&r[2]), (1, 0, 1, alignment, alignment));
    assert_eq!(
        counts(&r[3]),
        (1, 1, 0, HvStatus::SUCCESS, HvStatus::SUCCESS)
    );
    assert_eq!(s.hv.sief_flag(1, 0, 2, 7), Some(true));
    assert_eq!(s.hv.sief_flag(1, 0, 2, 2), Some(true));
    assert_eq!(s.hv.sief_flag(1, 0, 2, 1), Some(false));
    let primitive = s.device.hypercalls().unwrap();
    assert_eq!(primitive.input_page_gpa(), INPUT_PAGE_BASE_GPA);
}

#[test]
fn cycle_statistics_are_exact_with_deterministic_timing() {
    let world = World::from_toml_str(EXACT_TIMING, "exact-timing.toml").unwrap();
    let timing = *world.timing();
    let mut s = setup(world);
    let before = s.device.hypercalls().unwrap().peek_tsc();
    let (c, bytes) = signal_bytes(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[
            Operation::new(0x2001, 0, 10),
            Operation::new(0x7777, 0, 4),
            Operation::new(0x2001, 0, 3).with_samples(),
        ],
    );
    assert_eq!(c.status, 0);
    let r: Vec<OperationResult> = SignalResponse::decode(&bytes)
        .unwrap()
        .operations()
        .collect();
    let d = distributions(&bytes);
    // The timer overhead: an empty timed region is exactly one timestamp read.
    assert_eq!(
        SignalResponse::decode(&bytes)
            .unwrap()
            .timer_overhead_cycles(),
        u32::try_from(timing.timestamp_cycles).unwrap()
    );
    // A call measures one timestamp read plus its own cost; the first success raises the SINT.
    let success = timing.timestamp_cycles + timing.success_cycles;
    let first = success + timing.interrupt_cycles;
    assert_eq!(r[0].cycles_min, success);
    assert_eq!(r[0].cycles_max, first);
    assert_eq!(r[0].cycles_sum, first + 9 * success);
    // success = 1275 cycles lands in a lower bucket than first = 1625.
    let bucket = hvsignal_proto::histogram_bucket;
    assert_eq!(
        d[0],
        (vec![(bucket(success), 9), (bucket(first), 1)], vec![])
    );
    assert_eq!(r[0].histogram_entries, 2);
    let lookup = timing.timestamp_cycles + timing.lookup_error_cycles;
    assert_eq!(
        (r[1].cycles_min, r[1].cycles_max, r[1].cycles_sum),
        (lookup, lookup, 4 * lookup)
    );
    assert_eq!(d[1], (vec![(bucket(lookup), 4)], vec![]));
    // Samples: every call's cycles in order, no histogram (the flag is already set, so no
    // interrupt this time).
    let success_u32 = u32::try_from(success).unwrap();
    assert_eq!(d[2], (vec![], vec![success_u32; 3]));
    assert_eq!((r[2].options, r[2].histogram_entries), (1, 0));
    // The response is exactly as long as its words: 2 + 1 entries and 3 samples.
    assert_eq!(c.information, 32 + 3 * 80 + 4 * 6);
    // Every cycle the virtual TSC advanced is accounted for: the measured sums, the end
    // timestamp read of each call and the timer-overhead reads.
    let after = s.device.hypercalls().unwrap().peek_tsc();
    assert_eq!(
        after - before,
        r.iter().map(|r| r.cycles_sum).sum::<u64>()
            + 17 * timing.timestamp_cycles
            + TIMER_READS * timing.timestamp_cycles
    );
}

#[test]
fn statistics_add_up_with_jitter_and_outliers() {
    let mut s = setup(World::builtin());
    let before = s.device.hypercalls().unwrap().peek_tsc();
    let (c, bytes) = signal_bytes(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[Operation::new(0x2003, 1, 10_000)],
    );
    assert_eq!(c.status, 0);
    let r = SignalResponse::decode(&bytes)
        .unwrap()
        .operation(0)
        .unwrap();
    assert_eq!((r.calls, r.successes, r.failures), (10_000, 10_000, 0));
    let (histogram, samples) = distributions(&bytes).remove(0);
    assert!(samples.is_empty());
    assert_eq!(histogram.iter().map(|&(_, n)| n).sum::<u32>(), 10_000);
    assert!(histogram.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(r.cycles_min <= r.mean_cycles().unwrap() && r.mean_cycles().unwrap() <= r.cycles_max);
    let timing = *World::builtin().timing();
    assert!(r.cycles_min >= timing.timestamp_cycles + timing.success_cycles);
    let after = s.device.hypercalls().unwrap().peek_tsc();
    assert_eq!(
        after - before,
        r.cycles_sum + 10_000 * timing.timestamp_cycles + TIMER_READS * timing.timestamp_cycles
    );
}

#[test]
fn caller_without_the_privilege_gets_the_hypervisors_access_denied() {
    let text = EXACT_TIMING.replace(
        r#"privileges = ["SignalEvents", "PostMessages", "AccessFrequencyRegs", "AccessHypercallMsrs"]"#,
        r#"privileges = ["PostMessages", "AccessHypercallMsrs"]"#,
    );
    let mut s = setup(World::from_toml_str(&text, "no-signal-events.toml").unwrap());
    let (c, r) = signal(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[Operation::new(0x2001, 0, 2)],
    );
    // The hypercall's ACCESS_DENIED is a result, not a failed request.
    assert_eq!(c.status, 0);
    let denied = HvStatus::ACCESS_DENIED;
    assert_eq!(counts(&r[0]), (2, 0, 2, denied, denied));
}

#[test]
fn without_a_hypervisor_nothing_is_issued() {
    let text = EXACT_TIMING.replace("[driver]", "[hypervisor]\npresent = false\n\n[driver]");
    let mut s = setup(World::from_toml_str(&text, "bare-metal.toml").unwrap());
    assert!(s.device.hypercalls().is_none());
    let (c, _) = signal(
        &mut s.device,
        CallingConvention::Fast,
        false,
        &[Operation::new(0x2001, 0, 1)],
    );
    assert_eq!(
        c,
        Completion::refused(STATUS_NOT_SUPPORTED, "no-hypervisor")
    );
    let q = s.device.query();
    assert_eq!(q.flags & QUERY_FLAG_HYPERCALLS_AVAILABLE, 0);
    assert_eq!(q.flags & QUERY_FLAG_HYPERVISOR_PRESENT, 0);
    assert_eq!(s.hv.total_calls(), 0);
}

/// On every world whose machine must not take a hypercall, the device keeps no primitive,
/// refuses every signal request with STATUS_NOT_SUPPORTED and issues nothing: the model counts
/// no call and no faulting instruction (no #UD hypercall, no #GP MSR read).
#[test]
fn refused_machines_issue_nothing_and_fault_nowhere() {
    use hvcall::Refusal;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../hvmodel/worlds/");
    for (file, refusal) in [
        ("no-hypervisor.toml", Refusal::NoHypervisor),
        (
            "refuse-not-microsoft-hypervisor.toml",
            Refusal::NotMicrosoftHypervisor,
        ),
        (
            "refuse-isolation-snp.toml",
            Refusal::Isolated {
                isolation: hvcall::IsolationType::Snp,
                paravisor: false,
            },
        ),
        (
            "refuse-no-hypercall-msr-access.toml",
            Refusal::NoHypercallMsrAccess,
        ),
        (
            "refuse-isolation-leaf-missing.toml",
            Refusal::IsolationLeafMissing,
        ),
        (
            "refuse-isolation-tdx.toml",
            Refusal::Isolated {
                isolation: hvcall::IsolationType::Tdx,
                paravisor: false,
            },
        ),
        (
            "refuse-isolation-snp-paravisor.toml",
            Refusal::Isolated {
                isolation: hvcall::IsolationType::Snp,
                paravisor: true,
            },
        ),
        ("refuse-guest-os-id-not-set.toml", Refusal::GuestOsIdNotSet),
        (
            "refuse-hypercall-page-disabled.toml",
            Refusal::HypercallPageDisabled,
        ),
    ] {
        let world = World::from_file(std::path::Path::new(&format!("{dir}{file}"))).unwrap();
        let mut s = setup(world);
        assert_eq!(s.device.readiness().verdict, Err(refusal), "{file}");
        assert!(s.device.hypercalls().is_none(), "{file}");
        for convention in [CallingConvention::Fast, CallingConvention::Memory] {
            let (c, r) = signal(
                &mut s.device,
                convention,
                false,
                &[Operation::new(0x2001, 0, 5)],
            );
            // The refusal's detail is the readiness rule that refused the machine.
            assert_eq!(
                c,
                Completion::refused(hvsignal_proto::STATUS_NOT_SUPPORTED, refusal.name()),
                "{file}"
            );
            assert!(r.is_empty());
        }
        assert_eq!(s.device.query().refusal(), Some(refusal), "{file}");
        assert_eq!((s.hv.total_calls(), s.hv.faults()), (0, 0), "{file}");
    }
    // The model does fault where real hardware would, so the zero above means something.
    let world = World::from_file(std::path::Path::new(&format!(
        "{dir}refuse-guest-os-id-not-set.toml"
    )))
    .unwrap();
    let hv = Hypervisor::new(world);
    let outcome = hv.hypercall_detailed(0x1_005D, 0x2001, 0, None);
    assert!(outcome.faulted);
    assert_eq!(hv.faults(), 1);
}

//! The code's tables checked against one independent reference list each, transcribed from the
//! public sources (not from the code): HV_STATUS values and names, the partition privilege mask,
//! and the leaf 0x40000003 EDX feature bits. Each list is the only copy outside the code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use hvcall::HvStatus;
use hvcall::cpuid::{EDX_FEATURE_BITS, PRIVILEGE_BITS};
use hvcall::status::KNOWN_STATUSES;

/// Every HV_STATUS value with its name (without the `HV_STATUS_` prefix).
///
/// Transcribed from microsoft/openvmm vm/hv1/hvdef/src/lib.rs (`hv_error!` / `HvError`,
/// CamelCase there) and, for the entries marked `linux`, torvalds/linux
/// include/hyperv/hvgdk_mini.h (`HV_STATUS_*`), which also spells 0x78 `TIME_OUT` (OpenVMM:
/// `Timeout`). SUCCESS (0) is the TLFS's
/// (https://learn.microsoft.com/en-us/virtualization/hyper-v-on-windows/tlfs/hypercall-interface).
const HV_STATUS_REFERENCE: &[(u16, &str)] = &[
    (0x0000, "SUCCESS"),
    (0x0002, "INVALID_HYPERCALL_CODE"),
    (0x0003, "INVALID_HYPERCALL_INPUT"),
    (0x0004, "INVALID_ALIGNMENT"),
    (0x0005, "INVALID_PARAMETER"),
    (0x0006, "ACCESS_DENIED"),
    (0x0007, "INVALID_PARTITION_STATE"),
    (0x0008, "OPERATION_DENIED"),
    (0x0009, "UNKNOWN_PROPERTY"),
    (0x000A, "PROPERTY_VALUE_OUT_OF_RANGE"),
    (0x000B, "INSUFFICIENT_MEMORY"),
    (0x000C, "PARTITION_TOO_DEEP"),
    (0x000D, "INVALID_PARTITION_ID"),
    (0x000E, "INVALID_VP_INDEX"),
    (0x0010, "NOT_FOUND"),
    (0x0011, "INVALID_PORT_ID"),
    (0x0012, "INVALID_CONNECTION_ID"),
    (0x0013, "INSUFFICIENT_BUFFERS"),
    (0x0014, "NOT_ACKNOWLEDGED"),
    (0x0015, "INVALID_VP_STATE"),
    (0x0016, "ACKNOWLEDGED"),
    (0x0017, "INVALID_SAVE_RESTORE_STATE"),
    (0x0018, "INVALID_SYNIC_STATE"),
    (0x0019, "OBJECT_IN_USE"),
    (0x001A, "INVALID_PROXIMITY_DOMAIN_INFO"),
    (0x001B, "NO_DATA"),
    (0x001C, "INACTIVE"),
    (0x001D, "NO_RESOURCES"),
    (0x001E, "FEATURE_UNAVAILABLE"),
    (0x001F, "PARTIAL_PACKET"),
    (0x0020, "PROCESSOR_FEATURE_NOT_SUPPORTED"),
    (0x0030, "PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE"),
    (0x0033, "INSUFFICIENT_BUFFER"),
    (0x0037, "INCOMPATIBLE_PROCESSOR"),
    (0x0038, "INSUFFICIENT_DEVICE_DOMAINS"),
    (0x003C, "CPUID_FEATURE_VALIDATION_ERROR"),
    (0x003D, "CPUID_XSAVE_FEATURE_VALIDATION_ERROR"),
    (0x003E, "PROCESSOR_STARTUP_TIMEOUT"),
    (0x003F, "SMX_ENABLED"),
    (0x0041, "INVALID_LP_INDEX"),
    (0x0050, "INVALID_REGISTER_VALUE"),
    (0x0051, "INVALID_VTL_STATE"),
    (0x0055, "NX_NOT_DETECTED"),
    (0x0057, "INVALID_DEVICE_ID"),
    (0x0058, "INVALID_DEVICE_STATE"),
    (0x0059, "PENDING_PAGE_REQUESTS"),
    (0x0060, "PAGE_REQUEST_INVALID"),
    (0x0065, "KEY_ALREADY_EXISTS"),
    (0x0066, "DEVICE_ALREADY_IN_DOMAIN"),
    (0x006F, "INVALID_CPU_GROUP_ID"),
    (0x0070, "INVALID_CPU_GROUP_STATE"),
    (0x0071, "OPERATION_FAILED"),
    (0x0072, "NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE"),
    (0x0073, "INSUFFICIENT_ROOT_MEMORY"),
    (0x0074, "EVENT_BUFFER_ALREADY_FREED"),
    (0x0075, "INSUFFICIENT_CONTIGUOUS_MEMORY"), // linux
    (0x0078, "TIME_OUT"),
    (0x0079, "CALL_PENDING"),                        // linux
    (0x0083, "INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY"), // linux
    (0x0086, "VTL_ALREADY_ENABLED"),
    (0x0087, "UNKNOWN_REGISTER_NAME"),
];

/// Every named bit of `HV_PARTITION_PRIVILEGE_MASK` (leaf 0x40000003 EAX = bits 0–31, EBX =
/// 32–63): bit, name, and whether the TLFS names it.
///
/// Bit positions: microsoft/openvmm vm/hv1/hvdef/src/lib.rs (`HvPartitionPrivilege`, one field
/// per bit, snake_case there). Names: the TLFS
/// (https://learn.microsoft.com/en-us/virtualization/hyper-v-on-windows/tlfs/datatypes/hv_partition_privilege_mask
/// and docs/HYPERCALL.md, Privilege mask); `false` marks the bits the TLFS lists as reserved,
/// named after OpenVMM's fields.
const PRIVILEGE_REFERENCE: &[(u8, &str, bool)] = &[
    (0, "AccessVpRunTimeReg", true),
    (1, "AccessPartitionReferenceCounter", true),
    (2, "AccessSynicRegs", true),
    (3, "AccessSyntheticTimerRegs", true),
    (4, "AccessIntrCtrlRegs", true),
    (5, "AccessHypercallMsrs", true),
    (6, "AccessVpIndex", true),
    (7, "AccessResetReg", true),
    (8, "AccessStatsReg", true),
    (9, "AccessPartitionReferenceTsc", true),
    (10, "AccessGuestIdleReg", true),
    (11, "AccessFrequencyRegs", true),
    (12, "AccessDebugRegs", false),
    (13, "AccessReenlightenmentControls", true),
    (14, "AccessRootSchedulerReg", false),
    (15, "AccessTscInvariantControls", false),
    (32, "CreatePartitions", true),
    (33, "AccessPartitionId", true),
    (34, "AccessMemoryPool", true),
    (35, "AdjustMessageBuffers", false),
    (36, "PostMessages", true),
    (37, "SignalEvents", true),
    (38, "CreatePort", true),
    (39, "ConnectPort", true),
    (40, "AccessStats", true),
    (43, "Debugging", true),
    (44, "CpuManagement", true),
    (45, "ConfigureProfiler", false),
    (46, "AccessVpExitTracing", false),
    (
        47,
        "EnableExtendedGvaRangesForFlushVirtualAddressList",
        false,
    ),
    (48, "AccessVSM", true),
    (49, "AccessVpRegisters", true),
    (51, "FastHypercallOutput", false),
    (52, "EnableExtendedHypercalls", true),
    (53, "StartVirtualProcessor", true),
    (54, "Isolation", false),
];

/// The named feature bits of leaf 0x40000003 EDX, from torvalds/linux include/hyperv/hvgdk_mini.h
/// ("Group D" features, `HV_X64_*` / `HV_FEATURE_*` / `HV_STIMER_DIRECT_MODE_AVAILABLE`), with the
/// TLFS's names
/// (https://learn.microsoft.com/en-us/virtualization/hyper-v-on-windows/tlfs/feature-discovery).
const EDX_FEATURE_REFERENCE: &[(u8, &str)] = &[
    (0, "MwaitAvailable"),
    (1, "GuestDebuggingAvailable"),
    (2, "PerformanceMonitorAvailable"),
    (3, "CpuDynamicPartitioningAvailable"),
    (4, "XmmRegistersForFastHypercallInput"),
    (5, "GuestIdleStateAvailable"),
    (8, "FrequencyMsrsAvailable"),
    (10, "GuestCrashMsrsAvailable"),
    (11, "DebugMsrsAvailable"),
    (15, "XmmRegistersForFastHypercallOutput"),
    (17, "SintPollingModeAvailable"),
    (18, "HypercallMsrLockAvailable"),
    (19, "DirectSyntheticTimers"),
];

#[test]
fn the_status_table_is_the_reference_list() {
    let table: Vec<(u16, &str)> = KNOWN_STATUSES
        .iter()
        .map(|info| (info.status.code(), info.name))
        .collect();
    let reference: Vec<(u16, String)> = HV_STATUS_REFERENCE
        .iter()
        .map(|&(code, short)| (code, format!("HV_STATUS_{short}")))
        .collect();
    assert_eq!(
        table,
        reference
            .iter()
            .map(|(code, name)| (*code, name.as_str()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn every_reference_status_maps_to_its_name_and_back() {
    for &(code, short) in HV_STATUS_REFERENCE {
        let status = HvStatus::from_code(code);
        let full = format!("HV_STATUS_{short}");
        assert_eq!(status.name(), Some(full.as_str()), "{code:#x}");
        assert!(status.meaning().is_some_and(|m| !m.is_empty()), "{code:#x}");
        assert_eq!(HvStatus::from_name(&full), Some(status));
        assert_eq!(
            HvStatus::from_name(&short.to_ascii_lowercase()),
            Some(status)
        );
    }
}

#[test]
fn the_privilege_table_is_the_reference_list() {
    let table: Vec<(u8, &str, bool)> = PRIVILEGE_BITS
        .iter()
        .map(|b| (b.bit, b.name, b.tlfs_named))
        .collect();
    assert_eq!(table, PRIVILEGE_REFERENCE);
}

#[test]
fn the_edx_feature_table_is_the_reference_list() {
    assert_eq!(EDX_FEATURE_BITS, EDX_FEATURE_REFERENCE);
}

//! `DriverEntry`, the raw-call policy, and `EvtDriverDeviceAdd`.

use core::sync::atomic::{AtomicBool, Ordering};

use hvsignal_core::Policy;
use hvsignal_proto::names::{
    RAW_POLICY_VALUE_NAME, RAW_POLICY_VALUE_NAME_UTF16, RAW_POLICY_VALUE_NAME_UTF16_BYTES,
};
use wdk::{nt_success, paged_code, println};
use wdk_sys::{
    NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, PWDFDEVICE_INIT, ULONG, UNICODE_STRING,
    WDF_DRIVER_CONFIG, WDF_NO_HANDLE, WDF_NO_OBJECT_ATTRIBUTES, WDFDRIVER, WDFKEY,
    call_unsafe_wdf_function_binding,
};

use crate::context::WDF_DRIVER_CONFIG_SIZE;
use crate::device::create_device;
use crate::trace;

/// `KEY_QUERY_VALUE` (winnt.h / wdm.h): all the policy read needs.
const KEY_QUERY_VALUE: ULONG = 0x0001;

/// The policy value's name in UTF-16, for `WdfRegistryQueryULong`: a `static`, so the
/// `UNICODE_STRING` points at one fixed address.
static POLICY_VALUE_NAME_UTF16: [u16; RAW_POLICY_VALUE_NAME.len()] = RAW_POLICY_VALUE_NAME_UTF16;

/// `AllowRawHypercalls`, read once in `DriverEntry`; device add hands it to the core device.
/// (A changed value takes effect when the driver is next loaded: after a device restart that
/// completes, or a reboot; docs/WINDOWS.md, Raw mode.)
static ALLOW_RAW_HYPERCALLS: AtomicBool = AtomicBool::new(false);

/// `DriverEntry`: registers the trace provider, creates the WDF driver object and reads the
/// raw-call policy. The provider is unregistered again on every failure path here, and
/// otherwise in `EvtDriverUnload`.
///
/// # Safety
/// Called by the KMDF loader stub (`FxDriverEntry`) with the system's driver object and the
/// service's registry path, at PASSIVE_LEVEL, once.
// SAFETY: "DriverEntry" is the symbol WdfDriverEntry.lib's FxDriverEntry calls; no other item
// exports it. The INIT section is discarded after DriverEntry returns, and only DriverEntry and
// the policy read (called only from here) live in it.
#[unsafe(export_name = "DriverEntry")]
#[unsafe(link_section = "INIT")]
pub unsafe extern "system" fn driver_entry(
    driver: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    // SAFETY: DriverEntry runs once per image load, on one thread, before anything else of the
    // driver; the provider is unregistered below if DriverEntry fails (no EvtDriverUnload then)
    // and in EvtDriverUnload otherwise, both before the image unloads.
    unsafe { trace::register() };

    let mut config = WDF_DRIVER_CONFIG {
        Size: WDF_DRIVER_CONFIG_SIZE,
        EvtDriverDeviceAdd: Some(evt_driver_device_add),
        EvtDriverUnload: Some(evt_driver_unload),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut wdf_driver: WDFDRIVER = WDF_NO_HANDLE.cast();
    // SAFETY: `driver` and `registry_path` are the loader's arguments, valid for DriverEntry; the
    // configuration and the output handle are valid for the call; no driver attributes.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            &raw mut wdf_driver,
        )
    };
    if !nt_success(status) {
        println!("hvsignal: WdfDriverCreate failed {status:#010X}");
        trace::unregister();
        return status;
    }

    let allow = read_allow_raw_hypercalls(wdf_driver);
    ALLOW_RAW_HYPERCALLS.store(allow, Ordering::Relaxed);
    println!(
        "hvsignal: driver loaded; raw hypercalls {}",
        if allow { "ALLOWED" } else { "not allowed" }
    );
    status
}

/// Reads the DWORD `AllowRawHypercalls` under the service's `Parameters` key: true only when it
/// is 1; absent, unreadable or any other value means raw mode stays off.
#[unsafe(link_section = "INIT")]
fn read_allow_raw_hypercalls(driver: WDFDRIVER) -> bool {
    let mut key: WDFKEY = WDF_NO_HANDLE.cast();
    // SAFETY: `driver` is the driver object just created; the output handle is valid; no key
    // attributes (the key is parented to the driver). PASSIVE_LEVEL.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverOpenParametersRegistryKey,
            driver,
            KEY_QUERY_VALUE,
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut key,
        )
    };
    if !nt_success(status) {
        println!("hvsignal: no Parameters key ({status:#010X}); raw hypercalls not allowed");
        return false;
    }

    let name = UNICODE_STRING {
        Length: RAW_POLICY_VALUE_NAME_UTF16_BYTES,
        MaximumLength: RAW_POLICY_VALUE_NAME_UTF16_BYTES,
        // WdfRegistryQueryULong takes a PCUNICODE_STRING and only reads the name.
        Buffer: POLICY_VALUE_NAME_UTF16.as_ptr().cast_mut(),
    };
    let mut value: ULONG = 0;
    // SAFETY: `key` was opened above; `name` describes a 'static UTF-16 buffer of its `Length` bytes;
    // `value` is a valid output. PASSIVE_LEVEL.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRegistryQueryULong,
            key,
            &raw const name,
            &raw mut value
        )
    };
    // SAFETY: `key` is open and closed exactly once, here.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfRegistryClose, key);
    }
    if !nt_success(status) {
        println!(
            "hvsignal: {RAW_POLICY_VALUE_NAME} not readable ({status:#010X}); raw hypercalls not allowed"
        );
        return false;
    }
    value == 1
}

/// `EvtDriverDeviceAdd` (`EVT_WDF_DRIVER_DEVICE_ADD`, wdfdriver.h): PnP found the
/// root-enumerated device.
#[unsafe(link_section = "PAGE")]
extern "C" fn evt_driver_device_add(_driver: WDFDRIVER, device_init: PWDFDEVICE_INIT) -> NTSTATUS {
    paged_code!();

    let policy = Policy {
        allow_raw_hypercalls: ALLOW_RAW_HYPERCALLS.load(Ordering::Relaxed),
    };
    create_device(device_init, policy)
}

/// `EvtDriverUnload` (`EVT_WDF_DRIVER_UNLOAD`, wdfdriver.h): the driver image is about to
/// unload; its devices are gone. Unregisters the trace provider, whose enable callback is code
/// in this image. PASSIVE_LEVEL.
extern "C" fn evt_driver_unload(_driver: WDFDRIVER) {
    trace::unregister();
}

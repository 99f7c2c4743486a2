//! The device: its context (the core device with the native primitive, and the
//! memory-convention input page), its creation and its device interface.

use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use hvcall::native::{self, NativeHypercall, NativeInputPage};
use hvcall::{PAGE_SIZE, Readiness};
use hvsignal_core::{Policy, RequestHandler};
use hvsignal_proto::Failure;
use hvsignal_proto::names::HVSIGNAL_INTERFACE_GUID;
use hvsignal_proto::trace::{DriverLoad, FRAMEWORK};
use wdk::{nt_success, paged_code, println};
use wdk_sys::ntddk::{ExAllocatePool2, ExFreePool, MmGetPhysicalAddress};
use wdk_sys::{
    _WDF_EXECUTION_LEVEL, _WDF_SYNCHRONIZATION_SCOPE, GUID, NTSTATUS, POOL_FLAG_NON_PAGED,
    PWDFDEVICE_INIT, SIZE_T, ULONG, WDF_NO_HANDLE, WDF_OBJECT_ATTRIBUTES, WDFDEVICE, WDFOBJECT,
    call_unsafe_wdf_function_binding,
};

use crate::context::{DEVICE_CONTEXT_TYPE_INFO, WDF_OBJECT_ATTRIBUTES_SIZE, device_context};
use crate::queue::create_default_queue;
use crate::trace;

/// The request handler over the real hypercall instruction.
pub type NativeRequestHandler = RequestHandler<NativeHypercall>;

/// Pool tag of the input page ("HvSg" in pool dumps).
const INPUT_PAGE_TAG: ULONG = u32::from_ne_bytes(*b"HvSg");

/// The device interface the console program opens, from the device contract.
static INTERFACE_GUID: GUID = GUID {
    Data1: HVSIGNAL_INTERFACE_GUID.data1,
    Data2: HVSIGNAL_INTERFACE_GUID.data2,
    Data3: HVSIGNAL_INTERFACE_GUID.data3,
    Data4: HVSIGNAL_INTERFACE_GUID.data4,
};

/// The device context.
///
/// WDF allocates it zero-filled together with the device and frees it without running Rust
/// destructors, so it is valid when all-zero (`false`, uninitialised `MaybeUninit`, null) and
/// [`evt_device_context_cleanup`] releases what it owns by hand.
///
/// Access: device add writes it before the queue exists; afterwards only the sequential default
/// queue's `EvtIoDeviceControl` uses it (one request at a time, completed before the callback
/// returns); the cleanup callback runs once, after the queue is gone.
#[repr(C)]
pub struct DeviceContext {
    /// True once `core` holds a value.
    core_initialized: bool,
    /// The request handler with the native primitive (which refers to `input_page`).
    core: MaybeUninit<NativeRequestHandler>,
    /// The memory-convention input page: `PAGE_SIZE` bytes of non-paged pool, page aligned, or
    /// null when none was allocated. Owned here, freed in the cleanup callback after `core`.
    input_page: *mut c_void,
}

impl DeviceContext {
    /// The request handler, once device add has stored it.
    pub fn core(&mut self) -> Option<&mut NativeRequestHandler> {
        if self.core_initialized {
            // SAFETY: `core_initialized` is set only after `core` was written (`set_core`) and
            // cleared before it is dropped (`release_core`).
            Some(unsafe { self.core.assume_init_mut() })
        } else {
            None
        }
    }

    fn set_core(&mut self, core: NativeRequestHandler) {
        self.release_core();
        self.core.write(core);
        self.core_initialized = true;
    }

    fn release_core(&mut self) {
        if self.core_initialized {
            self.core_initialized = false;
            // SAFETY: `core` was initialised (the flag said so) and is dropped exactly once: the
            // flag is already clear.
            unsafe { self.core.assume_init_drop() };
        }
    }

    /// Drops the request handler, then frees the input page it referred to.
    fn release(&mut self) {
        self.release_core();
        if !self.input_page.is_null() {
            // SAFETY: the page came from ExAllocatePool2 and is freed once (the pointer is
            // cleared below); the primitive that referred to it was dropped just above. Called
            // at IRQL <= DISPATCH_LEVEL.
            unsafe { ExFreePool(self.input_page) };
            self.input_page = core::ptr::null_mut();
        }
    }
}

/// Creates the device for `device_init` (`add_device`) and writes the `DriverLoad` trace
/// event with how it ended, on every path.
#[unsafe(link_section = "PAGE")]
pub fn create_device(device_init: PWDFDEVICE_INIT, policy: Policy) -> NTSTATUS {
    paged_code!();

    // SAFETY: the driver runs at CPL 0 (device add runs at PASSIVE_LEVEL in kernel mode).
    let readiness = unsafe { native::readiness() };
    let mut load = DriverLoad::new(
        env!("CARGO_PKG_VERSION"),
        &readiness,
        policy.allow_raw_hypercalls,
        false,
    );
    let added = add_device(device_init, policy, readiness, &mut load.input_page);
    let status = match added {
        Ok(status) => status,
        Err(failure) => {
            load = load.failed(failure.status, failure.rule);
            failure.status
        }
    };
    trace::write_load(&load);
    status
}

/// How device add failed: the status returned to WDF and the rule behind it, for the
/// `DriverLoad` event. A status a WDF call returned is passed through as `Framework`, even where
/// its value is also one of the driver's own failures (`STATUS_INSUFFICIENT_RESOURCES`).
#[derive(Clone, Copy)]
struct AddFailure {
    status: NTSTATUS,
    rule: &'static str,
}

impl AddFailure {
    /// A status a WDF call returned.
    const fn framework(status: NTSTATUS) -> Self {
        Self {
            status,
            rule: FRAMEWORK,
        }
    }
}

impl From<Failure> for AddFailure {
    fn from(failure: Failure) -> Self {
        Self {
            status: failure.nt_status(),
            rule: failure.name(),
        }
    }
}

/// Context, native primitive, input page, device interface and default queue; sets
/// `input_page` once the page is set up, and returns the queue's (success) status. On failure after `WdfDeviceCreate`, WDF deletes the
/// device and the cleanup callback frees what was allocated (`FxDriver::AddDevice`,
/// fxdriverkm.cpp).
#[unsafe(link_section = "PAGE")]
fn add_device(
    mut device_init: PWDFDEVICE_INIT,
    policy: Policy,
    readiness: Readiness,
    input_page: &mut bool,
) -> Result<NTSTATUS, AddFailure> {
    paged_code!();

    // Passive execution level: WDF calls every callback of the device and of its queue (which
    // inherits the level) at PASSIVE_LEVEL, deferring to a work item when a request arrives at a
    // higher IRQL (learn.microsoft.com, WDF_EXECUTION_LEVEL; FxIoQueue::ConfigureConstraints).
    // Hypercalls are issued from EvtIoDeviceControl, so they run at PASSIVE_LEVEL. No
    // synchronization scope: the sequential queue already presents one request at a time.
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: WDF_OBJECT_ATTRIBUTES_SIZE,
        EvtCleanupCallback: Some(evt_device_context_cleanup),
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelPassive,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeNone,
        ContextTypeInfo: DEVICE_CONTEXT_TYPE_INFO.unique_type(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut device: WDFDEVICE = WDF_NO_HANDLE.cast();
    // SAFETY: `device_init` is the framework's WDFDEVICE_INIT handed to EvtDriverDeviceAdd and not
    // used after this call; the attributes and the output handle are valid for the call. PASSIVE.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreate,
            &raw mut device_init,
            &raw mut attributes,
            &raw mut device,
        )
    };
    if !nt_success(status) {
        println!("hvsignal: WdfDeviceCreate failed {status:#010X}");
        return Err(AddFailure::framework(status));
    }

    let object: WDFOBJECT = device.cast();
    // SAFETY: `device` was just created with DEVICE_CONTEXT_TYPE_INFO as its context type.
    let context = unsafe { device_context(object) };
    // SAFETY: WDF allocated the context (zero-filled, valid for DeviceContext) with the device;
    // nothing else uses it until the queue exists, so this is the only reference.
    let Some(context) = (unsafe { context.as_mut() }) else {
        println!("hvsignal: the device has no context");
        return Err(Failure::DeviceNotReady.into());
    };

    let hypercalls = native_primitive(context, &readiness)?;
    *input_page = !context.input_page.is_null();
    context.set_core(RequestHandler::new(readiness, hypercalls, policy));

    // SAFETY: `device` is live; the GUID is a 'static constant; no reference string. PASSIVE.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreateDeviceInterface,
            device,
            &raw const INTERFACE_GUID,
            core::ptr::null(),
        )
    };
    if !nt_success(status) {
        println!("hvsignal: WdfDeviceCreateDeviceInterface failed {status:#010X}");
        return Err(AddFailure::framework(status));
    }

    // The queue's status is device add's: a success status is passed through as WDF gave it.
    let status = create_default_queue(device);
    if !nt_success(status) {
        return Err(AddFailure::framework(status));
    }
    Ok(status)
}

/// The native primitive, or `None` when `readiness` refuses hypercalls on this machine: the
/// driver still loads, the query reports why, and signal requests fail without issuing anything.
fn native_primitive(
    context: &mut DeviceContext,
    readiness: &Readiness,
) -> Result<Option<NativeHypercall>, Failure> {
    let instruction = match readiness.verdict {
        Ok(instruction) => instruction,
        Err(refusal) => {
            println!(
                "hvsignal: hypercalls refused ({}): {refusal}; signal requests will be refused",
                refusal.name()
            );
            return Ok(None);
        }
    };
    let page = allocate_input_page(context)?;
    // SAFETY: the driver runs at CPL 0 and device add at PASSIVE_LEVEL (the primitive is used
    // only from EvtIoDeviceControl, also PASSIVE_LEVEL); `instruction` is the verdict of
    // `native::readiness()` on this machine, which checked the "Hv#1" interface, the CPU vendor,
    // the isolation type, the guest OS ID and the hypercall enable bit.
    let primitive = unsafe { NativeHypercall::new(instruction, Some(page)) };
    println!("hvsignal: hypercalls enabled ({instruction})");
    Ok(Some(primitive))
}

/// Allocates the device's memory-convention input page and records it in the context first, so
/// the cleanup callback frees it whatever fails afterwards.
///
/// `ExAllocatePool2` returns page-aligned memory for a request of `PAGE_SIZE` bytes or more
/// (learn.microsoft.com, ExAllocatePool2, Remarks: "If NumberOfBytes is PAGE_SIZE or greater, a
/// page-aligned buffer is allocated"), zero-filled (no POOL_FLAG_UNINITIALIZED), non-paged
/// (POOL_FLAG_NON_PAGED), so it never moves and `MmGetPhysicalAddress` of it stays valid. The
/// alignment is still checked, and device add fails cleanly if it does not hold. In a guest
/// the "physical" address Windows reports is the guest-physical address the hypervisor reads.
fn allocate_input_page(context: &mut DeviceContext) -> Result<NativeInputPage, Failure> {
    // SAFETY: a non-zero size and tag, valid flags; callable at IRQL <= DISPATCH_LEVEL.
    let page: *mut c_void =
        unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, PAGE_SIZE as SIZE_T, INPUT_PAGE_TAG) };
    let Some(page) = NonNull::new(page) else {
        println!("hvsignal: cannot allocate the hypercall input page");
        return Err(Failure::NoInputPage);
    };
    context.input_page = page.as_ptr();

    if !page.as_ptr().addr().is_multiple_of(PAGE_SIZE) {
        println!("hvsignal: the hypercall input page is not page aligned");
        return Err(Failure::InputPageMisaligned);
    }
    // SAFETY: `page` is a valid, resident (non-paged) kernel virtual address.
    let physical = unsafe { MmGetPhysicalAddress(page.as_ptr()) };
    // SAFETY: PHYSICAL_ADDRESS is LARGE_INTEGER, a union of plain integers; QuadPart spans all
    // of its 8 bytes, so reading it reads initialised memory.
    let quad_part: i64 = unsafe { physical.QuadPart };
    let gpa = match u64::try_from(quad_part) {
        Ok(gpa) if gpa != 0 && gpa.is_multiple_of(PAGE_SIZE as u64) => gpa,
        _ => {
            println!("hvsignal: no usable physical address for the input page ({quad_part:#x})");
            return Err(Failure::InputPageAddress);
        }
    };
    // SAFETY: `page` is PAGE_SIZE bytes of non-paged, page-aligned memory owned by this device
    // context; it is freed only in the cleanup callback, after the core device (which owns the
    // primitive holding this value) has been dropped, and nothing else accesses it. `gpa` is its
    // guest-physical address.
    Ok(unsafe { NativeInputPage::new(page.cast(), gpa) })
}

/// `EvtCleanupCallback` of the device: drops the core device, then frees the input page.
///
/// Runs once, at PASSIVE_LEVEL (the device's execution level), when the device is removed or
/// device add failed after creating it; by then the queue has no request in progress.
extern "C" fn evt_device_context_cleanup(object: WDFOBJECT) {
    // SAFETY: WDF passes the device being cleaned up; its context is still allocated.
    let context = unsafe { device_context(object) };
    // SAFETY: the context is valid (possibly still all-zero if device add failed early) and no
    // other code uses it any more: the queue's callbacks have all returned.
    if let Some(context) = unsafe { context.as_mut() } {
        context.release();
    }
}

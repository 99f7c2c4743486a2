//! WDF plumbing that wdk-sys leaves to the driver: the `Size` of the WDF structures (the C
//! headers' `WDF_STRUCTURE_SIZE`, windows-drivers-rs issue #242) and the context type information
//! of the device context (the C headers' `WDF_DECLARE_CONTEXT_TYPE_WITH_NAME`, `wdfobject.h`).

use core::ffi::c_void;

use wdk_sys::{
    PCWDF_OBJECT_CONTEXT_TYPE_INFO, ULONG, WDF_DRIVER_CONFIG, WDF_IO_QUEUE_CONFIG,
    WDF_OBJECT_ATTRIBUTES, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFOBJECT,
    call_unsafe_wdf_function_binding,
};

use crate::device::DeviceContext;

/// `size_of::<T>()` as the `ULONG` WDF compares with its own structure size.
///
/// Used only in `const` items below, so the assertion is evaluated by the compiler.
#[allow(
    clippy::cast_possible_truncation,
    reason = "checked by the assertion, which the compiler evaluates for every const below"
)]
const fn wdf_structure_size<T>() -> ULONG {
    let size = core::mem::size_of::<T>();
    assert!(
        size <= ULONG::MAX as usize,
        "WDF structure sizes fit in a ULONG"
    );
    size as ULONG
}

/// `WDF_STRUCTURE_SIZE(WDF_DRIVER_CONFIG)`.
pub const WDF_DRIVER_CONFIG_SIZE: ULONG = wdf_structure_size::<WDF_DRIVER_CONFIG>();
/// `WDF_STRUCTURE_SIZE(WDF_OBJECT_ATTRIBUTES)`.
pub const WDF_OBJECT_ATTRIBUTES_SIZE: ULONG = wdf_structure_size::<WDF_OBJECT_ATTRIBUTES>();
/// `WDF_STRUCTURE_SIZE(WDF_IO_QUEUE_CONFIG)`.
pub const WDF_IO_QUEUE_CONFIG_SIZE: ULONG = wdf_structure_size::<WDF_IO_QUEUE_CONFIG>();
/// `sizeof(WDF_OBJECT_CONTEXT_TYPE_INFO)`.
const WDF_OBJECT_CONTEXT_TYPE_INFO_SIZE: ULONG =
    wdf_structure_size::<WDF_OBJECT_CONTEXT_TYPE_INFO>();

// WDF places a context at MEMORY_ALLOCATION_ALIGNMENT (16 bytes on x64; `FxContextHeader` in the
// framework's fxhandle.h), so the context type must not ask for more.
const _: () = assert!(core::mem::align_of::<DeviceContext>() <= 16);

/// A `WDF_OBJECT_CONTEXT_TYPE_INFO` that may live in a `static`.
#[repr(transparent)]
pub struct ContextTypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);

// SAFETY: the value is built at compile time and never written afterwards, by the driver or by
// WDF (only the shared-context variant, WDF_DECLARE_SHARED_CONTEXT_TYPE_WITH_NAME, has its unique
// type filled in at load time); its raw pointers point to 'static, immutable data. Sharing it
// between threads is therefore sharing read-only memory.
unsafe impl Sync for ContextTypeInfo {}

impl ContextTypeInfo {
    /// The pointer WDF identifies the context type by (`WDF_GET_CONTEXT_TYPE_INFO(T)`), used both
    /// in `WDF_OBJECT_ATTRIBUTES.ContextTypeInfo` and in `WdfObjectGetTypedContextWorker`.
    pub const fn unique_type(&'static self) -> PCWDF_OBJECT_CONTEXT_TYPE_INFO {
        &raw const self.0
    }
}

/// The type information of [`DeviceContext`], as `WDF_DECLARE_CONTEXT_TYPE_WITH_NAME` declares
/// it: size of the structure, the type's name, the context size, `UniqueType` pointing at itself
/// and no `EvtDriverGetUniqueContextType`. The C macro allocates it in `.data`; so does this.
#[unsafe(link_section = ".data")]
pub static DEVICE_CONTEXT_TYPE_INFO: ContextTypeInfo =
    ContextTypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
        Size: WDF_OBJECT_CONTEXT_TYPE_INFO_SIZE,
        ContextName: c"DeviceContext".as_ptr().cast(),
        ContextSize: core::mem::size_of::<DeviceContext>(),
        UniqueType: (&raw const DEVICE_CONTEXT_TYPE_INFO).cast(),
        EvtDriverGetUniqueContextType: None,
    });

/// The device context of `object`, a device created with
/// [`DEVICE_CONTEXT_TYPE_INFO`]`.unique_type()` as its context type; null if it has none.
///
/// # Safety
/// `object` is a valid handle of a WDF object that has not been deleted.
pub unsafe fn device_context(object: WDFOBJECT) -> *mut DeviceContext {
    // SAFETY: the caller guarantees a live WDF handle; the type information is a 'static
    // context type declaration. WdfObjectGetTypedContextWorker may be called at any IRQL up to
    // DISPATCH_LEVEL + 1 (wdfobject.h).
    let context: *mut c_void = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfObjectGetTypedContextWorker,
            object,
            DEVICE_CONTEXT_TYPE_INFO.unique_type(),
        )
    };
    context.cast()
}

//! The default I/O queue and `EvtIoDeviceControl`: every device-control request is handed to
//! the core device, then completed with the status and byte count it returns.

use core::ffi::c_void;

use hvsignal_core::{Completion, IoBuffers, NtStatus};
use hvsignal_proto::trace::{RefusalEvent, RequestEvent};
use hvsignal_proto::{Failure, Ioctl};
use wdk::{nt_success, paged_code, println};
use wdk_sys::{
    _WDF_EXECUTION_LEVEL, _WDF_IO_QUEUE_DISPATCH_TYPE, _WDF_SYNCHRONIZATION_SCOPE, _WDF_TRI_STATE,
    NTSTATUS, ULONG, ULONG_PTR, WDF_IO_QUEUE_CONFIG, WDF_NO_HANDLE, WDF_OBJECT_ATTRIBUTES,
    WDFDEVICE, WDFQUEUE, WDFREQUEST, call_unsafe_wdf_function_binding,
};

use crate::context::{WDF_IO_QUEUE_CONFIG_SIZE, WDF_OBJECT_ATTRIBUTES_SIZE, device_context};
use crate::trace;

/// Creates the device's default queue: sequential (one request at a time, which is what makes
/// the device context and its single input page safe to use without locks), not power managed
/// (there is no hardware to power up), device-control requests only (WDF fails other request
/// types with STATUS_INVALID_DEVICE_REQUEST itself).
///
/// The queue inherits the device's passive execution level, so `EvtIoDeviceControl` runs at
/// PASSIVE_LEVEL.
#[unsafe(link_section = "PAGE")]
pub fn create_default_queue(device: WDFDEVICE) -> NTSTATUS {
    paged_code!();

    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: WDF_IO_QUEUE_CONFIG_SIZE,
        DispatchType: _WDF_IO_QUEUE_DISPATCH_TYPE::WdfIoQueueDispatchSequential,
        PowerManaged: _WDF_TRI_STATE::WdfFalse,
        DefaultQueue: u8::from(true),
        EvtIoDeviceControl: Some(evt_io_device_control),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // What WDF_OBJECT_ATTRIBUTES_INIT sets: both constraints inherited from the device.
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: WDF_OBJECT_ATTRIBUTES_SIZE,
        ExecutionLevel: _WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: _WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut queue: WDFQUEUE = WDF_NO_HANDLE.cast();
    // SAFETY: `device` is the live device being added; the configuration, the attributes and the
    // output handle are valid for the call. IRQL <= DISPATCH_LEVEL.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueCreate,
            device,
            &raw mut config,
            &raw mut attributes,
            &raw mut queue,
        )
    };
    if !nt_success(status) {
        println!("hvsignal: WdfIoQueueCreate failed {status:#010X}");
    }
    status
}

/// `EvtIoDeviceControl` (`EVT_WDF_IO_QUEUE_IO_DEVICE_CONTROL`, wdfio.h).
///
/// Every request is completed exactly once, here, on every path: [`handle`] only computes the
/// completion and never completes or forwards the request itself.
extern "C" fn evt_io_device_control(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_buffer_length: usize,
    input_buffer_length: usize,
    io_control_code: ULONG,
) {
    let completion = handle(
        queue,
        request,
        output_buffer_length,
        input_buffer_length,
        io_control_code,
    );
    // The core never reports more bytes than the output buffer holds; the bound is kept here too
    // because the I/O manager copies exactly `information` bytes back to the caller.
    let information = completion.information.min(output_buffer_length);
    // Tracing off costs this one branch.
    if trace::request_events_enabled() {
        trace_request(
            request,
            io_control_code,
            input_buffer_length,
            output_buffer_length,
            Completion {
                information,
                ..completion
            },
        );
    }
    // SAFETY: `request` is the live request WDF presented to this callback; it has not been
    // completed (handle() does not complete requests) and is completed exactly once, here.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRequestCompleteWithInformation,
            request,
            completion.status,
            information as ULONG_PTR,
        );
    }
}

/// What the core device says about the request.
fn handle(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_buffer_length: usize,
    input_buffer_length: usize,
    io_control_code: ULONG,
) -> Completion {
    // SAFETY: `queue` is the live queue that presented the request. IRQL <= DISPATCH_LEVEL.
    let device: WDFDEVICE =
        unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, queue) };
    // SAFETY: the queue's device is live while it presents requests, and was created with the
    // device context type.
    let context = unsafe { device_context(device.cast()) };
    // SAFETY: the sequential queue presents one request at a time and this callback is the only
    // user of the context while the device exists, so this is the only reference to it.
    let Some(context) = (unsafe { context.as_mut() }) else {
        return Failure::DeviceNotReady.into();
    };
    let Some(core) = context.core() else {
        return Failure::DeviceNotReady.into();
    };
    let mut buffers = RequestBuffers {
        request,
        input_length: input_buffer_length,
        output_length: output_buffer_length,
    };
    core.handle_device_control(io_control_code, &mut buffers)
}

/// Writes the `Request` event of a request about to be completed with `completion`, and its
/// `Refusal` event when it failed. Kept out of line (and cold) so that its event values, about
/// 300 bytes, are on the stack only while a trace session listens.
#[cold]
#[inline(never)]
fn trace_request(
    request: WDFREQUEST,
    io_control_code: ULONG,
    input_length: usize,
    output_length: usize,
    completion: Completion,
) {
    let mut buffers = RequestBuffers {
        request,
        input_length,
        output_length,
    };
    // The response is read only after a signal request's success with output (the event reads
    // no other response); the core has finished with the buffer (its borrow ended when `handle`
    // returned) and the request is not completed yet.
    let output: &[u8] = if nt_success(completion.status)
        && completion.information > 0
        && Ioctl::from_code(io_control_code) == Some(Ioctl::Signal)
    {
        buffers.output().map_or(&[], |output| &*output)
    } else {
        &[]
    };
    trace::write_request(&RequestEvent::new(
        io_control_code,
        input_length,
        output_length,
        completion.status,
        completion.information,
        output,
    ));
    if let Some(refusal) = RefusalEvent::new(
        io_control_code,
        input_length,
        output_length,
        completion.status,
        completion.detail,
    ) {
        trace::write_refusal(&refusal);
    }
}

/// The request's buffers for the core, fetched from WDF only when the core asks for them.
///
/// All IOCTLs of the contract are METHOD_BUFFERED: input and output are the same system buffer.
/// Each slice borrows `self` mutably, so the core cannot hold the input while it writes the
/// output. The slices live no longer than [`handle`], which returns before the request is
/// completed, so they never outlive the buffer.
struct RequestBuffers {
    request: WDFREQUEST,
    /// InputBufferLength of the request, as the I/O manager reported it.
    input_length: usize,
    /// OutputBufferLength of the request.
    output_length: usize,
}

impl RequestBuffers {
    /// The request's buffer for one direction, at least `length` bytes. WDF fails a buffer of
    /// length 0 with STATUS_BUFFER_TOO_SMALL, so an empty buffer is not asked for at all; the
    /// core checks every length against the contract.
    fn retrieve(&self, output: bool, length: usize) -> Result<(*mut c_void, usize), NtStatus> {
        let mut buffer: *mut c_void = core::ptr::null_mut();
        let mut retrieved: usize = 0;
        let status = if output {
            // SAFETY: the request is live and not completed; the out-pointers are valid.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    self.request,
                    length,
                    &raw mut buffer,
                    &raw mut retrieved,
                )
            }
        } else {
            // SAFETY: as above, for the input buffer.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    self.request,
                    length,
                    &raw mut buffer,
                    &raw mut retrieved,
                )
            }
        };
        if !nt_success(status) {
            return Err(status);
        }
        if buffer.is_null() || retrieved < length {
            return Err(Failure::BufferUnavailable.nt_status());
        }
        Ok((buffer, length))
    }
}

impl IoBuffers for RequestBuffers {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        if self.input_length == 0 {
            return Ok(&[]);
        }
        let (buffer, length) = self.retrieve(false, self.input_length)?;
        // SAFETY: WDF returned the request's buffer, non-null and at least `length` readable
        // bytes, valid until the request is completed (after this borrow ends, see the type's
        // documentation); no mutable slice of it exists while `self` is borrowed here.
        Ok(unsafe { core::slice::from_raw_parts(buffer.cast::<u8>().cast_const(), length) })
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        if self.output_length == 0 {
            return Ok(&mut []);
        }
        let (buffer, length) = self.retrieve(true, self.output_length)?;
        // SAFETY: WDF returned the request's buffer, non-null and at least `length` writable
        // bytes, valid until the request is completed (after this borrow ends); the mutable
        // borrow of `self` rules out any other slice of it while this one lives.
        Ok(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), length) })
    }
}

//! The model transport: `hvsignal-core` in process over `hvmodel`, through the same request and
//! response bytes as the device. METHOD_BUFFERED is emulated as the I/O manager does it: one
//! system buffer of max(input, output) bytes holds the input when the request arrives and
//! receives the output; only the first `information` bytes go back to the caller.

use hvmodel::{Hypervisor, ModelPrimitive, World};
use hvsignal_core::{Completion, Device, IoBuffers, Policy};
use hvsignal_proto::{NtStatus, STATUS_BUFFER_TOO_SMALL, nt_success};

use super::{Transport, TransportError};

/// The model of one machine: the hypervisor (shared state) and the driver's core over it.
pub struct ModelTransport {
    device: Device<ModelPrimitive>,
}

impl std::fmt::Debug for ModelTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelTransport").finish_non_exhaustive()
    }
}

impl ModelTransport {
    /// Starts the model of `world`, with the driver's core set up as the driver sets itself up:
    /// the world assessed with `hvcall::Readiness` (the driver's rule), the primitive kept only
    /// when it allows hypercalls, the raw-call policy from the world.
    #[must_use]
    pub fn new(world: World) -> Self {
        let allow_raw_hypercalls = world.allow_raw_hypercalls();
        let hypervisor = Hypervisor::new(world);
        let device = Device::new(
            hypervisor.readiness(),
            Some(hypervisor.primitive()),
            Policy {
                allow_raw_hypercalls,
            },
        );
        Self { device }
    }
}

/// One METHOD_BUFFERED system buffer.
struct SystemBuffer {
    bytes: Vec<u8>,
    input_len: usize,
    output_len: usize,
}

impl IoBuffers for SystemBuffer {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        Ok(self.bytes.get(..self.input_len).unwrap_or(&[]))
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        self.bytes
            .get_mut(..self.output_len)
            .ok_or(STATUS_BUFFER_TOO_SMALL)
    }
}

impl Transport for ModelTransport {
    fn device_control(
        &mut self,
        ioctl_code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let mut bytes = vec![0u8; input.len().max(output_capacity)];
        if let Some(head) = bytes.get_mut(..input.len()) {
            head.copy_from_slice(input);
        }
        let mut buffer = SystemBuffer {
            bytes,
            input_len: input.len(),
            output_len: output_capacity,
        };
        let Completion {
            status,
            information,
        } = self.device.handle_device_control(ioctl_code, &mut buffer);
        if !nt_success(status) {
            return Err(TransportError::NtStatus(status));
        }
        let mut bytes = buffer.bytes;
        bytes.truncate(information.min(output_capacity));
        Ok(bytes)
    }
}

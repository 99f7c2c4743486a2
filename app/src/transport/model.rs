//! The model transport: `hvsignal-core` in process over `hvmodel`, through the same request and
//! response bytes as the device. METHOD_BUFFERED is emulated as the I/O manager does it: one
//! system buffer of max(input, output) bytes holds the input when the request arrives and
//! receives the output; only the first `information` bytes go back to the caller.

use std::sync::{Arc, Mutex};

use hvcall::{CpuidResult, HypercallPrimitive, InputPage};
use hvmodel::receiver::Receipt;
use hvmodel::{Hypervisor, ModelPrimitive, Signal, World};
use hvsignal_core::{Completion, IoBuffers, Policy, RequestHandler};
use hvsignal_proto::{NtStatus, STATUS_BUFFER_TOO_SMALL, nt_success};

use super::{Transport, TransportError};

/// The model of one machine: the hypervisor (shared state) and the driver's core over it.
pub struct ModelTransport {
    device: RequestHandler<RecordingPrimitive>,
}

/// What the receiving side saw of the calls made since the log was last taken: counts of each
/// [`Receipt`] kind, and the first flag a call reached (its partition, VP, SINT and bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverTally {
    /// Calls that set the flag 0→1 and raised the SINT.
    pub raised: u64,
    /// Calls that found the flag already set (no interrupt).
    pub already_set: u64,
    /// Successful calls whose event the receiver could not take (dropped).
    pub dropped: u64,
    /// Failed calls: nothing reached the receiver.
    pub not_delivered: u64,
    /// The flag the first delivering call reached.
    pub signal: Option<Signal>,
}

impl ReceiverTally {
    fn add(&mut self, receipt: Receipt) {
        let signal = match receipt {
            Receipt::Raised(s) => {
                self.raised += 1;
                Some(s)
            }
            Receipt::AlreadySet(s) => {
                self.already_set += 1;
                Some(s)
            }
            Receipt::Dropped => {
                self.dropped += 1;
                None
            }
            Receipt::NotDelivered => {
                self.not_delivered += 1;
                None
            }
        };
        self.signal = self.signal.or(signal);
    }
}

/// The receiver log of a recording [`ModelTransport`]: shared with the transport's primitive.
#[derive(Clone, Debug, Default)]
pub struct ReceiverLog(Arc<Mutex<ReceiverTally>>);

impl ReceiverLog {
    /// The tally since the last call of `take`, which starts a new one.
    #[must_use]
    pub fn take(&self) -> ReceiverTally {
        self.0
            .lock()
            .map(|mut tally| std::mem::take(&mut *tally))
            .unwrap_or_default()
    }
}

/// The model's primitive, telling a [`ReceiverLog`] (when there is one) what each call did on
/// the receiving side.
struct RecordingPrimitive {
    inner: ModelPrimitive,
    log: Option<ReceiverLog>,
}

impl HypercallPrimitive for RecordingPrimitive {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        let rax = self.inner.hypercall(rcx, rdx, r8);
        if let (Some(log), Some(outcome)) = (&self.log, self.inner.last_outcome())
            && let Ok(mut tally) = log.0.lock()
        {
            tally.add(Receipt::of(&outcome));
        }
        rax
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        self.inner.cpuid(leaf)
    }

    fn timestamp(&self) -> u64 {
        self.inner.timestamp()
    }

    fn input_page(&mut self) -> Option<InputPage<'_>> {
        self.inner.input_page()
    }

    fn tsc_frequency_hz(&self) -> Option<u64> {
        self.inner.tsc_frequency_hz()
    }
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
        Self::with_log(world, None)
    }

    /// The same model, recording what the receiving side sees of every call in the returned
    /// log (`signal --show-receiver`).
    #[must_use]
    pub fn recording(world: World) -> (Self, ReceiverLog) {
        let log = ReceiverLog::default();
        (Self::with_log(world, Some(log.clone())), log)
    }

    fn with_log(world: World, log: Option<ReceiverLog>) -> Self {
        let allow_raw_hypercalls = world.allow_raw_hypercalls();
        let hypervisor = Hypervisor::new(world);
        let primitive = RecordingPrimitive {
            inner: hypervisor.primitive(),
            log,
        };
        let device = RequestHandler::new(
            hypervisor.readiness(),
            Some(primitive),
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
        // METHOD_BUFFERED: one system buffer, the input at its start, as large as the larger side.
        let mut bytes = input.to_vec();
        bytes.resize(input.len().max(output_capacity), 0);
        let mut buffer = SystemBuffer {
            bytes,
            input_len: input.len(),
            output_len: output_capacity,
        };
        let Completion {
            status,
            information,
            ..
        } = self.device.handle_device_control(ioctl_code, &mut buffer);
        if !nt_success(status) {
            return Err(TransportError::NtStatus(status));
        }
        let mut bytes = buffer.bytes;
        bytes.truncate(information.min(output_capacity));
        Ok(bytes)
    }
}

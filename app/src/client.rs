//! The typed side of the driver contract: query the driver, and run any number of signal
//! operations, split into requests that respect the protocol's limits (`MAX_OPERATIONS`
//! operations and `MAX_CALLS_PER_REQUEST` calls per request). Transport failures become
//! messages that say what is wrong and what to do.

use hvsignal_proto::{
    CallingConvention, EncodeError, Failure, HeaderMismatch, IOCTL_HVSIGNAL_QUERY,
    IOCTL_HVSIGNAL_SIGNAL, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, Operation, OperationResult,
    ParseError, QUERY_RESPONSE_SIZE, QueryResponse, ResponseError, SignalRequest, SignalResponse,
};

use crate::cli::BackendKind;
use crate::latency::Collector;
use crate::transport::{Transport, TransportError};

/// Why the driver (or the model behind the driver's core) could not do what was asked. Each
/// message says what is wrong and what to do; `exit.rs` maps each to its exit status.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Raw mode is refused by the driver's policy (or the world's).
    #[error("{}", raw_refused(*.backend, *.error))]
    RawRefused {
        /// The backend that refused.
        backend: BackendKind,
        /// The request's failure.
        error: TransportError,
    },
    /// The driver issues no hypercalls on this machine, for `reason`.
    #[error(
        "the driver refuses to issue hypercalls on this {}: {reason}; nothing was issued \
         (`hvsignal info` shows every check; {})",
        machine(*.backend), .error.code_text()
    )]
    HypercallsRefused {
        /// The backend that refused.
        backend: BackendKind,
        /// Why, from a fresh query.
        reason: String,
        /// The request's failure.
        error: TransportError,
    },
    /// The driver speaks another protocol version; `advice` says which side to update.
    #[error("{advice} ({})", .error.code_text())]
    VersionMismatch {
        /// Which side to update.
        advice: String,
        /// The request's failure.
        error: TransportError,
    },
    /// Another failure the driver documents.
    #[error("{} ({})", .failure.describe(), .error.code_text())]
    Failed {
        /// The documented failure.
        failure: Failure,
        /// The request's failure.
        error: TransportError,
    },
    /// A failure that is not one of the driver's.
    #[error("{}", unknown_failure(*.backend, *.error))]
    Unknown {
        /// The backend the request went to.
        backend: BackendKind,
        /// The request's failure.
        error: TransportError,
    },
    /// The request could not be built: a value the protocol refuses (exit 2).
    #[error("the request cannot be built: {0}")]
    Build(ParseError),
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(EncodeError),
    /// The query response does not decode: the installed driver does not match this program.
    #[error("the driver's query response is unusable: {0}")]
    UnusableQuery(#[source] ResponseError),
    /// The signal response does not decode.
    #[error("the driver's signal response is unusable: {0}")]
    UnusableResponse(#[source] ResponseError),
    /// The response does not answer the request as asked.
    #[error("{0}")]
    WrongAnswer(String),
}

impl DriverError {
    /// True when the driver answered in a way this program cannot use (rather than refusing).
    #[must_use]
    pub const fn is_unusable_answer(&self) -> bool {
        matches!(
            self,
            Self::Encode(_)
                | Self::UnusableQuery(_)
                | Self::UnusableResponse(_)
                | Self::WrongAnswer(_)
        )
    }
}

fn raw_refused(backend: BackendKind, error: TransportError) -> String {
    let code = error.code_text();
    let remedy = enable_raw_remedy(backend);
    match backend {
        BackendKind::Device => format!("{}; {remedy} ({code})", raw_disabled(backend)),
        BackendKind::Model => format!(
            "{}; {remedy} ({code}, as the driver would answer)",
            raw_disabled(backend)
        ),
    }
}

/// "raw hypercalls are disabled", on the driver or in the model's world.
#[must_use]
pub const fn raw_disabled(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Device => "raw hypercalls are disabled",
        BackendKind::Model => "raw hypercalls are disabled in this world",
    }
}

/// How to allow raw hypercalls: the driver's registry value, or the world file's key.
#[must_use]
pub const fn enable_raw_remedy(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Device => {
            "set AllowRawHypercalls=1 under \
             HKLM\\SYSTEM\\CurrentControlSet\\Services\\HvSignal\\Parameters and restart the \
             device"
        }
        BackendKind::Model => "set `allow_raw_hypercalls = true` under [driver] in the world file",
    }
}

const fn machine(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Model => "simulated machine",
        BackendKind::Device => "machine",
    }
}

fn unknown_failure(backend: BackendKind, error: TransportError) -> String {
    let code = error.code_text();
    match (backend, error) {
        (BackendKind::Device, TransportError::Win32(e)) => format!(
            "DeviceIoControl on the hvsignal device failed: {} ({code})",
            hvsignal_proto::describe_win32(e)
        ),
        (BackendKind::Device, TransportError::NtStatus(_)) => format!(
            "DeviceIoControl on the hvsignal device failed: {} ({code})",
            hvsignal_proto::describe_win32(0)
        ),
        (BackendKind::Model, TransportError::NtStatus(s)) => format!(
            "the request failed: {} ({code})",
            hvsignal_proto::describe(s)
        ),
        (BackendKind::Model, TransportError::Win32(_)) => format!(
            "the request failed: {} ({code})",
            hvsignal_proto::describe(0)
        ),
    }
}

/// Adds the result of a later part of the same operation (the client splits an operation of
/// more than [`MAX_CALLS_PER_REQUEST`] calls): counts and the cycle sum add up (saturating, as
/// the driver's own sum does), the first call stays the first, the last is the later part's.
fn merge(merged: &mut OperationResult, later: &OperationResult) {
    merged.calls = merged.calls.saturating_add(later.calls);
    merged.successes = merged.successes.saturating_add(later.successes);
    merged.failures = merged.failures.saturating_add(later.failures);
    merged.last_status = later.last_status;
    merged.last_result = later.last_result;
    merged.cycles_min = merged.cycles_min.min(later.cycles_min);
    merged.cycles_max = merged.cycles_max.max(later.cycles_max);
    merged.cycles_sum = merged.cycles_sum.saturating_add(later.cycles_sum);
}

/// The driver, or its in-process stand-in, behind a transport.
pub struct Client {
    transport: Box<dyn Transport>,
    backend: BackendKind,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client over `transport`.
    #[must_use]
    pub fn new(transport: Box<dyn Transport>, backend: BackendKind) -> Self {
        Self { transport, backend }
    }

    /// Asks the driver for its versions, the CPU, the hypervisor leaves and the policy.
    ///
    /// # Errors
    /// The request failed or the answer is not a valid query response (exit 3).
    pub fn query(&mut self) -> Result<QueryResponse, DriverError> {
        let bytes = self
            .transport
            .device_control(IOCTL_HVSIGNAL_QUERY, &[], QUERY_RESPONSE_SIZE)
            .map_err(|e| self.driver_error(e))?;
        QueryResponse::decode(&bytes).map_err(DriverError::UnusableQuery)
    }

    /// Runs `operations` in order and returns one result per operation, merged over the
    /// requests it took: an operation's `repeat` is its number of calls, any count; the client
    /// splits it into parts of up to `MAX_CALLS_PER_REQUEST` calls. With a collector, `exact`
    /// asks the driver for every call's cycle count (`OPTION_SAMPLES`); otherwise the collector
    /// gets each part's summary and histogram. `progress` is told the number of calls done
    /// after every request.
    ///
    /// # Errors
    /// Building a request failed (a value the protocol refuses, exit 2) or the driver failed
    /// the request (exit 3).
    pub fn run(
        &mut self,
        convention: CallingConvention,
        raw: bool,
        operations: &[Operation],
        collector: Option<(&mut Collector, bool)>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<OperationResult>, DriverError> {
        let exact = collector.as_ref().is_some_and(|(_, exact)| *exact);
        let mut collector = collector.map(|(c, _)| c);
        // Split every operation into parts of at most MAX_CALLS_PER_REQUEST calls.
        let mut parts: Vec<(usize, Operation)> = Vec::new();
        for (index, operation) in operations.iter().enumerate() {
            let mut left = operation.repeat;
            while left > 0 {
                let mut part = *operation;
                part.repeat = left.min(MAX_CALLS_PER_REQUEST);
                if exact {
                    part = part.with_samples();
                }
                left -= part.repeat;
                parts.push((index, part));
            }
        }
        let mut results: Vec<Option<OperationResult>> = vec![None; operations.len()];
        let mut done = 0u64;
        let mut start = 0;
        while start < parts.len() {
            // Fill one request: at most MAX_OPERATIONS parts and MAX_CALLS_PER_REQUEST calls.
            let mut request = SignalRequest::new(convention, raw);
            let mut end = start;
            while let Some((_, operation)) = parts.get(end) {
                if end - start == MAX_OPERATIONS
                    || request.total_calls() + operation.repeat > MAX_CALLS_PER_REQUEST
                {
                    break;
                }
                request.push(*operation).map_err(DriverError::Build)?;
                end += 1;
            }
            let response = self.send(&request)?;
            let decoded = decode(&request, &response)?;
            if let Some(c) = collector.as_deref_mut() {
                c.add_timer_overhead(decoded.timer_overhead_cycles());
            }
            for ((index, _), view) in parts
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .zip(decoded.views())
            {
                let result = view.result;
                if let Some(c) = collector.as_deref_mut() {
                    let calls = u64::from(result.calls);
                    let (min, max, sum) = (result.cycles_min, result.cycles_max, result.cycles_sum);
                    if result.has_samples() {
                        c.add_samples(min, max, u128::from(sum), view.samples());
                    } else {
                        c.add_histogram(calls, min, max, sum, view.histogram());
                    }
                }
                done += u64::from(result.calls);
                if let Some(slot) = results.get_mut(*index) {
                    match slot {
                        Some(merged) => merge(merged, &result),
                        None => *slot = Some(result),
                    }
                }
            }
            progress(done);
            start = end;
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Sends one request and returns the response's bytes (read them with [`decode`]).
    fn send(&mut self, request: &SignalRequest) -> Result<Vec<u8>, DriverError> {
        let mut bytes = vec![0u8; request.encoded_len()];
        request.encode(&mut bytes).map_err(DriverError::Encode)?;
        self.transport
            .device_control(IOCTL_HVSIGNAL_SIGNAL, &bytes, request.response_capacity())
            .map_err(|e| self.driver_error(e))
    }

    /// Sends one request and returns its results, one per operation in order (`scan` sends its
    /// requests itself: one call per operation needs none of `run`'s splitting and merging).
    ///
    /// # Errors
    /// The driver failed the request or answered unusably (exit 3).
    pub fn results(
        &mut self,
        request: &SignalRequest,
    ) -> Result<Vec<OperationResult>, DriverError> {
        let response = self.send(request)?;
        Ok(decode(request, &response)?.operations().collect())
    }

    /// Which side to update when the driver refused the request's protocol version: the query
    /// (which any version answers) carries the driver's version in its header.
    fn version_advice(&mut self) -> String {
        let driver = self
            .transport
            .device_control(IOCTL_HVSIGNAL_QUERY, &[], QUERY_RESPONSE_SIZE)
            .ok()
            .map(|bytes| QueryResponse::decode(&bytes));
        match driver {
            Some(Err(error @ ResponseError::Header(HeaderMismatch::UnsupportedVersion { .. }))) => {
                error.to_string()
            }
            _ => Failure::VersionMismatch.describe().to_owned(),
        }
    }

    /// Why the driver issues no hypercalls, from a fresh query.
    fn refusal_reason(&mut self) -> String {
        let reason = self
            .transport
            .device_control(IOCTL_HVSIGNAL_QUERY, &[], QUERY_RESPONSE_SIZE)
            .ok()
            .and_then(|bytes| QueryResponse::decode(&bytes).ok())
            .and_then(|q| q.refusal());
        reason.map_or_else(
            || "the driver reports no reason this hvsignal knows".to_owned(),
            |r| format!("{r} ({})", r.name()),
        )
    }

    /// What a failed request means, asking the driver why where it can tell.
    fn driver_error(&mut self, error: TransportError) -> DriverError {
        let backend = self.backend;
        match error.failure() {
            Some(Failure::RawNotAllowed) => DriverError::RawRefused { backend, error },
            Some(Failure::HypercallsRefused) => DriverError::HypercallsRefused {
                backend,
                reason: self.refusal_reason(),
                error,
            },
            Some(Failure::VersionMismatch) => DriverError::VersionMismatch {
                advice: self.version_advice(),
                error,
            },
            Some(failure) => DriverError::Failed { failure, error },
            None => DriverError::Unknown { backend, error },
        }
    }
}

/// The driver's response to `request`, checked to carry one result per operation.
fn decode<'a>(
    request: &SignalRequest,
    response: &'a [u8],
) -> Result<SignalResponse<'a>, DriverError> {
    let decoded = SignalResponse::decode(response).map_err(DriverError::UnusableResponse)?;
    if decoded.len() != request.operations().len() {
        return Err(DriverError::WrongAnswer(format!(
            "the driver answered {} operations for a request of {}",
            decoded.len(),
            request.operations().len()
        )));
    }
    Ok(decoded)
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    use super::*;
    use hvsignal_proto::{IOCTL_HVSIGNAL_SIGNAL, STATUS_REVISION_MISMATCH};

    /// A driver of another protocol version: it refuses signal requests with
    /// STATUS_REVISION_MISMATCH and answers the query with its own version in the header.
    struct OtherVersion(u16);

    impl Transport for OtherVersion {
        fn device_control(
            &mut self,
            ioctl_code: u32,
            _input: &[u8],
            _output_capacity: usize,
        ) -> Result<Vec<u8>, TransportError> {
            if ioctl_code == IOCTL_HVSIGNAL_SIGNAL {
                return Err(TransportError::NtStatus(STATUS_REVISION_MISMATCH));
            }
            // A query response of the right size whose header names another version.
            let mut bytes = vec![0u8; QUERY_RESPONSE_SIZE];
            bytes[..4].copy_from_slice(b"HvSg");
            bytes[4..6].copy_from_slice(&self.0.to_le_bytes());
            bytes[6..8].copy_from_slice(&hvsignal_proto::wire::KIND_QUERY_RESPONSE.to_le_bytes());
            bytes[8..12]
                .copy_from_slice(&u32::try_from(QUERY_RESPONSE_SIZE).unwrap().to_le_bytes());
            Ok(bytes)
        }
    }

    fn signal_error(driver_version: u16) -> String {
        let mut client = Client::new(Box::new(OtherVersion(driver_version)), BackendKind::Device);
        let error = client
            .run(
                CallingConvention::Fast,
                false,
                &[Operation::new(0x2001, 0, 1)],
                None,
                &mut |_| {},
            )
            .unwrap_err();
        assert!(
            matches!(error, DriverError::VersionMismatch { .. }),
            "{error:?}"
        );
        error.to_string()
    }

    #[test]
    fn a_version_mismatch_says_which_side_to_update() {
        let older = signal_error(1);
        assert!(older.contains("update the driver"), "{older}");
        let newer = signal_error(3);
        assert!(newer.contains("update hvsignal"), "{newer}");
    }
}

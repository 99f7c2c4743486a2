//! The typed side of the driver contract: query the driver, and run any number of signal
//! operations, split into requests that respect the protocol's limits (`MAX_OPERATIONS`
//! operations and `MAX_CALLS_PER_REQUEST` calls per request). Transport failures become
//! messages that say what is wrong and what to do.

use hvcall::HvStatus;
use hvsignal_proto::{
    CallingConvention, Failure, IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, MAX_CALLS_PER_REQUEST,
    MAX_OPERATIONS, Operation, OperationResult, QUERY_RESPONSE_SIZE, QueryResponse, SignalRequest,
    SignalResponse,
};

use crate::cli::BackendKind;
use crate::exit::AppError;
use crate::stats::Collector;
use crate::transport::{Transport, TransportError};

/// The outcome of one operation, possibly merged from several requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The ConnectionId field issued.
    pub connection_id: u32,
    /// The FlagNumber issued.
    pub flag_number: u16,
    /// The RsvdZ issued.
    pub rsvd_z: u16,
    /// The control word issued.
    pub control: u64,
    /// Calls issued.
    pub calls: u64,
    /// Calls that returned HV_STATUS_SUCCESS.
    pub successes: u64,
    /// Calls that returned anything else.
    pub failures: u64,
    /// Status of the first call.
    pub first_status: HvStatus,
    /// Status of the last call.
    pub last_status: HvStatus,
    /// RAX of the first call.
    pub first_result: u64,
    /// RAX of the last call.
    pub last_result: u64,
    /// Fewest cycles of one call.
    pub cycles_min: u64,
    /// Most cycles of one call.
    pub cycles_max: u64,
    /// Sum of the cycles.
    pub cycles_sum: u128,
}

impl Outcome {
    fn from_result(r: &OperationResult) -> Self {
        Self {
            connection_id: r.connection_id,
            flag_number: r.flag_number,
            rsvd_z: r.rsvd_z,
            control: r.control,
            calls: u64::from(r.calls),
            successes: u64::from(r.successes),
            failures: u64::from(r.failures),
            first_status: r.first_hv_status(),
            last_status: r.last_hv_status(),
            first_result: r.first_result,
            last_result: r.last_result,
            cycles_min: r.cycles_min,
            cycles_max: r.cycles_max,
            cycles_sum: u128::from(r.cycles_sum),
        }
    }

    /// Adds the results of a later part of the same operation.
    fn merge(&mut self, later: &Self) {
        self.calls += later.calls;
        self.successes += later.successes;
        self.failures += later.failures;
        self.last_status = later.last_status;
        self.last_result = later.last_result;
        self.cycles_min = self.cycles_min.min(later.cycles_min);
        self.cycles_max = self.cycles_max.max(later.cycles_max);
        self.cycles_sum += later.cycles_sum;
    }
}

/// One operation to run: what to issue and how often (any count; the client splits it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// The operation; its `repeat` field is ignored in favour of `calls`.
    pub operation: Operation,
    /// How many calls.
    pub calls: u64,
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
    pub fn query(&mut self) -> Result<QueryResponse, AppError> {
        let bytes = self
            .transport
            .device_control(IOCTL_HVSIGNAL_QUERY, &[], QUERY_RESPONSE_SIZE)
            .map_err(|e| self.transport_error(e))?;
        QueryResponse::decode(&bytes)
            .map_err(|e| AppError::Device(format!("the driver's query response is unusable: {e}")))
    }

    /// Runs `jobs` in order and returns one merged outcome per job. With a collector, `exact`
    /// asks the driver for every call's cycle count (`OPTION_SAMPLES`); otherwise the
    /// collector gets each part's summary and histogram. Either way one operation carries up
    /// to `MAX_CALLS_PER_REQUEST` calls. `progress` is told the number of calls done after
    /// every request.
    ///
    /// # Errors
    /// Building a request failed (a value the protocol refuses, exit 2) or the driver failed
    /// the request (exit 3).
    pub fn run(
        &mut self,
        convention: CallingConvention,
        raw: bool,
        jobs: &[Job],
        collector: Option<(&mut Collector, bool)>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<Outcome>, AppError> {
        let exact = collector.as_ref().is_some_and(|(_, exact)| *exact);
        let mut collector = collector.map(|(c, _)| c);
        let per_operation = MAX_CALLS_PER_REQUEST;
        // Split every job into parts of at most `per_operation` calls.
        let mut parts: Vec<(usize, Operation)> = Vec::new();
        for (index, job) in jobs.iter().enumerate() {
            let mut left = job.calls;
            while left > 0 {
                let take =
                    u32::try_from(left.min(u64::from(per_operation))).unwrap_or(per_operation);
                let mut operation = job.operation;
                operation.repeat = take;
                if exact {
                    operation = operation.with_samples();
                }
                parts.push((index, operation));
                left -= u64::from(take);
            }
        }
        let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
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
                request
                    .push(*operation)
                    .map_err(|e| AppError::Usage(format!("the request cannot be built: {e}")))?;
                end += 1;
            }
            let response = self.send(&request)?;
            let decoded = decode(&request, &response)?;
            if let Some(c) = collector.as_deref_mut() {
                c.add_timer_overhead(decoded.timer_overhead_cycles());
            }
            for ((job, _), view) in parts
                .get(start..end)
                .unwrap_or(&[])
                .iter()
                .zip(decoded.views())
            {
                let result = &view.result;
                let outcome = Outcome::from_result(result);
                if let Some(c) = collector.as_deref_mut() {
                    let (calls, min, max, sum) = (
                        u64::from(result.calls),
                        result.cycles_min,
                        result.cycles_max,
                        result.cycles_sum,
                    );
                    if result.has_samples() {
                        c.add_samples(min, max, u128::from(sum), view.samples());
                    } else {
                        c.add_histogram(calls, min, max, sum, view.histogram());
                    }
                }
                done += outcome.calls;
                if let Some(slot) = outcomes.get_mut(*job) {
                    match slot {
                        Some(merged) => merged.merge(&outcome),
                        None => *slot = Some(outcome),
                    }
                }
            }
            progress(done);
            start = end;
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Sends one request and returns the response's bytes (read them with [`decode`]).
    fn send(&mut self, request: &SignalRequest) -> Result<Vec<u8>, AppError> {
        let mut bytes = vec![0u8; request.encoded_len()];
        request
            .encode(&mut bytes)
            .map_err(|e| AppError::Device(format!("cannot encode the request: {e}")))?;
        self.transport
            .device_control(IOCTL_HVSIGNAL_SIGNAL, &bytes, request.response_capacity())
            .map_err(|e| self.transport_error(e))
    }

    /// Sends one request and returns its results, one per operation in order (`scan` sends its
    /// requests itself: one call per operation needs none of `run`'s splitting and merging).
    ///
    /// # Errors
    /// The driver failed the request or answered unusably (exit 3).
    pub fn results(&mut self, request: &SignalRequest) -> Result<Vec<OperationResult>, AppError> {
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
            Some(Err(error @ hvsignal_proto::ResponseError::UnsupportedVersion { .. })) => {
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

    /// The message and exit status for a failed request.
    fn transport_error(&mut self, error: TransportError) -> AppError {
        let code = error.code_text();
        match (error.failure(), self.backend) {
            (Some(Failure::RawNotAllowed), BackendKind::Device) => AppError::Environment(format!(
                "raw hypercalls are disabled; set AllowRawHypercalls=1 under \
                 HKLM\\SYSTEM\\CurrentControlSet\\Services\\HvSignal\\Parameters and restart the \
                 device ({code})"
            )),
            (Some(Failure::RawNotAllowed), BackendKind::Model) => AppError::Environment(format!(
                "raw hypercalls are disabled in this world; set `allow_raw_hypercalls = true` \
                 under [driver] in the world file ({code}, as the driver would answer)"
            )),
            (Some(Failure::HypercallsRefused), backend) => AppError::Environment(format!(
                "the driver refuses to issue hypercalls on this {}: {}; nothing was issued \
                 (`hvsignal info` shows every check; {code})",
                match backend {
                    BackendKind::Model => "simulated machine",
                    BackendKind::Device => "machine",
                },
                self.refusal_reason()
            )),
            (Some(Failure::VersionMismatch), _) => {
                AppError::Environment(format!("{} ({code})", self.version_advice()))
            }
            (Some(failure), _) => AppError::Environment(format!("{} ({code})", failure.describe())),
            (None, BackendKind::Device) => AppError::Environment(format!(
                "DeviceIoControl on the hvsignal device failed: {} ({code})",
                hvsignal_proto::describe_win32(match error {
                    TransportError::Win32(e) => e,
                    TransportError::NtStatus(_) => 0,
                })
            )),
            (None, BackendKind::Model) => AppError::Environment(format!(
                "the request failed: {} ({code})",
                hvsignal_proto::describe(match error {
                    TransportError::NtStatus(s) => s,
                    TransportError::Win32(_) => 0,
                })
            )),
        }
    }
}

/// The driver's response to `request`, checked to carry one result per operation.
fn decode<'a>(request: &SignalRequest, response: &'a [u8]) -> Result<SignalResponse<'a>, AppError> {
    let decoded = SignalResponse::decode(response)
        .map_err(|e| AppError::Device(format!("the driver's signal response is unusable: {e}")))?;
    if decoded.len() != request.operations().len() {
        return Err(AppError::Device(format!(
            "the driver answered {} operations for a request of {}",
            decoded.len(),
            request.operations().len()
        )));
    }
    Ok(decoded)
}

#[cfg(test)]
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
        let job = Job {
            operation: Operation::new(0x2001, 0, 1),
            calls: 1,
        };
        let error = client
            .run(CallingConvention::Fast, false, &[job], None, &mut |_| {})
            .unwrap_err();
        assert!(matches!(error, AppError::Environment(_)), "{error:?}");
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

//! Property tests: for any valid request the device issues exactly the requested calls, with the
//! right registers, and reports them exactly; for any bytes it never panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

mod common;

use common::{Buffers, Scripted, ready};
use hvcall::CpuVendor;
use hvsignal_core::{Policy, RequestHandler};
use hvsignal_proto::{
    CallingConvention, IOCTL_HVSIGNAL_SIGNAL, MAX_SIGNAL_RESPONSE_SIZE, Operation, SignalRequest,
    SignalResponse,
};
use proptest::prelude::*;

fn arb_operation(raw: bool, memory: bool) -> impl Strategy<Value = Operation> {
    (
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        any::<u64>(),
        1u32..50,
        0u16..4096,
        any::<bool>(),
    )
        .prop_map(
            move |(connection_id, flag_number, rsvd_z, extra, repeat, offset, samples)| {
                // Memory input must end inside the page: at most 510 QWORDs of variable header,
                // and an offset that leaves room for the input.
                let header = (extra >> 17) & 0x3FF;
                let extra = extra & !(0x3FF << 17) | (header % 511) << 17;
                let size = 8 + 8 * (header % 511);
                let offset = offset % (4096 - u16::try_from(size).unwrap() + 1);
                Operation {
                    connection_id: if raw {
                        connection_id
                    } else {
                        connection_id & 0x00FF_FFFF
                    },
                    flag_number,
                    rsvd_z: if raw { rsvd_z } else { 0 },
                    extra_control: if raw { extra & !0x1_FFFF } else { 0 },
                    repeat,
                    input_offset: if raw && memory { offset } else { 0 },
                    options: if samples {
                        hvsignal_proto::OPTION_SAMPLES
                    } else {
                        0
                    },
                }
            },
        )
}

fn arb_request() -> impl Strategy<Value = SignalRequest> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(raw, memory)| {
        proptest::collection::vec(arb_operation(raw, memory), 1..12).prop_map(move |ops| {
            let convention = if memory {
                CallingConvention::Memory
            } else {
                CallingConvention::Fast
            };
            let mut request = SignalRequest::new(convention, raw);
            for op in ops {
                request.push(op).unwrap();
            }
            request
        })
    })
}

proptest! {
    #[test]
    fn valid_requests_issue_exactly_what_they_ask(request in arb_request(),
                                                  results in proptest::collection::vec(any::<u64>(), 1..5),
                                                  cycles in proptest::collection::vec(0u64..1_000_000, 1..5)) {
        let mut bytes = vec![0; request.encoded_len()];
        request.encode(&mut bytes).unwrap();
        let primitive = Scripted::new(results.clone(), cycles.clone());
        let mut dev = RequestHandler::new(ready(CpuVendor::Intel), Some(primitive),
                                  Policy { allow_raw_hypercalls: true });
        let mut buffers = Buffers::new(bytes, MAX_SIGNAL_RESPONSE_SIZE);
        let c = dev.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut buffers);
        let n = request.operations().len();
        prop_assert!(c.status == 0);
        prop_assert!(c.information <= request.response_capacity());
        let response = SignalResponse::decode(&buffers.output[..c.information]).unwrap();
        prop_assert_eq!(response.len(), n);
        let calls = &dev.hypercalls().unwrap().calls;
        prop_assert_eq!(calls.len() as u64, u64::from(request.total_calls()));
        let mut call_index = 0usize;
        for (op, view) in request.operations().iter().zip(response.views()) {
            let r = view.result;
            let control = op.control(request.convention()).raw();
            prop_assert_eq!(control & 0xFFFF, 0x5D);
            prop_assert_eq!(control & (1 << 16) != 0, request.convention() == CallingConvention::Fast);
            prop_assert_eq!((r.connection_id, r.flag_number, r.rsvd_z), (op.connection_id, op.flag_number, op.rsvd_z));
            prop_assert_eq!((r.control, r.calls, r.input_offset), (control, op.repeat, op.input_offset));
            prop_assert_eq!(r.successes + r.failures, r.calls);
            let mut expected_successes = 0;
            let mut sum = 0u64;
            let mut histogram = std::collections::BTreeMap::<usize, u32>::new();
            let mut samples = Vec::new();
            for k in 0..op.repeat as usize {
                let i = call_index + k;
                prop_assert_eq!(calls[i].0, control);
                let rax = results[i % results.len()];
                let c = cycles[i % cycles.len()];
                if rax.trailing_zeros() >= 16 { expected_successes += 1; }
                sum += c;
                *histogram.entry(hvsignal_proto::histogram_bucket(c)).or_default() += 1;
                samples.push(u32::try_from(c).unwrap_or(u32::MAX));
                if k == 0 { prop_assert_eq!(r.first_result, rax); }
                if k + 1 == op.repeat as usize { prop_assert_eq!(r.last_result, rax); }
            }
            prop_assert_eq!(r.successes, expected_successes);
            prop_assert_eq!(r.cycles_sum, sum);
            if op.wants_samples() {
                prop_assert_eq!(view.samples().collect::<Vec<_>>(), samples);
                prop_assert_eq!(view.histogram().count(), 0);
            } else {
                prop_assert_eq!(view.histogram().collect::<Vec<_>>(), histogram.into_iter().collect::<Vec<_>>());
                prop_assert_eq!(view.samples().count(), 0);
            }
            call_index += op.repeat as usize;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_device(bytes in proptest::collection::vec(any::<u8>(), 0..1600),
                                              output_len in 0usize..22_000, code: u32) {
        let mut dev = RequestHandler::new(ready(CpuVendor::Intel), Some(Scripted::succeeding()),
                                  Policy { allow_raw_hypercalls: true });
        for ioctl in [code, IOCTL_HVSIGNAL_SIGNAL] {
            let mut buffers = Buffers::new(bytes.clone(), output_len);
            let c = dev.handle_device_control(ioctl, &mut buffers);
            prop_assert!(c.information <= output_len);
        }
    }
}

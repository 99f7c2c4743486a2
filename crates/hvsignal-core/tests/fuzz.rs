//! Fuzz targets for parsing and request handling (bolero). Under `cargo test` each runs a
//! CI-sized batch of random inputs; under `cargo bolero test -p hvsignal-core <name>` the same
//! targets run with libFuzzer for as long as wanted.
//!
//! The invariants: nothing panics; a failed request writes nothing and reports 0 bytes; a
//! successful one reports a length within the output buffer that decodes; only
//! `HvCallSignalEvent` is ever issued, never more calls than the protocol allows.

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

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Buffers, Scripted, ready};
use hvcall::{CpuVendor, HypercallControl};
use hvsignal_core::{Policy, RequestHandler};
use hvsignal_proto::wire::{KIND_SIGNAL_REQUEST, MAGIC, PROTOCOL_VERSION};
use hvsignal_proto::{
    IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, MAX_CALLS_PER_REQUEST, QueryResponse,
    SignalRequest, SignalResponse,
};

/// Random inputs per target under `cargo test` (the whole file runs in about a second).
const ITERATIONS: usize = 3000;

#[test]
fn fuzz_parse_signal_request() {
    bolero::check!()
        .with_iterations(ITERATIONS)
        .for_each(|bytes: &[u8]| {
            if let Ok(request) = SignalRequest::parse(bytes) {
                // What parses is canonical: it re-encodes to exactly the same bytes.
                let mut again = vec![0; request.encoded_len()];
                assert_eq!(request.encode(&mut again), Ok(bytes.len()));
                assert_eq!(again, bytes);
            }
        });
}

/// Makes random bytes look like a signal request, so fuzzing reaches the per-operation checks
/// and the hypercall loop: a correct header, then entries whose repeat counts and raw fields are
/// shrunk towards valid values by `shape`.
fn shape_request(shape: u8, mut bytes: Vec<u8>) -> Vec<u8> {
    if shape & 1 == 0 {
        return bytes;
    }
    let entries = (bytes.len().saturating_sub(32) / 24).clamp(1, 64);
    bytes.resize(32 + 24 * entries, 0);
    let len = u32::try_from(bytes.len()).unwrap();
    bytes[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    bytes[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    bytes[6..8].copy_from_slice(&KIND_SIGNAL_REQUEST.to_le_bytes());
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    bytes[12..16].fill(0);
    bytes[16..20].copy_from_slice(&u32::from(shape >> 1 & 1).to_le_bytes());
    let raw = shape & 0x24 == 0x24;
    bytes[20..24].copy_from_slice(&u32::from(raw).to_le_bytes());
    bytes[24..28].copy_from_slice(&u32::try_from(entries).unwrap().to_le_bytes());
    bytes[28..32].fill(0);
    for entry in bytes[32..].chunks_exact_mut(24) {
        let connection_id = u32::from_le_bytes(entry[0..4].try_into().unwrap());
        let offset = u16::from_le_bytes([entry[20], entry[21]]);
        // Mostly 1..=40 calls; with shape bit 6, 0 (refused) is possible too.
        let repeat = u32::from_le_bytes(entry[16..20].try_into().unwrap()) % 40
            + u32::from(shape & 0x40 == 0);
        if !raw || shape & 8 != 0 {
            // Well-formed: 24-bit id, no raw field.
            entry[0..4].copy_from_slice(&(connection_id & 0x00FF_FFFF).to_le_bytes());
            entry[6..16].fill(0);
            entry[20..24].fill(0);
        } else {
            // Raw: extra bits clear of the call code and fast bit, offset inside the page.
            entry[8] = 0;
            entry[9] = 0;
            entry[10] &= 0xFE;
            entry[20..22].copy_from_slice(&(offset % 4096).to_le_bytes());
            entry[22..24].fill(0);
        }
        entry[16..20].copy_from_slice(&repeat.to_le_bytes());
    }
    bytes
}

#[test]
fn fuzz_handle_device_control() {
    let signals_issued = AtomicUsize::new(0);
    bolero::check!()
        .with_type::<(u8, u8, u16, Vec<u8>)>()
        .with_iterations(ITERATIONS)
        .for_each(|(selector, shape, output_len, bytes)| {
            let ioctl = match selector % 4 {
                0 => IOCTL_HVSIGNAL_QUERY,
                1 | 2 => IOCTL_HVSIGNAL_SIGNAL,
                _ => u32::from_le_bytes([*selector, *shape, 0x22, 0]),
            };
            let policy = Policy {
                allow_raw_hypercalls: selector & 0x10 != 0,
            };
            let mut primitive =
                Scripted::new(vec![0, 0x12, 0x3, 0xFFFF_FFFF_0000], vec![7, 0, 1 << 40]);
            if selector & 0x20 != 0 {
                primitive = primitive.without_page();
            }
            let mut dev = RequestHandler::new(ready(CpuVendor::Amd), Some(primitive), policy);
            // With shape bit 4 the output buffer is large enough for any response.
            let output_len = if shape & 0x10 != 0 {
                hvsignal_proto::MAX_SIGNAL_RESPONSE_SIZE
            } else {
                usize::from(*output_len) % 24_000
            };
            let mut buffers = Buffers::new(shape_request(*shape, bytes.clone()), output_len);
            let c = dev.handle_device_control(ioctl, &mut buffers);
            let calls = &dev.hypercalls().unwrap().calls;
            if c.status < 0 {
                assert_eq!(c.information, 0);
                assert!(
                    buffers.output.iter().all(|&b| b == 0xA5),
                    "a failed request wrote output"
                );
                assert!(calls.is_empty() || ioctl == IOCTL_HVSIGNAL_SIGNAL);
            } else {
                assert!(c.information <= output_len);
                let out = &buffers.output[..c.information];
                if ioctl == IOCTL_HVSIGNAL_QUERY {
                    assert!(QueryResponse::decode(out).is_ok());
                } else {
                    let response = SignalResponse::decode(out).unwrap();
                    let issued: u32 = response.operations().map(|r| r.calls).sum();
                    assert_eq!(usize::try_from(issued).unwrap(), calls.len());
                    signals_issued.fetch_add(1, Ordering::Relaxed);
                }
            }
            assert!(calls.len() <= MAX_CALLS_PER_REQUEST as usize);
            for &(rcx, _, r8) in calls {
                let control = HypercallControl::from_raw(rcx);
                assert_eq!(control.call_code(), 0x5D);
                assert_eq!(r8, 0);
            }
        });
    // The shaped inputs reach the hypercall loop, not only the parser's refusals.
    assert!(signals_issued.load(Ordering::Relaxed) > ITERATIONS / 20);
}

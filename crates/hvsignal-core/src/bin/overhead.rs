//! Runs one signal request of N calls (the first argument, default 1000), asking for every
//! call's sample, through `RequestHandler::handle_device_control` over the driver's own native
//! primitive with its hypercall instruction replaced by a same-length no-op
//! (`NativeHypercall::with_nop_instruction`): the same asm operands and clobbers, the same
//! `lfence; rdtsc` timestamps, the same code around them. So it counts the instructions the
//! driver spends per call outside the hypercall itself. `tests/overhead.rs` runs this under
//! `valgrind --tool=callgrind` at two batch sizes; the difference divided by the difference in
//! calls is the per-call figure.
//!
//! Built only with `--features overhead-bench` (x86_64).

#[cfg(target_arch = "x86_64")]
mod bench {
    use hvcall::native::NativeHypercall;
    use hvcall::{CpuVendor, CpuidResult};
    use hvsignal_core::{IoBuffers, NtStatus, Policy, RequestHandler};
    use hvsignal_proto::{CallingConvention, IOCTL_HVSIGNAL_SIGNAL, Operation, SignalRequest};

    struct Buffers {
        input: Vec<u8>,
        output: Vec<u8>,
    }

    impl IoBuffers for Buffers {
        fn input(&mut self) -> Result<&[u8], NtStatus> {
            Ok(&self.input)
        }

        fn output(&mut self) -> Result<&mut [u8], NtStatus> {
            Ok(&mut self.output)
        }
    }

    pub fn main() {
        let calls: u32 = std::env::args()
            .nth(1)
            .and_then(|arg| arg.parse().ok())
            .unwrap_or(1000);
        let mut request = SignalRequest::new(CallingConvention::Fast, false);
        if let Err(error) = request.push(Operation::new(0x2001, 0, calls).with_samples()) {
            eprintln!("overhead: {error}");
            std::process::exit(2);
        }
        let mut input = vec![0; request.encoded_len()];
        if request.encode(&mut input).is_err() {
            std::process::exit(2);
        }
        let cpuid = |leaf: u32| match leaf {
            0 => {
                let [ebx, edx, ecx] = CpuVendor::Intel.leaf0_registers();
                CpuidResult {
                    eax: 0x16,
                    ebx,
                    ecx,
                    edx,
                }
            }
            // A Hyper-V guest as far as the readiness checks look: hypervisor present,
            // "Microsoft Hv" with leaves up to 0x40000006, "Hv#1", AccessHypercallMsrs (bit 5).
            1 => CpuidResult {
                ecx: hvcall::cpuid::HYPERVISOR_PRESENT_BIT,
                ..CpuidResult::default()
            },
            hvcall::cpuid::LEAF_VENDOR => {
                let [ebx, ecx, edx] = hvcall::cpuid::MICROSOFT_HV_SIGNATURE;
                CpuidResult {
                    eax: hvcall::cpuid::LEAF_HARDWARE_FEATURES,
                    ebx,
                    ecx,
                    edx,
                }
            }
            hvcall::cpuid::LEAF_INTERFACE => CpuidResult {
                eax: hvcall::cpuid::HV1_INTERFACE_SIGNATURE,
                ..CpuidResult::default()
            },
            hvcall::cpuid::LEAF_FEATURES_AND_PRIVILEGES => CpuidResult {
                eax: 1 << hvcall::PrivilegeMask::ACCESS_HYPERCALL_MSRS,
                ..CpuidResult::default()
            },
            _ => CpuidResult::default(),
        };
        // Guest OS ID set, hypercall MSR enabled.
        let readiness = hvcall::Readiness::assess(cpuid, |_| 1);
        let primitive = NativeHypercall::with_nop_instruction(None);
        let mut device = RequestHandler::new(readiness, Some(primitive), Policy::default());
        // The largest response at every N, so allocating and clearing the buffer costs the same
        // in both runs and cancels out of the per-call difference.
        let mut buffers = Buffers {
            output: vec![0; hvsignal_proto::MAX_SIGNAL_RESPONSE_SIZE],
            input,
        };
        let completion =
            device.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, std::hint::black_box(&mut buffers));
        if completion.status != 0 {
            eprintln!("overhead: request failed with {:#010x}", completion.status);
            std::process::exit(1);
        }
        std::hint::black_box(&buffers.output);
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    bench::main();
    #[cfg(not(target_arch = "x86_64"))]
    eprintln!("overhead: x86_64 only");
}

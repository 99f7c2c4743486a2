//! Runs one signal request of N calls (the first argument, default 1000) through
//! `Device::handle_device_control` with a primitive that returns at once, for counting the
//! instructions the driver spends per call outside the hypercall itself.
//!
//! The primitive mirrors the native one's shape: the "hypercall" is an empty inline-assembly
//! block with the same register operands as `vmcall` (RCX, RDX, R8 in, RAX out), so it costs
//! no instruction but stays opaque to the optimiser; the timestamp is a real `rdtsc`.
//! `tests/overhead.rs` runs this under `valgrind --tool=callgrind` at two batch sizes; the
//! difference divided by the difference in calls is the per-call figure.
//!
//! Built only with `--features overhead-bench` (x86_64).

#[cfg(target_arch = "x86_64")]
mod bench {
    use core::arch::asm;
    use core::arch::x86_64::_rdtsc;

    use hvcall::{CpuVendor, CpuidResult, HypercallPrimitive, InputPage};
    use hvsignal_core::{Device, IoBuffers, NtStatus, Policy};
    use hvsignal_proto::{
        CallingConvention, IOCTL_HVSIGNAL_SIGNAL, Operation, SignalRequest, signal_response_size,
    };

    /// A primitive whose hypercall returns at once.
    struct Immediate;

    impl HypercallPrimitive for Immediate {
        fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
            let rax: u64;
            // SAFETY: an empty assembly block: it executes nothing and touches no memory; it only
            // makes RAX's value unknown to the compiler, as a real hypercall does.
            unsafe {
                asm!("", in("rcx") rcx, in("rdx") rdx, in("r8") r8, lateout("rax") rax,
                     options(nostack, nomem));
            }
            rax
        }

        fn cpuid(&self, _leaf: u32) -> CpuidResult {
            CpuidResult::default()
        }

        fn timestamp(&self) -> u64 {
            // SAFETY: RDTSC is allowed in user mode unless CR4.TSD is set (Linux leaves it clear).
            unsafe { _rdtsc() }
        }

        fn input_page(&mut self) -> Option<InputPage<'_>> {
            None
        }
    }

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
        if let Err(error) = request.push(Operation::new(0x2001, 0, calls)) {
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
        let mut device = Device::new(readiness, Some(Immediate), Policy::default());
        let mut buffers = Buffers {
            input,
            output: vec![0; signal_response_size(1)],
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

//! Whose hypervisor-side behaviour the model reproduces.

use core::fmt;
use core::str::FromStr;

/// The behaviour profile of the model: which implementation's check order and answers it
/// follows. See `docs/MODEL.md` for each profile's check order and its sources.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Profile {
    /// The TLFS with the check order docs/MODEL.md fixes (the default).
    #[default]
    Tlfs,
    /// Linux KVM's in-kernel handler with QEMU handling the exits to user space
    /// (docs/HYPERCALL.md, KVM; column "KVM (+ QEMU in user space)" of its behaviour matrix).
    Kvm,
    /// QEMU's `hyperv_hcall_signal_event` handler on its own (docs/HYPERCALL.md, QEMU; column
    /// "QEMU handler alone" of its behaviour matrix).
    Qemu,
    /// Microsoft OpenVMM's hv1 dispatcher and `SynicPortMap` (docs/HYPERCALL.md, OpenVMM).
    Openvmm,
    /// Xen with viridian enlightenments: a Hyper-V call only when RAX bit 31 is set, and then
    /// Xen's `viridian_hypercall`, which does not implement `HvCallSignalEvent`; otherwise the
    /// Xen hypercall numbered by RAX (`xen-project/xen xen/arch/x86/hvm/hypercall.c`,
    /// `xen/arch/x86/hvm/viridian/viridian.c`).
    Xen,
}

impl Profile {
    /// Every profile, in documentation order.
    pub const ALL: [Self; 5] = [Self::Tlfs, Self::Kvm, Self::Qemu, Self::Openvmm, Self::Xen];

    /// The name used in world files and on the command line: `tlfs`, `kvm`, `qemu`, `openvmm`,
    /// `xen`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tlfs => "tlfs",
            Self::Kvm => "kvm",
            Self::Qemu => "qemu",
            Self::Openvmm => "openvmm",
            Self::Xen => "xen",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of `tlfs`, `kvm`, `qemu`, `openvmm`, `xen`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown profile `{0}`: allowed are tlfs, kvm, qemu, openvmm, xen")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// Parses a profile name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>(), Ok(p));
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!("OpenVMM".parse::<Profile>(), Ok(Profile::Openvmm));
        assert_eq!(
            "hyperv".parse::<Profile>().unwrap_err().to_string(),
            "unknown profile `hyperv`: allowed are tlfs, kvm, qemu, openvmm, xen"
        );
    }
}

//! Property tests: random worlds and random register values never panic and always return a
//! status the TLFS lists for `HvCallSignalEvent` (plus OPERATION_DENIED, which only the `openvmm`
//! profile returns, docs/HYPERCALL.md, OpenVMM); random text never panics the world parser.

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

use std::fmt::Write as _;

use hvcall::status::SIGNAL_EVENT_STATUSES;
use hvcall::{HvStatus, HypercallPrimitive, HypercallResult};
use hvmodel::{Hypervisor, Profile, World};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct GenVp {
    index: u32,
    synic: bool,
    sief: bool,
    removed: bool,
    masked: Vec<u32>,
}

#[derive(Clone, Debug)]
struct GenPort {
    id: u32,
    partition: u64,
    kind: &'static str,
    target: Option<u32>,
    sint: u32,
    base: u32,
    count: u32,
    deleted: bool,
    min_vtl: u8,
}

#[derive(Clone, Debug)]
struct GenWorld {
    profile: Profile,
    mask: u64,
    synic: bool,
    vtl: u8,
    enforce: bool,
    partitions: Vec<(u64, bool, Vec<GenVp>)>,
    ports: Vec<GenPort>,
    connections: Vec<(u32, u32)>,
}

/// Random but (unless `corrupt`) valid worlds: unique ids, references that resolve, SINTs and
/// flag ranges in bounds. `corrupt` breaks one rule so that refusals are exercised too.
fn gen_world() -> impl Strategy<Value = GenWorld> {
    let vp = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(0u32..16, 0..3),
    );
    let partition = (prop::bool::weighted(0.2), prop::collection::vec(vp, 0..4));
    let port = (
        (any::<u32>(), any::<u32>()),
        prop::sample::select(vec!["event", "event", "event", "message", "monitor"]),
        prop::bool::weighted(0.25),
        (0u32..16, prop_oneof![0u32..64, 1900u32..2048], any::<u32>()),
        (prop::bool::weighted(0.15), 0u8..3),
    );
    (
        prop::sample::select(Profile::ALL.to_vec()),
        prop_oneof![Just(0x003B_8030_0000_2E7Fu64), any::<u64>()],
        (prop::bool::weighted(0.85), 0u8..3, any::<bool>()),
        prop::collection::vec(partition, 1..4),
        prop::collection::vec(port, 0..6),
        prop::collection::vec(any::<u32>(), 0..8),
        prop::option::weighted(0.08, 0u8..4),
    )
        .prop_map(
            |(profile, mask, (synic, vtl, enforce), partitions, ports, connections, corrupt)| {
                let partitions: Vec<(u64, bool, Vec<GenVp>)> = (1u64..)
                    .zip(partitions)
                    .map(|(id, (inactive, vps))| {
                        let vps = (0u32..)
                            .zip(vps)
                            .map(|(n, (gap, synic, sief, removed, masked))| GenVp {
                                index: 2 * n + u32::from(gap),
                                synic,
                                sief,
                                removed,
                                masked,
                            })
                            .collect();
                        (id, inactive, vps)
                    })
                    .collect();
                let ports: Vec<GenPort> = (1u32..)
                    .zip(ports)
                    .map(
                        |(
                            id,
                            (
                                (part_pick, vp_pick),
                                kind,
                                any_vp,
                                (sint, base, count),
                                (deleted, min_vtl),
                            ),
                        )| {
                            let (pid, _, vps) = &partitions[part_pick as usize % partitions.len()];
                            let target = if any_vp || vps.is_empty() {
                                None
                            } else {
                                Some(vps[vp_pick as usize % vps.len()].index)
                            };
                            GenPort {
                                id,
                                partition: *pid,
                                kind,
                                target,
                                sint,
                                base,
                                count: 1 + count % (2048 - base),
                                deleted,
                                min_vtl,
                            }
                        },
                    )
                    .collect();
                let connections = (0x2000u32..)
                    .zip(connections)
                    .filter(|_| !ports.is_empty())
                    .map(|(id, pick)| (id, ports[pick as usize % ports.len()].id))
                    .collect();
                let mut w = GenWorld {
                    profile,
                    mask,
                    synic,
                    vtl,
                    enforce,
                    partitions,
                    ports,
                    connections,
                };
                match corrupt {
                    Some(0) if !w.ports.is_empty() => w.ports[0].sint = 16,
                    Some(1) if !w.ports.is_empty() => w.ports[0].partition = 99,
                    Some(2) if !w.connections.is_empty() => w.connections[0].1 = 999,
                    Some(3) if !w.ports.is_empty() => w.ports[0].count = 2049,
                    _ => {}
                }
                w
            },
        )
}

fn render(w: &GenWorld) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "profile = \"{}\"", w.profile.name());
    #[allow(clippy::cast_possible_wrap, reason = "TOML integers are i64")]
    let _ = writeln!(
        s,
        "[caller]\nprivilege_mask = {}\nsynic = {}\nvtl = {}",
        (w.mask & 0x7FFF_FFFF_FFFF_FFFF) as i64,
        w.synic,
        w.vtl
    );
    let _ = writeln!(s, "[hypervisor]\nkvm_enforce_cpuid = {}", w.enforce);
    for (id, inactive, vps) in &w.partitions {
        let state = if *inactive { "inactive" } else { "active" };
        let _ = writeln!(s, "[[partition]]\nid = {id}\nstate = \"{state}\"");
        for vp in vps {
            let _ = writeln!(
                s,
                "[[partition.vp]]\nindex = {}\nsynic = {}\nsief = {}\nremoved = {}\nmasked_sints = {:?}",
                vp.index, vp.synic, vp.sief, vp.removed, vp.masked
            );
        }
    }
    for p in &w.ports {
        let target = p
            .target
            .map_or_else(|| "\"any\"".to_owned(), |t| t.to_string());
        let _ = writeln!(
            s,
            "[[port]]\nid = {}\npartition = {}\ntype = \"{}\"\ntarget_vp = {target}\nsint = {}\nbase_flag = {}\nflag_count = {}\ndeleted = {}\nmin_vtl = {}",
            p.id, p.partition, p.kind, p.sint, p.base, p.count, p.deleted, p.min_vtl
        );
    }
    for (id, port) in &w.connections {
        let _ = writeln!(s, "[[connection]]\nid = {id}\nport = {port}");
    }
    s
}

/// Register values: mostly well-formed SignalEvent calls at the world's connections, with
/// random flags, reserved bits and control bits mixed in.
fn gen_call() -> impl Strategy<Value = (u64, u64, u64, u64)> {
    let rcx = prop_oneof![
        3 => Just(0x1_005Du64),
        2 => Just(0x5Du64),
        2 => any::<u64>().prop_map(|bits| 0x1_005D | (bits & 0xF000_FFFF_FFFE_0000)),
        1 => any::<u64>(),
    ];
    let rdx = prop_oneof![
        3 => (0x2000u64..0x2008, 0u64..20).prop_map(|(c, f)| c | f << 32),
        1 => (0x2000u64..0x2008, any::<u16>(), any::<u16>())
            .prop_map(|(c, f, r)| c | u64::from(f) << 32 | u64::from(r) << 48),
        1 => any::<u64>(),
    ];
    (rcx, rdx, any::<u64>(), any::<u64>())
}

fn allowed(profile: Profile, status: HvStatus) -> bool {
    SIGNAL_EVENT_STATUSES.contains(&status)
        || (profile == Profile::Openvmm && status == HvStatus::OPERATION_DENIED)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_worlds_and_registers_give_only_listed_statuses(
        world in gen_world(),
        calls in prop::collection::vec(gen_call(), 1..48),
    ) {
        let text = render(&world);
        let parsed = World::from_toml_str(&text, "random.toml");
        let w = match parsed {
            Ok(w) => w,
            Err(e) => {
                // Refusals are fine; they must name the file and a place.
                prop_assert_eq!(&e.file, "random.toml");
                prop_assert!(e.line.is_some(), "{}", e);
                return Ok(());
            }
        };
        let profile = w.profile();
        let hv = Hypervisor::new(w);
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        let mut newly = 0u64;
        for (n, &(rcx, rdx, r8, page_word)) in (0u64..).zip(&calls) {
            // Memory-convention calls point into (or near) the input page.
            let (rdx, probe_page) = if rcx & (1 << 16) == 0 && n % 2 == 0 {
                let offset = page_word % 4096;
                let at = usize::try_from(offset.min(4088) & !7).unwrap();
                caller.input_page().unwrap().bytes[at..at + 8].copy_from_slice(&rdx.to_le_bytes());
                (gpa + offset, true)
            } else {
                (rdx, false)
            };
            let expected = if probe_page {
                None
            } else {
                Some(hv.probe(rcx, rdx, r8, None))
            };
            let rax = caller.hypercall(rcx, rdx, r8);
            prop_assert_eq!(rax >> 16, 0, "RAX {:#x}", rax);
            let status = HypercallResult::from_raw(rax).status();
            prop_assert!(allowed(profile, status), "{} returned {}", profile, status);
            if let Some(expected) = expected {
                prop_assert_eq!(expected, status);
            }
            let outcome = caller.last_outcome().unwrap();
            prop_assert_eq!(outcome.status, status);
            if let Some(s) = outcome.signal {
                prop_assert!(status.is_success());
                prop_assert_eq!(hv.sief_flag(s.partition, s.vp, s.sint, s.flag), Some(true));
                if s.newly_set { newly += 1; }
            }
            if outcome.dropped {
                prop_assert!(status.is_success() && profile != Profile::Tlfs);
            }
        }
        prop_assert_eq!(hv.total_interrupts(), newly);
        prop_assert_eq!(hv.total_calls(), calls.len() as u64);
        let counted: u64 = hv.status_counts().iter().map(|(_, n)| n).sum();
        prop_assert_eq!(counted, calls.len() as u64);
    }

    #[test]
    fn memory_convention_equals_fast_for_any_input(
        world in gen_world(),
        input: u64,
        slot in 0u64..512,
    ) {
        let Ok(w) = World::from_toml_str(&render(&world), "random.toml") else { return Ok(()); };
        let fast_hv = Hypervisor::new(w.clone());
        let fast = fast_hv.hypercall_detailed(0x1_005D, input, 0, None);
        // KVM's slow exits to user space hand QEMU the input as a GPA on purpose (memory.rs,
        // `kvm_slow_calls_that_exit_to_user_space_hand_qemu_the_input_as_a_gpa`).
        if fast.user_exit {
            return Ok(());
        }
        let slow_hv = Hypervisor::new(w);
        let mut caller = slow_hv.primitive();
        let gpa = caller.input_page_gpa();
        let at = usize::try_from(slot * 8).unwrap();
        caller.input_page().unwrap().bytes[at..at + 8].copy_from_slice(&input.to_le_bytes());
        caller.hypercall(0x5D, gpa + slot * 8, 0);
        let slow = caller.last_outcome().unwrap();
        prop_assert_eq!(slow.status, fast.status);
        prop_assert_eq!(slow.signal, fast.signal);
        prop_assert_eq!(slow.dropped, fast.dropped);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "[a-z_\\[\\]=\" 0-9x.,\\n{}-]{0,300}") {
        if let Err(e) = World::from_toml_str(&text, "noise.toml") {
            prop_assert_eq!(&e.file, "noise.toml");
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn damaged_world_files_never_panic_the_parser(
        cut in 0usize..2000,
        flips in prop::collection::vec((0usize..2000, any::<u8>()), 0..6),
    ) {
        let text = std::fs::read_to_string(common::worlds_dir().join("invalid-vp-index.toml")).unwrap();
        let mut bytes = text.into_bytes();
        for (at, b) in flips {
            if let Some(slot) = bytes.get_mut(at) { *slot = b; }
        }
        bytes.truncate(cut);
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = World::from_toml_str(&text, "damaged.toml") {
            prop_assert!(e.to_string().starts_with("damaged.toml"));
        }
    }
}

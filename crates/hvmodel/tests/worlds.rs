//! World files: the built-in world, the shipped examples, defaults, and refused files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::format_push_string,
    reason = "test worlds are built line by line"
)]

mod common;

use common::{world, worlds_dir};
use hvcall::{CpuVendor, PrivilegeMask};
use hvmodel::{PartitionState, PortType, Profile, TargetVp, World};
use std::fmt::Write as _;

#[test]
fn builtin_world_is_tests_worlds_default_toml() {
    assert_eq!(world("default.toml"), World::builtin());
}

#[test]
fn builtin_world_is_a_gen2_guest_with_four_host_connections_on_sint_2() {
    let w = World::builtin();
    assert_eq!(w.profile(), Profile::Tlfs);
    assert_eq!(w.vendor(), CpuVendor::Intel);
    assert!(w.hypervisor_present());
    assert!(!w.allow_raw_hypercalls());
    assert_eq!(w.privileges(), PrivilegeMask(0x003B_8030_0000_2E7F));
    assert!(w.privileges().signal_events());
    assert!(w.privileges().has(PrivilegeMask::POST_MESSAGES));
    let ids: Vec<u32> = w.connections().iter().map(|c| c.id).collect();
    assert_eq!(ids, [0x2001, 0x2002, 0x2003, 0x2004]);
    for (n, c) in (0u16..).zip(w.connections()) {
        let port = w.port(c.port).unwrap();
        assert_eq!(port.port_type, PortType::Event);
        assert_eq!(port.sint, 2);
        assert_eq!(port.target_vp, TargetVp::Index(0));
        assert_eq!((port.base_flag, port.flag_count), (16 * n, 16));
        assert!(!port.deleted);
        assert_eq!(port.partition, 1);
    }
    let host = w.partition(1).unwrap();
    assert_eq!(host.state, PartitionState::Active);
    assert_eq!(host.vps.len(), 2);
    assert_eq!(w.tsc_frequency_hz(), Some(2_400_000_000));
}

#[test]
fn every_shipped_world_parses() {
    let mut count = 0;
    for entry in std::fs::read_dir(worlds_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            World::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 12, "only {count} worlds shipped");
}

#[test]
fn an_empty_file_is_a_world_with_defaults_and_nothing_in_it() {
    let w = World::from_toml_str("", "empty.toml").unwrap();
    assert_eq!(w.profile(), Profile::Tlfs);
    assert_eq!(w.vendor(), CpuVendor::Intel);
    assert!(w.hypervisor_present());
    assert_eq!(w.privileges(), PrivilegeMask(0x003B_8030_0000_2E7F));
    assert!(w.caller().synic);
    assert_eq!(w.caller().vtl, 0);
    assert!(w.partitions().is_empty() && w.ports().is_empty() && w.connections().is_empty());
    assert_eq!(w.timing(), World::builtin().timing());
}

#[test]
fn every_id_has_a_default_so_four_headers_make_a_working_connection() {
    let w = World::from_toml_str(
        "[[partition]]\n[[partition.vp]]\n[[port]]\n[[connection]]\n",
        "m",
    )
    .unwrap();
    let c = w.connection(1).unwrap();
    assert_eq!(c.port, 1);
    let p = w.port(1).unwrap();
    assert_eq!(
        (
            p.partition,
            p.port_type,
            p.target_vp,
            p.sint,
            p.base_flag,
            p.flag_count,
            p.deleted,
            p.min_vtl
        ),
        (1, PortType::Event, TargetVp::Index(0), 2, 0, 1, false, 0)
    );
    let vp = &w.partition(1).unwrap().vps[0];
    assert_eq!(
        (vp.index, vp.synic, vp.sief, vp.masked_sints, vp.removed),
        (0, true, true, 0, false)
    );
}

#[test]
fn privileges_by_name_and_by_mask() {
    let w = World::from_toml_str(
        "[caller]\nprivileges = [\"SignalEvents\", \"postmessages\", \"AccessVpIndex\"]\n",
        "p",
    )
    .unwrap();
    assert_eq!(w.privileges(), PrivilegeMask(1 << 37 | 1 << 36 | 1 << 6));
    let w = World::from_toml_str("[caller]\nprivilege_mask = 0x2000000000\n", "p").unwrap();
    assert_eq!(w.privileges(), PrivilegeMask(1 << 37));
    let w = World::from_toml_str("[caller]\nprivileges = []\n", "p").unwrap();
    assert_eq!(w.privileges(), PrivilegeMask(0));
}

#[test]
fn profile_and_vendor_names() {
    for (text, profile) in [
        ("tlfs", Profile::Tlfs),
        ("kvm", Profile::Kvm),
        ("qemu", Profile::Qemu),
        ("openvmm", Profile::Openvmm),
    ] {
        let w = World::from_toml_str(&format!("profile = \"{text}\"\nvendor = \"amd\"\n"), "p")
            .unwrap();
        assert_eq!((w.profile(), w.vendor()), (profile, CpuVendor::Amd));
    }
}

/// (file, line, key, text the message must contain)
const REFUSED: &[(&str, usize, &str, &str)] = &[
    (
        "unknown-key.toml",
        9,
        "port.colour",
        "unknown field `colour`, expected one of `id`, `partition`, `type`, `target_vp`, `sint`, `base_flag`, `flag_count`, `deleted`, `min_vtl`",
    ),
    (
        "duplicate-port-id.toml",
        11,
        "port.id",
        "duplicate port id 7 (first defined on line 8)",
    ),
    (
        "duplicate-connection-id.toml",
        15,
        "connection.id",
        "duplicate connection id 0x2001 (first defined on line 11)",
    ),
    (
        "duplicate-partition-id.toml",
        6,
        "partition.id",
        "duplicate partition id 1 (first defined on line 3)",
    ),
    (
        "duplicate-vp-index.toml",
        7,
        "partition.vp.index",
        "duplicate VP index 0 in partition 1 (first defined on line 5)",
    ),
    (
        "connection-to-missing-port.toml",
        12,
        "connection.port",
        "connection 0x2001 is bound to port 9, which no [[port]] defines (defined: 1)",
    ),
    (
        "port-on-missing-partition.toml",
        9,
        "port.partition",
        "port 1 is on partition 2, which no [[partition]] defines (defined: 1)",
    ),
    (
        "port-on-missing-vp.toml",
        10,
        "port.target_vp",
        "port 1 targets VP 3, which partition 1 does not define (defined: 0)",
    ),
    (
        "flag-range-beyond-2048.toml",
        10,
        "port.flag_count",
        "flag count 16 with base flag 2040 does not fit the 2048 event flags of a SINT: allowed 1 to 8",
    ),
    (
        "sint-out-of-range.toml",
        9,
        "port.sint",
        "SINT 16 is out of range: allowed 0 to 15",
    ),
    (
        "masked-sint-out-of-range.toml",
        6,
        "partition.vp.masked_sints",
        "SINT 16 is out of range: allowed 0 to 15",
    ),
    (
        "connection-id-too-wide.toml",
        11,
        "connection.id",
        "connection id 0x1002001 does not fit 24 bits (0 to 0xffffff); bits 31:24 are reserved",
    ),
    (
        "unknown-profile.toml",
        2,
        "profile",
        "unknown profile `hyperv`: allowed are tlfs, kvm, qemu, openvmm, xen",
    ),
    ("not-toml.toml", 2, "profile", ""),
];

#[test]
fn bad_files_are_refused_naming_file_line_key_and_what_is_allowed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid-worlds");
    let shipped = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        shipped,
        REFUSED.len(),
        "every invalid world has an expectation"
    );
    for &(file, line, key, text) in REFUSED {
        let path = dir.join(file);
        let e = World::from_file(&path).expect_err(file);
        assert_eq!(e.file, path.display().to_string(), "{file}");
        assert_eq!(e.line, Some(line), "{file}: {e}");
        assert_eq!(e.key.as_deref(), Some(key), "{file}: {e}");
        assert!(e.message.contains(text), "{file}: {e}");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}:{line}:", path.display())),
            "{shown}"
        );
        assert!(shown.contains(&format!("key `{key}`")), "{shown}");
    }
}

#[test]
fn other_refusals() {
    let cases: &[(&str, &str)] = &[
        (
            "[caller]\nprivileges = [\"SignalEvents\"]\nprivilege_mask = 1\n",
            "not both",
        ),
        (
            "[caller]\nprivileges = [\"Signal\"]\n",
            "unknown privilege `Signal`",
        ),
        ("vendor = \"via\"\n", "allowed are intel, amd"),
        (
            "[hypervisor]\nvendor_signature = \"short\"\n",
            "exactly 12 printable ASCII characters",
        ),
        (
            "[[partition]]\nstate = \"paused\"\n",
            "allowed are active, inactive",
        ),
        (
            "[[partition]]\n[[partition.vp]]\n[[port]]\ntype = \"doorbell\"\n",
            "allowed are event, message, monitor",
        ),
        (
            "[[partition]]\n[[partition.vp]]\n[[port]]\ntarget_vp = \"all\"\n",
            "allowed are a VP index of partition 1 or \"any\"",
        ),
        (
            "[[partition]]\n[[partition.vp]]\n[[port]]\nflag_count = 0\n",
            "allowed 1 to 2048",
        ),
        (
            "[[partition]]\n[[partition.vp]]\n[[port]]\nbase_flag = 2048\n",
            "allowed 0 to 2047",
        ),
        (
            "[[partition]]\n[[partition.vp]]\nindex = 0xffffffff\n",
            "HV_ANY_VP",
        ),
        (
            "[[partition]]\n[[partition.vp]]\n[[port]]\nid = 0x1000000\n",
            "does not fit 24 bits",
        ),
        ("[caller]\nvtl = 16\n", "allowed 0 to 15"),
        ("[timing]\njitter = 5\n", "unknown field `jitter`"),
        ("[[partition]]\nid = -1\n", "invalid value"),
    ];
    for (text, needle) in cases {
        let e = World::from_toml_str(text, "inline.toml").expect_err(text);
        assert_eq!(e.file, "inline.toml");
        assert!(e.line.is_some(), "{e}");
        assert!(e.to_string().contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    let path = worlds_dir().join("no-such-world.toml");
    let e = World::from_file(&path).unwrap_err();
    assert_eq!(e.file, path.display().to_string());
    assert_eq!(e.line, None);
    assert!(e.message.starts_with("cannot read the file: "), "{e}");
}

/// `n` VPs in one partition, with no ports.
fn world_with_vps(n: usize) -> String {
    let mut text = String::from("[[partition]]\nid = 1\n");
    for index in 0..n {
        let _ = write!(text, "[[partition.vp]]\nindex = {index}\n");
    }
    text
}

#[test]
fn a_world_with_more_vps_than_the_limit_is_refused_naming_the_limit() {
    assert_eq!(hvmodel::world::MAX_VPS, 16_384);
    let at_limit = World::from_toml_str(&world_with_vps(16_384), "at-limit.toml").unwrap();
    assert_eq!(at_limit.partitions()[0].vps.len(), 16_384);
    let e = World::from_toml_str(&world_with_vps(16_385), "too-many.toml").unwrap_err();
    // VP number 16385 is the 16385th `[[partition.vp]]`: lines 3 + 2 * 16384.
    assert_eq!(e.line, Some(3 + 2 * 16_384));
    assert_eq!(e.key.as_deref(), Some("partition.vp"));
    assert_eq!(
        e.message,
        "the world has more than 16384 VPs (this [[partition.vp]] is VP number 16385): the model \
         keeps a 4 KiB SIEF page per VP and allows at most 16384 VPs in all partitions together \
         (64 MiB); remove VPs"
    );
}

#[test]
fn a_world_file_that_is_not_a_regular_file_is_refused() {
    let e = World::from_file(std::path::Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.file, "/dev/zero");
    assert_eq!(e.line, None);
    assert_eq!(
        e.to_string(),
        "/dev/zero: not a regular file but a character device: give the path of a regular file"
    );
}

/// Duplicate ids still name the line of the first definition, far into a large file.
#[test]
fn duplicate_ids_name_the_first_line_in_a_large_file() {
    let mut text = String::from("[[partition]]\nid = 1\n[[partition.vp]]\nindex = 0\n");
    for id in (1..=3000).chain([2999]) {
        let _ = write!(text, "[[port]]\nid = {id}\n");
    }
    let e = World::from_toml_str(&text, "big.toml").unwrap_err();
    // Port n is on lines 3 + 2n and 4 + 2n; the duplicate is the 3001st port.
    assert_eq!(e.line, Some(4 + 2 * 3001));
    assert_eq!(e.key.as_deref(), Some("port.id"));
    assert_eq!(
        e.message,
        format!(
            "duplicate port id 2999 (first defined on line {})",
            4 + 2 * 2999
        )
    );
}

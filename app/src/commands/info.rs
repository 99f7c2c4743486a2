//! `hvsignal info`: what the driver (or model) sees of the machine: hypervisor, privileges,
//! features, CPU vendor and instruction, driver and protocol version, raw-call policy.

use hvcall::cpuid::{
    ECX_FEATURE_BITS, EDX_FEATURE_BITS, HARDWARE_FEATURE_BITS, PRIVILEGE_BITS, RECOMMENDATION_BITS,
};
use hvcall::{HypervisorCpuid, PrivilegeMask};
use hvsignal_proto::QueryResponse;
use serde::Serialize;

use crate::context::{Context, LoadedWorld};
use crate::exit::{CommandResult, Exit};
use crate::issued::{self, InstructionJson};
use crate::report::{Align, Fields, Style, Table, Text};

#[derive(Debug, Serialize)]
struct InfoDocument {
    world: Option<WorldJson>,
    hypervisor: HypervisorJson,
    privileges: PrivilegesJson,
    features: FeaturesJson,
    cpu: CpuJson,
    driver: DriverJson,
    hypercalls: HypercallsJson,
    tsc_frequency_hz: Option<u64>,
}

/// Whether the driver issues hypercalls on this machine, and every fact it decided on.
#[derive(Debug, Serialize)]
struct HypercallsJson {
    allowed: bool,
    refusal: Option<RefusalJson>,
    guest_os_id: Option<String>,
    guest_os_registered: Option<bool>,
    hypercall_msr: Option<String>,
    hypercall_page_enabled: Option<bool>,
    isolation: Option<IsolationJson>,
    rax: String,
}

#[derive(Debug, Serialize)]
struct RefusalJson {
    code: u32,
    name: &'static str,
    reason: String,
}

#[derive(Debug, Serialize)]
struct IsolationJson {
    #[serde(rename = "type")]
    isolation_type: &'static str,
    type_code: u8,
    paravisor: bool,
    shared_gpa_boundary_active: bool,
    shared_gpa_boundary_bits: u8,
}

#[derive(Debug, Serialize)]
struct WorldJson {
    source: String,
    profile: &'static str,
}

#[derive(Debug, Serialize)]
struct HypervisorJson {
    present: bool,
    hv1: bool,
    vendor_signature: Option<String>,
    interface: Option<String>,
    max_leaf: String,
    version: Option<VersionJson>,
    max_virtual_processors: u32,
    max_logical_processors: u32,
}

#[derive(Debug, Serialize)]
struct VersionJson {
    text: String,
    build: u32,
    major: u16,
    minor: u16,
    service_pack: u32,
    service_branch: u8,
    service_number: u32,
}

#[derive(Debug, Serialize)]
struct PrivilegesJson {
    mask: String,
    signal_events: bool,
    post_messages: bool,
    bits: Vec<BitJson>,
    unnamed_bits: String,
}

#[derive(Debug, Serialize)]
struct BitJson {
    bit: u8,
    name: &'static str,
    set: bool,
    tlfs_named: bool,
}

#[derive(Debug, Serialize)]
struct FeaturesJson {
    edx: String,
    edx_names: Vec<&'static str>,
    ecx: String,
    ecx_names: Vec<&'static str>,
    recommendations: String,
    recommendation_names: Vec<&'static str>,
    hardware: String,
    hardware_names: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct CpuJson {
    vendor: String,
    vendor_string: String,
    instruction: Option<InstructionJson>,
}

#[derive(Debug, Serialize)]
struct DriverJson {
    version: String,
    protocol_version: u16,
    allow_raw_hypercalls: bool,
    hypercalls_available: bool,
    memory_convention: bool,
    max_operations: u32,
    max_calls_per_request: u32,
}

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

fn names(value: u32, table: &'static [(u8, &'static str)]) -> Vec<&'static str> {
    hvcall::cpuid::named_bits(value, table).collect()
}

fn build(q: &QueryResponse, world: Option<&LoadedWorld>) -> InfoDocument {
    let leaves: HypervisorCpuid = q.hypervisor_cpuid();
    let present = q.hypervisor_present();
    let mask = leaves.privileges();
    let version = leaves.version();
    let vendor = q.vendor();
    InfoDocument {
        world: world.map(|w| WorldJson {
            source: w.source.clone(),
            profile: w.world.profile().name(),
        }),
        hypervisor: HypervisorJson {
            present,
            hv1: q.hv1_interface(),
            vendor_signature: present.then(|| printable(&leaves.vendor_signature())),
            interface: present.then(|| printable(&leaves.interface_signature().to_le_bytes())),
            max_leaf: format!("{:#010x}", leaves.max_leaf()),
            version: q.hv1_interface().then(|| VersionJson {
                text: format!("{}.{}.{}", version.major, version.minor, version.build),
                build: version.build,
                major: version.major,
                minor: version.minor,
                service_pack: version.service_pack,
                service_branch: version.service_branch,
                service_number: version.service_number,
            }),
            max_virtual_processors: leaves.max_virtual_processors(),
            max_logical_processors: leaves.max_logical_processors(),
        },
        privileges: PrivilegesJson {
            mask: format!("{:#018x}", mask.0),
            signal_events: mask.signal_events(),
            post_messages: mask.has(PrivilegeMask::POST_MESSAGES),
            bits: PRIVILEGE_BITS
                .iter()
                .map(|b| BitJson {
                    bit: b.bit,
                    name: b.name,
                    set: mask.has(b.bit),
                    tlfs_named: b.tlfs_named,
                })
                .collect(),
            unnamed_bits: format!("{:#x}", mask.unnamed_bits()),
        },
        features: FeaturesJson {
            edx: format!("{:#010x}", leaves.features()),
            edx_names: names(leaves.features(), EDX_FEATURE_BITS),
            ecx: format!("{:#010x}", leaves.misc_features()),
            ecx_names: names(leaves.misc_features(), ECX_FEATURE_BITS),
            recommendations: format!("{:#010x}", leaves.recommendations()),
            recommendation_names: names(leaves.recommendations(), RECOMMENDATION_BITS),
            hardware: format!("{:#010x}", leaves.hardware_features()),
            hardware_names: names(leaves.hardware_features(), HARDWARE_FEATURE_BITS),
        },
        cpu: CpuJson {
            vendor: issued::vendor_name(vendor),
            vendor_string: printable(&q.cpu_vendor_string),
            instruction: issued::instruction_json(vendor).filter(|i| {
                q.hypercall_instruction()
                    .is_some_and(|h| h.mnemonic() == i.mnemonic)
            }),
        },
        driver: DriverJson {
            version: format!(
                "{}.{}.{}",
                q.driver_version.major, q.driver_version.minor, q.driver_version.patch
            ),
            protocol_version: q.header.version,
            allow_raw_hypercalls: q.raw_allowed(),
            hypercalls_available: q.hypercalls_available(),
            memory_convention: q.memory_convention_available(),
            max_operations: q.max_operations,
            max_calls_per_request: q.max_calls_per_request,
        },
        hypercalls: hypercalls_json(q),
        tsc_frequency_hz: q.tsc_frequency(),
    }
}

fn hypercalls_json(q: &QueryResponse) -> HypercallsJson {
    let refusal = match (q.refusal_code(), q.refusal()) {
        (0, _) => None,
        (code, Some(refusal)) => Some(RefusalJson {
            code,
            name: refusal.name(),
            reason: refusal.to_string(),
        }),
        (code, None) => Some(RefusalJson {
            code,
            name: "unknown",
            reason: format!(
                "the driver refuses hypercalls for a reason this hvsignal does not know (code {code}); use the hvsignal that ships with the driver"
            ),
        }),
    };
    HypercallsJson {
        allowed: q.hypercalls_available(),
        refusal,
        guest_os_id: q.guest_os_id().map(|v| format!("{v:#018x}")),
        guest_os_registered: q.guest_os_id().map(|v| v != 0),
        hypercall_msr: q.hypercall_msr().map(|v| format!("{v:#018x}")),
        hypercall_page_enabled: q
            .hypercall_msr()
            .map(|v| v & hvcall::readiness::HYPERCALL_MSR_ENABLE != 0),
        isolation: q.isolation().map(|i| IsolationJson {
            isolation_type: i.isolation_type.name(),
            type_code: i.isolation_type.code(),
            paravisor: i.paravisor_present,
            shared_gpa_boundary_active: i.shared_gpa_boundary_active,
            shared_gpa_boundary_bits: i.shared_gpa_boundary_bits,
        }),
        rax: format!("{:#010x}", hvcall::HYPERCALL_RAX),
    }
}

/// Runs the command.
///
/// # Errors
/// A bad world file (exit 2); no device or access (exit 3).
pub fn run(ctx: &Context) -> CommandResult {
    let mut session = ctx.open(None)?;
    let q = session.client.query()?;
    let document = build(&q, session.world.as_ref());
    ctx.report("info", ctx.banner(&session), &document, |text, style| {
        render(text, style, &document, &q);
    })?;
    Ok(Exit::Success)
}

fn yes_no(style: Style, value: bool, good_when: bool) -> String {
    let word = if value { "yes" } else { "no" };
    if value == good_when {
        style.good(word)
    } else {
        style.bad(word)
    }
}

#[allow(clippy::too_many_lines, reason = "one report section after another")]
fn render(text: &mut Text, style: Style, doc: &InfoDocument, query: &QueryResponse) {
    let hv = &doc.hypervisor;
    text.line(style.bold("Hypervisor"));
    let mut f = Fields::new();
    f.add("present", yes_no(style, hv.present, true));
    if hv.present {
        f.add(
            "vendor signature",
            format!("\"{}\"", hv.vendor_signature.as_deref().unwrap_or("")),
        );
        let interface = hv.interface.as_deref().unwrap_or("");
        f.add(
            "interface",
            if hv.hv1 {
                format!("\"{interface}\" (Microsoft hypervisor interface)")
            } else {
                style.bad(&format!(
                    "\"{interface}\" (not Hv#1: no Hyper-V hypercalls)"
                ))
            },
        );
        if let Some(v) = &hv.version {
            f.add(
                "version",
                format!(
                    "{} (build {}, service pack {}, branch {}, number {})",
                    v.text, v.build, v.service_pack, v.service_branch, v.service_number
                ),
            );
        }
        f.add("max leaf", hv.max_leaf.clone());
        f.add(
            "limits",
            format!(
                "{} virtual processors, {} logical processors",
                hv.max_virtual_processors, hv.max_logical_processors
            ),
        );
    }
    text.push(f.render(2));
    if hv.present {
        text.blank();
        render_privileges(text, style, doc);
        text.blank();
        render_features(text, style, &doc.features);
    }
    text.blank();
    text.line(style.bold("CPU"));
    let mut f = Fields::new();
    f.add(
        "vendor",
        format!("{} ({})", doc.cpu.vendor, doc.cpu.vendor_string),
    );
    f.add(
        "instruction",
        match &doc.cpu.instruction {
            Some(i) => format!("{} ({})", i.mnemonic, i.encoding),
            None => style.bad(&format!(
                "none: {}",
                doc.hypercalls
                    .refusal
                    .as_ref()
                    .map_or("the driver issues no hypercalls", |r| r.reason.as_str())
            )),
        },
    );
    f.add(
        "TSC frequency",
        query.tsc_frequency().map_or_else(
            || "unknown (bench reports cycles only)".to_owned(),
            |hz| format!("{hz} Hz"),
        ),
    );
    text.push(f.render(2));
    text.blank();
    text.line(style.bold("Driver"));
    let dr = &doc.driver;
    let mut f = Fields::new();
    f.add("version", dr.version.clone());
    f.add("protocol version", dr.protocol_version.to_string());
    f.add(
        "hypercalls available",
        yes_no(style, dr.hypercalls_available, true),
    );
    f.add(
        "memory convention",
        yes_no(style, dr.memory_convention, true),
    );
    f.add(
        "raw hypercalls",
        if dr.allow_raw_hypercalls {
            style.warn("allowed (AllowRawHypercalls = 1)")
        } else {
            "not allowed (AllowRawHypercalls = 0)".to_owned()
        },
    );
    f.add(
        "limits per request",
        format!(
            "{} operations, {} calls",
            dr.max_operations, dr.max_calls_per_request
        ),
    );
    text.push(f.render(2));
    text.blank();
    render_hypercalls(text, style, &doc.hypercalls);
}

fn render_hypercalls(text: &mut Text, style: Style, h: &HypercallsJson) {
    let verdict = match &h.refusal {
        None if h.allowed => style.good("allowed"),
        None => style.bad("not available"),
        Some(r) => style.bad(&format!("refused ({}): {}", r.name, r.reason)),
    };
    text.line(format!("{}  {verdict}", style.bold("Hypercalls")));
    let mut f = Fields::new();
    let not_read = || style.dim("not read (an earlier check decided)");
    f.add(
        "guest OS ID",
        match (&h.guest_os_id, h.guest_os_registered) {
            (Some(v), Some(true)) => format!("{v} (set)"),
            (Some(v), _) => style.bad(&format!("{v} (not set: hypercalls raise #UD)")),
            (None, _) => not_read(),
        },
    );
    f.add(
        "hypercall MSR",
        match (&h.hypercall_msr, h.hypercall_page_enabled) {
            (Some(v), Some(true)) => format!("{v} (enabled)"),
            (Some(v), _) => style.bad(&format!("{v} (not enabled: hypercalls raise #UD)")),
            (None, _) => not_read(),
        },
    );
    f.add(
        "isolation",
        h.isolation.as_ref().map_or_else(
            || "none reported (no Isolation privilege)".to_owned(),
            |i| {
                format!(
                    "{} (type {}), paravisor {}",
                    i.isolation_type,
                    i.type_code,
                    if i.paravisor { "present" } else { "absent" }
                )
            },
        ),
    );
    f.add(
        "RAX on entry",
        format!(
            "{} (bit 31: a Hyper-V call on Xen and KVM's Xen emulation too)",
            h.rax
        ),
    );
    text.push(f.render(2));
}

fn render_privileges(text: &mut Text, style: Style, d: &InfoDocument) {
    let p = &d.privileges;
    text.line(format!(
        "{}  mask {}  SignalEvents: {}",
        style.bold("Privileges"),
        p.mask,
        if p.signal_events {
            style.good("yes (bit 37, CPUID 0x40000003 EBX bit 5)")
        } else {
            style.bad("no: HvCallSignalEvent returns HV_STATUS_ACCESS_DENIED")
        }
    ));
    let mut table = Table::new(&[
        ("bit", Align::Right),
        ("name", Align::Left),
        ("set", Align::Left),
        ("", Align::Left),
    ]);
    for b in &p.bits {
        let name = if b.bit == PrivilegeMask::SIGNAL_EVENTS {
            style.accent(&format!("{} <-", b.name))
        } else {
            b.name.to_owned()
        };
        let set = if b.set {
            style.good("yes")
        } else {
            style.dim("no")
        };
        let note = if b.tlfs_named {
            String::new()
        } else {
            style.dim("reserved in the TLFS; named by OpenVMM/HDK")
        };
        table.row(vec![b.bit.to_string(), name, set, note]);
    }
    text.push(table.render(style, 2));
    if p.unnamed_bits != "0x0" {
        text.line(format!("  unnamed bits set: {}", p.unnamed_bits));
    }
}

fn render_features(text: &mut Text, style: Style, f: &FeaturesJson) {
    text.line(style.bold("Features"));
    let list = |v: &[&str]| {
        if v.is_empty() {
            style.dim("(none named)")
        } else {
            v.join(", ")
        }
    };
    let mut fields = Fields::new();
    fields.add(
        "0x40000003 EDX",
        format!("{}  {}", f.edx, list(&f.edx_names)),
    );
    fields.add(
        "0x40000003 ECX",
        format!("{}  {}", f.ecx, list(&f.ecx_names)),
    );
    fields.add(
        "0x40000004 EAX",
        format!("{}  {}", f.recommendations, list(&f.recommendation_names)),
    );
    fields.add(
        "0x40000006 EAX",
        format!("{}  {}", f.hardware, list(&f.hardware_names)),
    );
    text.push(fields.render(2));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hvcall::cpuid::registers_to_bytes;

    #[test]
    fn printable_replaces_control_bytes() {
        assert_eq!(printable(b"Hv#1"), "Hv#1");
        assert_eq!(printable(&[0x41, 0, 0x42]), "A.B");
        assert_eq!(
            printable(&registers_to_bytes(hvcall::cpuid::MICROSOFT_HV_SIGNATURE)),
            "Microsoft Hv"
        );
    }
}

//! World files: TOML → raw serde structs → validated [`World`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use hvcall::cpuid::PRIVILEGE_BITS;
use hvcall::{
    CpuVendor, HypervisorVersion, IsolationConfig, IsolationType, PORT_ID_MASK, PrivilegeMask,
};
use serde::Deserialize;
use toml::Spanned;

use super::{
    Caller, Connection, FLAGS_PER_SINT, GEN2_PRIVILEGE_MASK, HV_ANY_VP, HypervisorInfo, MAX_VPS,
    MAX_VTL, Partition, PartitionState, Port, PortType, SINT_COUNT, TargetVp, Timing, Vp, World,
};
use crate::Profile;

/// A world file that cannot be used. Its text names the file, line, column and key, and says
/// what is allowed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorldError {
    /// The file (as given to [`World::from_toml_str`] or [`World::from_file`]).
    pub file: String,
    /// 1-based line, when the error has a place in the file.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the error has a place in the file.
    pub column: Option<usize>,
    /// The key, as a dotted path such as `port.sint`, when one is concerned.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for WorldError {}

// ---------------------------------------------------------------------------------------------
// Raw file layout. Every field is optional; `deny_unknown_fields` everywhere.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    profile: Option<Spanned<String>>,
    vendor: Option<Spanned<String>>,
    #[serde(default)]
    hypervisor: RawHypervisor,
    #[serde(default)]
    driver: RawDriver,
    #[serde(default)]
    caller: RawCaller,
    #[serde(default)]
    timing: RawTiming,
    #[serde(default)]
    partition: Vec<Spanned<RawPartition>>,
    #[serde(default)]
    port: Vec<Spanned<RawPort>>,
    #[serde(default)]
    connection: Vec<Spanned<RawConnection>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHypervisor {
    present: Option<bool>,
    vendor_signature: Option<Spanned<String>>,
    build: Option<u32>,
    major: Option<u16>,
    minor: Option<u16>,
    features_edx: Option<u32>,
    kvm_enforce_cpuid: Option<bool>,
    kvm_slow_input_as_gpa: Option<bool>,
    guest_os_id: Option<u64>,
    hypercall_msr: Option<u64>,
    isolation: Option<Spanned<String>>,
    paravisor: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDriver {
    allow_raw_hypercalls: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    privileges: Option<Spanned<Vec<Spanned<String>>>>,
    privilege_mask: Option<Spanned<u64>>,
    synic: Option<bool>,
    vtl: Option<Spanned<u8>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTiming {
    tsc_frequency_hz: Option<u64>,
    tsc_start: Option<u64>,
    decode_error_cycles: Option<u64>,
    lookup_error_cycles: Option<u64>,
    success_cycles: Option<u64>,
    interrupt_cycles: Option<u64>,
    user_exit_cycles: Option<u64>,
    timestamp_cycles: Option<u64>,
    jitter_cycles: Option<u64>,
    outlier_one_in: Option<u32>,
    outlier_cycles: Option<u64>,
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartition {
    id: Option<Spanned<u64>>,
    name: Option<String>,
    state: Option<Spanned<String>>,
    #[serde(default)]
    vp: Vec<Spanned<RawVp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVp {
    index: Option<Spanned<u32>>,
    synic: Option<bool>,
    sief: Option<bool>,
    masked_sints: Option<Vec<Spanned<u32>>>,
    removed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    id: Option<Spanned<u32>>,
    partition: Option<Spanned<u64>>,
    #[serde(rename = "type")]
    port_type: Option<Spanned<String>>,
    target_vp: Option<Spanned<toml::Value>>,
    sint: Option<Spanned<u32>>,
    base_flag: Option<Spanned<u32>>,
    flag_count: Option<Spanned<u32>>,
    deleted: Option<bool>,
    min_vtl: Option<Spanned<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    id: Option<Spanned<u32>>,
    port: Option<Spanned<u32>>,
}

// ---------------------------------------------------------------------------------------------

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    /// Byte offset of the start of every line, ascending: built once, so turning an offset into
    /// a line is a binary search rather than a scan of the text before it.
    line_starts: Vec<usize>,
}

impl<'a> Ctx<'a> {
    fn new(text: &'a str, file: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i.saturating_add(1)))
            .collect();
        Self {
            text,
            file,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of byte `offset`. Only the line of `offset` is
    /// scanned, so the cost does not grow with the position in the file.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = line
            .checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            .saturating_add(1);
        (line.max(1), column)
    }

    /// 1-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    fn error(&self, span: Option<Range<usize>>, key: &str, message: String) -> WorldError {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = self.position(span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        WorldError {
            file: self.file.to_owned(),
            line,
            column,
            key: (!key.is_empty()).then(|| key.to_owned()),
            message,
        }
    }

    /// The key a serde/TOML error at `span` concerns, read from the file: the text before `=`
    /// on that line, or the table header's name, prefixed with the enclosing table's name.
    fn key_at(&self, span: &Range<usize>) -> Option<String> {
        let start = span.start.min(self.text.len());
        let line_start = self
            .text
            .get(..start)?
            .rfind('\n')
            .map_or(0, |i| i.saturating_add(1));
        let line_end = self
            .text
            .get(start..)?
            .find('\n')
            .map_or(self.text.len(), |i| start.saturating_add(i));
        let line = self.text.get(line_start..line_end)?.trim();
        let header = |l: &str| -> Option<String> {
            let l = l.trim();
            l.starts_with('[').then(|| {
                l.trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
        };
        if let Some(name) = header(line) {
            return Some(name);
        }
        let key = line.split('=').next()?.trim().trim_matches('"').to_owned();
        if key.is_empty() || !line.contains('=') {
            return None;
        }
        let table = self.text.get(..line_start)?.lines().rev().find_map(header);
        Some(match table {
            Some(t) if !t.is_empty() => format!("{t}.{key}"),
            _ => key,
        })
    }
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every error site takes an optional span"
)]
fn span_of<T>(s: &Spanned<T>) -> Option<Range<usize>> {
    Some(s.span())
}

pub(super) fn parse(text: &str, file: &str) -> Result<World, WorldError> {
    let ctx = Ctx::new(text, file);
    let raw: RawWorld = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let key = span.as_ref().and_then(|s| ctx.key_at(s));
        let mut err = ctx.error(span, "", e.message().trim().to_owned());
        err.key = key;
        err
    })?;
    build(&ctx, &raw)
}

fn build(ctx: &Ctx<'_>, raw: &RawWorld) -> Result<World, WorldError> {
    let profile = match &raw.profile {
        None => Profile::Tlfs,
        Some(p) => p
            .get_ref()
            .parse()
            .map_err(|e: crate::profile::UnknownProfile| {
                ctx.error(span_of(p), "profile", e.to_string())
            })?,
    };
    let vendor = match &raw.vendor {
        None => CpuVendor::Intel,
        Some(v) => match v.get_ref().to_ascii_lowercase().as_str() {
            "intel" => CpuVendor::Intel,
            "amd" => CpuVendor::Amd,
            other => {
                return Err(ctx.error(
                    span_of(v),
                    "vendor",
                    format!("unknown CPU vendor `{other}`: allowed are intel, amd"),
                ));
            }
        },
    };
    let hypervisor = build_hypervisor(ctx, &raw.hypervisor)?;
    let caller = build_caller(ctx, &raw.caller)?;
    let timing = build_timing(&raw.timing);
    let partitions = build_partitions(ctx, &raw.partition)?;
    let ports = build_ports(ctx, &raw.port, &partitions)?;
    let connections = build_connections(ctx, &raw.connection, &ports)?;
    Ok(World {
        profile,
        vendor,
        hypervisor,
        allow_raw_hypercalls: raw.driver.allow_raw_hypercalls.unwrap_or(false),
        caller,
        partitions,
        ports,
        connections,
        timing,
    })
}

fn build_hypervisor(ctx: &Ctx<'_>, raw: &RawHypervisor) -> Result<HypervisorInfo, WorldError> {
    let vendor_signature = match &raw.vendor_signature {
        None => None,
        Some(s) => {
            let bytes = s.get_ref().as_bytes();
            let sig: [u8; 12] = bytes
                .try_into()
                .ok()
                .filter(|_| bytes.iter().all(|b| (0x20..0x7F).contains(b)))
                .ok_or_else(|| {
                    ctx.error(
                        span_of(s),
                        "hypervisor.vendor_signature",
                        format!(
                            "`{}` is not a vendor signature: allowed are exactly 12 printable ASCII characters, e.g. \"Microsoft Hv\"",
                            s.get_ref()
                        ),
                    )
                })?;
            Some(sig)
        }
    };
    let version = if raw.build.is_some() || raw.major.is_some() || raw.minor.is_some() {
        Some(HypervisorVersion {
            build: raw.build.unwrap_or(0),
            major: raw.major.unwrap_or(0),
            minor: raw.minor.unwrap_or(0),
            ..HypervisorVersion::default()
        })
    } else {
        None
    };
    let isolation = build_isolation(ctx, raw)?;
    let builtin = HypervisorInfo::builtin();
    Ok(HypervisorInfo {
        present: raw.present.unwrap_or(builtin.present),
        vendor_signature,
        version,
        features_edx: raw.features_edx,
        kvm_enforce_cpuid: raw.kvm_enforce_cpuid.unwrap_or(builtin.kvm_enforce_cpuid),
        kvm_slow_input_as_gpa: raw
            .kvm_slow_input_as_gpa
            .unwrap_or(builtin.kvm_slow_input_as_gpa),
        guest_os_id: raw.guest_os_id.unwrap_or(builtin.guest_os_id),
        hypercall_msr: raw.hypercall_msr.unwrap_or(builtin.hypercall_msr),
        isolation,
    })
}

/// `isolation = "none" | "vbs" | "snp" | "tdx" | 0..=15` and `paravisor = bool`: CPUID
/// 0x4000000C. Neither key: the VM reports no isolation leaf at all.
fn build_isolation(
    ctx: &Ctx<'_>,
    raw: &RawHypervisor,
) -> Result<Option<IsolationConfig>, WorldError> {
    let isolation_type = match &raw.isolation {
        None if raw.paravisor.is_none() => return Ok(None),
        None => IsolationType::None,
        Some(name) => {
            let text = name.get_ref().to_ascii_lowercase();
            match text.as_str() {
                "none" => IsolationType::None,
                "vbs" => IsolationType::Vbs,
                "snp" => IsolationType::Snp,
                "tdx" => IsolationType::Tdx,
                other => match other.parse::<u8>() {
                    Ok(code) if code <= 15 => IsolationType::from_code(code),
                    _ => {
                        return Err(ctx.error(
                            span_of(name),
                            "hypervisor.isolation",
                            format!(
                                "unknown isolation type `{}`: allowed are none, vbs, snp, tdx, or a number 0 to 15 (CPUID 0x4000000C EBX bits 3:0)",
                                name.get_ref()
                            ),
                        ));
                    }
                },
            }
        }
    };
    Ok(Some(IsolationConfig {
        paravisor_present: raw.paravisor.unwrap_or(false),
        isolation_type,
        ..IsolationConfig::NONE
    }))
}

fn build_caller(ctx: &Ctx<'_>, raw: &RawCaller) -> Result<Caller, WorldError> {
    let privileges = match (&raw.privileges, &raw.privilege_mask) {
        (Some(_), Some(mask)) => {
            return Err(ctx.error(
                span_of(mask),
                "caller.privilege_mask",
                "give either `privileges` (names) or `privilege_mask` (a number), not both"
                    .to_owned(),
            ));
        }
        (None, Some(mask)) => PrivilegeMask(*mask.get_ref()),
        (Some(names), None) => {
            let mut mask = 0u64;
            for name in names.get_ref() {
                let bit = PrivilegeMask::bit_by_name(name.get_ref()).ok_or_else(|| {
                    let allowed: Vec<&str> = PRIVILEGE_BITS.iter().map(|b| b.name).collect();
                    ctx.error(
                        span_of(name),
                        "caller.privileges",
                        format!(
                            "unknown privilege `{}`: allowed are the HV_PARTITION_PRIVILEGE_MASK bit names {}",
                            name.get_ref(),
                            allowed.join(", ")
                        ),
                    )
                })?;
                mask |= 1u64 << bit.bit;
            }
            PrivilegeMask(mask)
        }
        (None, None) => GEN2_PRIVILEGE_MASK,
    };
    let vtl = match &raw.vtl {
        Some(v) if *v.get_ref() > MAX_VTL => {
            return Err(ctx.error(
                span_of(v),
                "caller.vtl",
                format!(
                    "VTL {} is out of range: allowed 0 to {MAX_VTL}",
                    v.get_ref()
                ),
            ));
        }
        Some(v) => *v.get_ref(),
        None => 0,
    };
    Ok(Caller {
        privileges,
        synic: raw.synic.unwrap_or(true),
        vtl,
    })
}

fn build_timing(raw: &RawTiming) -> Timing {
    let d = Timing::default();
    Timing {
        tsc_frequency_hz: raw.tsc_frequency_hz.unwrap_or(d.tsc_frequency_hz),
        tsc_start: raw.tsc_start.unwrap_or(d.tsc_start),
        decode_error_cycles: raw.decode_error_cycles.unwrap_or(d.decode_error_cycles),
        lookup_error_cycles: raw.lookup_error_cycles.unwrap_or(d.lookup_error_cycles),
        success_cycles: raw.success_cycles.unwrap_or(d.success_cycles),
        interrupt_cycles: raw.interrupt_cycles.unwrap_or(d.interrupt_cycles),
        user_exit_cycles: raw.user_exit_cycles.unwrap_or(d.user_exit_cycles),
        timestamp_cycles: raw.timestamp_cycles.unwrap_or(d.timestamp_cycles),
        jitter_cycles: raw.jitter_cycles.unwrap_or(d.jitter_cycles),
        outlier_one_in: raw.outlier_one_in.unwrap_or(d.outlier_one_in),
        outlier_cycles: raw.outlier_cycles.unwrap_or(d.outlier_cycles),
        seed: raw.seed.unwrap_or(d.seed),
    }
}

/// The span of an optional field, else of the table that holds it.
#[allow(
    clippy::unnecessary_wraps,
    reason = "every error site takes an optional span"
)]
fn field_span<T, U>(field: Option<&Spanned<T>>, table: &Spanned<U>) -> Option<Range<usize>> {
    Some(field.map_or_else(|| table.span(), Spanned::span))
}

fn build_partitions(
    ctx: &Ctx<'_>,
    raw: &[Spanned<RawPartition>],
) -> Result<Vec<Partition>, WorldError> {
    // Offsets of the first definition of each id; the line is computed only for an error.
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    let mut total_vps = 0usize;
    for entry in raw {
        let p = entry.get_ref();
        let id = p.id.as_ref().map_or(1, |v| *v.get_ref());
        let span = field_span(p.id.as_ref(), entry);
        total_vps = total_vps.saturating_add(p.vp.len());
        if total_vps > MAX_VPS {
            let beyond = p.vp.len().saturating_sub(total_vps.saturating_sub(MAX_VPS));
            let at = p.vp.get(beyond).map_or_else(|| entry.span(), Spanned::span);
            return Err(ctx.error(
                Some(at),
                "partition.vp",
                format!(
                    "the world has more than {MAX_VPS} VPs (this [[partition.vp]] is VP number {}): \
                     the model keeps a 4 KiB SIEF page per VP and allows at most {MAX_VPS} VPs in \
                     all partitions together ({} MiB); remove VPs",
                    MAX_VPS + 1,
                    MAX_VPS * 4 / 1024
                ),
            ));
        }
        if let Some(&first) = seen.get(&id) {
            let first = ctx.line_of(first);
            return Err(ctx.error(
                span,
                "partition.id",
                format!(
                    "duplicate partition id {id} (first defined on line {first}): each [[partition]] needs its own id"
                ),
            ));
        }
        seen.insert(id, span.map_or(0, |s| s.start));
        let state = match &p.state {
            None => PartitionState::Active,
            Some(s) => match s.get_ref().as_str() {
                "active" => PartitionState::Active,
                "inactive" => PartitionState::Inactive,
                other => {
                    return Err(ctx.error(
                        span_of(s),
                        "partition.state",
                        format!("unknown partition state `{other}`: allowed are active, inactive"),
                    ));
                }
            },
        };
        let mut vps: Vec<Vp> = Vec::with_capacity(p.vp.len());
        let mut vp_lines: HashMap<u32, usize> = HashMap::new(); // index → offset
        for vp_entry in &p.vp {
            let v = vp_entry.get_ref();
            let index = v.index.as_ref().map_or(0, |i| *i.get_ref());
            let span = field_span(v.index.as_ref(), vp_entry);
            if index == HV_ANY_VP {
                return Err(ctx.error(
                    span,
                    "partition.vp.index",
                    format!("VP index {HV_ANY_VP:#x} is HV_ANY_VP: allowed 0 to 0xfffffffe"),
                ));
            }
            if let Some(&first) = vp_lines.get(&index) {
                let first = ctx.line_of(first);
                return Err(ctx.error(
                    span,
                    "partition.vp.index",
                    format!(
                        "duplicate VP index {index} in partition {id} (first defined on line {first})"
                    ),
                ));
            }
            vp_lines.insert(index, span.map_or(0, |s| s.start));
            let mut masked = 0u16;
            for sint in v.masked_sints.iter().flatten() {
                let n = *sint.get_ref();
                if n >= u32::from(SINT_COUNT) {
                    return Err(ctx.error(
                        span_of(sint),
                        "partition.vp.masked_sints",
                        format!("SINT {n} is out of range: allowed 0 to 15"),
                    ));
                }
                masked |= 1 << n;
            }
            vps.push(Vp {
                index,
                synic: v.synic.unwrap_or(true),
                sief: v.sief.unwrap_or(true),
                masked_sints: masked,
                removed: v.removed.unwrap_or(false),
            });
        }
        out.push(Partition {
            id,
            name: p.name.clone().unwrap_or_default(),
            state,
            vps,
        });
    }
    Ok(out)
}

#[allow(
    clippy::too_many_lines,
    reason = "one validation step per key, in file order"
)]
fn build_ports(
    ctx: &Ctx<'_>,
    raw: &[Spanned<RawPort>],
    partitions: &[Partition],
) -> Result<Vec<Port>, WorldError> {
    let partition_index: HashMap<u64, &Partition> = partitions.iter().map(|q| (q.id, q)).collect();
    let vp_index: HashSet<(u64, u32)> = partitions
        .iter()
        .flat_map(|q| q.vps.iter().map(move |v| (q.id, v.index)))
        .collect();
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let p = entry.get_ref();
        let id = p.id.as_ref().map_or(1, |v| *v.get_ref());
        let span = field_span(p.id.as_ref(), entry);
        if id & !PORT_ID_MASK != 0 {
            return Err(ctx.error(
                span,
                "port.id",
                format!("port id {id:#x} does not fit 24 bits: allowed 0 to {PORT_ID_MASK:#x}"),
            ));
        }
        if let Some(&first) = seen.get(&id) {
            let first = ctx.line_of(first);
            return Err(ctx.error(
                span,
                "port.id",
                format!("duplicate port id {id} (first defined on line {first})"),
            ));
        }
        seen.insert(id, span.map_or(0, |s| s.start));

        let partition_id = p.partition.as_ref().map_or(1, |v| *v.get_ref());
        let Some(&partition) = partition_index.get(&partition_id) else {
            let known: Vec<String> = partitions.iter().map(|q| q.id.to_string()).collect();
            return Err(ctx.error(
                field_span(p.partition.as_ref(), entry),
                "port.partition",
                format!(
                    "port {id} is on partition {partition_id}, which no [[partition]] defines (defined: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        };

        let port_type = match &p.port_type {
            None => PortType::Event,
            Some(t) => match t.get_ref().as_str() {
                "event" => PortType::Event,
                "message" => PortType::Message,
                "monitor" => PortType::Monitor,
                other => {
                    return Err(ctx.error(
                        span_of(t),
                        "port.type",
                        format!("unknown port type `{other}`: allowed are event, message, monitor"),
                    ));
                }
            },
        };

        let target_vp = match &p.target_vp {
            None => TargetVp::Index(0),
            Some(t) => {
                let bad = || {
                    ctx.error(
                        span_of(t),
                        "port.target_vp",
                        format!(
                            "`{}` is not a target VP: allowed are a VP index of partition {partition_id} or \"any\"",
                            t.get_ref()
                        ),
                    )
                };
                match t.get_ref() {
                    toml::Value::String(s) if s == "any" => TargetVp::Any,
                    toml::Value::Integer(i) => {
                        TargetVp::Index(u32::try_from(*i).map_err(|_| bad())?)
                    }
                    _ => return Err(bad()),
                }
            }
        };
        if let TargetVp::Index(index) = target_vp
            && !vp_index.contains(&(partition_id, index))
        {
            let known: Vec<String> = partition.vps.iter().map(|v| v.index.to_string()).collect();
            return Err(ctx.error(
                field_span(p.target_vp.as_ref(), entry),
                "port.target_vp",
                format!(
                    "port {id} targets VP {index}, which partition {partition_id} does not define (defined: {}); declare it with [[partition.vp]] (removed = true for a VP that is gone) or use \"any\"",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        }

        let sint = p.sint.as_ref().map_or(2, |v| *v.get_ref());
        let sint = u8::try_from(sint)
            .ok()
            .filter(|s| *s < SINT_COUNT)
            .ok_or_else(|| {
                ctx.error(
                    field_span(p.sint.as_ref(), entry),
                    "port.sint",
                    format!("SINT {sint} is out of range: allowed 0 to 15"),
                )
            })?;

        let base_flag = p.base_flag.as_ref().map_or(0, |v| *v.get_ref());
        let flag_count = p.flag_count.as_ref().map_or(1, |v| *v.get_ref());
        if base_flag >= FLAGS_PER_SINT {
            return Err(ctx.error(
                field_span(p.base_flag.as_ref(), entry),
                "port.base_flag",
                format!(
                    "base flag {base_flag} is beyond the {FLAGS_PER_SINT} event flags of a SINT: allowed 0 to 2047"
                ),
            ));
        }
        if flag_count == 0 || base_flag.saturating_add(flag_count) > FLAGS_PER_SINT {
            return Err(ctx.error(
                field_span(p.flag_count.as_ref(), entry),
                "port.flag_count",
                format!(
                    "flag count {flag_count} with base flag {base_flag} does not fit the {FLAGS_PER_SINT} event flags of a SINT: allowed 1 to {}",
                    FLAGS_PER_SINT.saturating_sub(base_flag)
                ),
            ));
        }
        let min_vtl = match &p.min_vtl {
            Some(v) if *v.get_ref() > MAX_VTL => {
                return Err(ctx.error(
                    span_of(v),
                    "port.min_vtl",
                    format!(
                        "VTL {} is out of range: allowed 0 to {MAX_VTL}",
                        v.get_ref()
                    ),
                ));
            }
            Some(v) => *v.get_ref(),
            None => 0,
        };
        out.push(Port {
            id,
            partition: partition_id,
            port_type,
            target_vp,
            sint,
            #[allow(clippy::cast_possible_truncation, reason = "both checked ≤ 2048 above")]
            base_flag: base_flag as u16,
            #[allow(clippy::cast_possible_truncation, reason = "both checked ≤ 2048 above")]
            flag_count: flag_count as u16,
            deleted: p.deleted.unwrap_or(false),
            min_vtl,
        });
    }
    Ok(out)
}

fn build_connections(
    ctx: &Ctx<'_>,
    raw: &[Spanned<RawConnection>],
    ports: &[Port],
) -> Result<Vec<Connection>, WorldError> {
    let port_ids: HashSet<u32> = ports.iter().map(|p| p.id).collect();
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let c = entry.get_ref();
        let id = c.id.as_ref().map_or(1, |v| *v.get_ref());
        let span = field_span(c.id.as_ref(), entry);
        if let Err(error) = hvcall::check_connection_id(id) {
            return Err(ctx.error(span, "connection.id", error.to_string()));
        }
        if let Some(&first) = seen.get(&id) {
            let first = ctx.line_of(first);
            return Err(ctx.error(
                span,
                "connection.id",
                format!("duplicate connection id {id:#x} (first defined on line {first})"),
            ));
        }
        seen.insert(id, span.map_or(0, |s| s.start));
        let port = c.port.as_ref().map_or(1, |v| *v.get_ref());
        if !port_ids.contains(&port) {
            let known: Vec<String> = ports.iter().map(|p| p.id.to_string()).collect();
            return Err(ctx.error(
                field_span(c.port.as_ref(), entry),
                "connection.port",
                format!(
                    "connection {id:#x} is bound to port {port}, which no [[port]] defines (defined: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        }
        out.push(Connection { id, port });
    }
    Ok(out)
}

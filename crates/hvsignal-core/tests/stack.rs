//! The driver's request path fits the kernel stack budget: no function on it has a frame over
//! [`FRAME_BUDGET`] bytes and no call chain from the IOCTL entry needs more than [`PATH_BUDGET`],
//! in the dev and the release profile.
//!
//! The x64 kernel stack is 24 KiB and shared with the I/O manager, WDF, filter drivers and
//! Driver Verifier, so the driver keeps a small share of it. The test builds
//! `crates/stack-probe` — `hvsignal_request_path`, exactly `RequestHandler::handle_device_control`
//! over the native primitive, as a `no_std` static library — with `-Z emit-stack-sizes`
//! (`RUSTC_BOOTSTRAP=1` lets the pinned stable compiler take the flag), reads every function's
//! frame from the `.stack_sizes` sections of its objects and the call graph from the call
//! relocations of each function's `.text.*` section, and walks every chain from the entry.
//! Callees without a frame record (compiler-builtins such as `memcpy`, built without the flag)
//! count as 0 and are listed. Recursion fails the test: a cycle in the graph, or a function
//! whose code calls its own start (a self-call needs no relocation).
//!
//! The figures are Linux/ELF codegen of the same code for the same CPU; the Windows driver's
//! frames are not measured (no MSVC target here) and are expected to be of the same size.
//! Skipped, with a message, off x86_64 Linux.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SymbolKind};

/// Largest frame any function on the request path may have.
const FRAME_BUDGET: u64 = 1024;
/// Largest sum of frames along any call chain from the entry.
const PATH_BUDGET: u64 = 2048;
const ENTRY: &str = "hvsignal_request_path";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the probe in `profile` and returns the static library's bytes.
fn build_probe(profile: &str, target: &Path) -> Vec<u8> {
    let output = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args([
            "build",
            "--locked",
            "-p",
            "hvsignal-stack-probe",
            "--profile",
            profile,
        ])
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", "-Z emit-stack-sizes")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building the stack probe failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = if profile == "dev" { "debug" } else { profile };
    let lib = target.join(dir).join("libhvsignal_stack_probe.a");
    std::fs::read(&lib).unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
}

/// Frames and calls of every function defined in the archive.
#[derive(Default)]
struct Graph {
    frames: HashMap<String, u64>,
    calls: HashMap<String, BTreeSet<String>>,
    /// Functions whose code calls their own start.
    recursive: BTreeSet<String>,
}

fn uleb128(bytes: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

impl Graph {
    fn read(archive: &[u8]) -> Self {
        let mut graph = Self::default();
        let bytes = archive;
        let archive = ArchiveFile::parse(bytes).expect("an ar archive");
        for member in archive.members() {
            let member = member.expect("archive member");
            let data = member.data(bytes).unwrap_or(&[]);
            let Ok(file) = object::File::parse(data) else {
                continue;
            };
            graph.add_object(&file);
        }
        graph
    }

    fn add_object(&mut self, file: &object::File<'_>) {
        // The function a (symbol, addend) relocation points at: the symbol itself, or for a
        // section symbol the function at that offset of the section.
        let functions: Vec<_> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.is_definition())
            .filter_map(|s| Some((s.section_index()?, s.address(), s.name().ok()?.to_owned())))
            .collect();
        let resolve = |target: RelocationTarget, offset: i64| -> Option<String> {
            let RelocationTarget::Symbol(index) = target else {
                return None;
            };
            let symbol = file.symbol_by_index(index).ok()?;
            if symbol.kind() == SymbolKind::Section {
                let section = symbol.section_index()?;
                let at = u64::try_from(offset).ok()?;
                return functions
                    .iter()
                    .find(|(s, address, _)| *s == section && *address == at)
                    .map(|(_, _, name)| name.clone());
            }
            // Functions (defined here or elsewhere), not the data a function refers to.
            matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Unknown)
                .then(|| symbol.name().ok().map(str::to_owned))
                .flatten()
        };
        for section in file.sections() {
            let name = section.name().unwrap_or("");
            if name == ".stack_sizes" {
                let data = section.data().unwrap_or(&[]);
                for (offset, relocation) in section.relocations() {
                    let Some(function) = resolve(relocation.target(), relocation.addend()) else {
                        continue;
                    };
                    let start = usize::try_from(offset).unwrap() + 8;
                    let size = data.get(start..).and_then(uleb128).expect("a ULEB128 size");
                    self.frames.insert(function, size);
                }
            } else if let Some(function) = name.strip_prefix(".text.") {
                // A call of the function itself needs no relocation: look for a `call rel32`
                // (E8) whose target is the section's start.
                let code = section.data().unwrap_or(&[]);
                let calls_itself = code.windows(5).enumerate().any(|(at, w)| {
                    w[0] == 0xE8
                        && i64::from(i32::from_le_bytes([w[1], w[2], w[3], w[4]]))
                            + i64::try_from(at).unwrap()
                            + 5
                            == 0
                });
                if calls_itself {
                    self.recursive.insert(function.to_owned());
                }
                // Calls: PC-relative relocations, whose addend is the target offset - 4.
                let callees = self.calls.entry(function.to_owned()).or_default();
                for (_, relocation) in section.relocations() {
                    if let Some(callee) =
                        resolve(relocation.target(), relocation.addend().saturating_add(4))
                        && callee != function
                    {
                        callees.insert(callee);
                    }
                }
            }
        }
    }

    /// The deepest chain from `function`: its total and the chain. Fails on recursion.
    fn deepest(&self, function: &str, on_path: &mut Vec<String>) -> (u64, Vec<String>) {
        assert!(
            !on_path.iter().any(|f| f == function) && !self.recursive.contains(function),
            "recursion on the request path: {on_path:?} -> {function}"
        );
        on_path.push(function.to_owned());
        let own = self.frames.get(function).copied().unwrap_or(0);
        let mut best = (0, Vec::new());
        for callee in self.calls.get(function).into_iter().flatten() {
            let candidate = self.deepest(callee, on_path);
            if candidate.0 > best.0 {
                best = candidate;
            }
        }
        on_path.pop();
        let mut chain = vec![function.to_owned()];
        chain.extend(best.1);
        (own + best.0, chain)
    }

    /// Every function reachable from `function`.
    fn reachable(&self, function: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![function.to_owned()];
        while let Some(f) = todo.pop() {
            if seen.insert(f.clone()) {
                todo.extend(self.calls.get(&f).into_iter().flatten().cloned());
            }
        }
        seen
    }
}

/// The request path's frames in `profile`: (every reachable function with its frame, the
/// deepest chain's total, the chain).
fn measure(profile: &str) -> (BTreeMap<String, Option<u64>>, u64, Vec<String>) {
    let target = workspace().join("target/stack-probe");
    let graph = Graph::read(&build_probe(profile, &target));
    assert!(
        graph.frames.contains_key(ENTRY),
        "{ENTRY} has no .stack_sizes record: was -Z emit-stack-sizes applied?"
    );
    let frames = graph
        .reachable(ENTRY)
        .into_iter()
        .map(|f| {
            let frame = graph.frames.get(&f).copied();
            (f, frame)
        })
        .collect();
    let (total, chain) = graph.deepest(ENTRY, &mut Vec::new());
    (frames, total, chain)
}

#[test]
fn the_request_path_fits_the_kernel_stack_budget() {
    if !(cfg!(target_arch = "x86_64") && cfg!(target_os = "linux")) {
        eprintln!("skipped: the stack measurement reads ELF objects of an x86_64 Linux build");
        return;
    }
    let mut failures = Vec::new();
    for profile in ["dev", "release"] {
        let (frames, total, chain) = measure(profile);
        println!(
            "{profile}: deepest chain {total} bytes: {}",
            chain.join(" -> ")
        );
        for (function, frame) in &frames {
            match frame {
                Some(bytes) => println!("{profile}: {bytes:>6}  {function}"),
                None => println!("{profile}: {:>6}  {function} (no frame record)", "-"),
            }
            if frame.is_some_and(|bytes| bytes > FRAME_BUDGET) {
                failures.push(format!(
                    "{profile}: {function} has a {} byte frame (budget {FRAME_BUDGET})",
                    frame.unwrap_or(0)
                ));
            }
        }
        if total > PATH_BUDGET {
            failures.push(format!(
                "{profile}: the deepest chain needs {total} bytes (budget {PATH_BUDGET}): {}",
                chain.join(" -> ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

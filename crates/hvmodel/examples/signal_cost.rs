//! Issues N identical successful fast SignalEvents (connection 0x2001, flag 0) through
//! [`ModelPrimitive::hypercall`], for counting the instructions the model spends per repeated
//! signal.
//!
//! Usage: `signal_cost [CALLS] [PROFILE] [CONNECTIONS]` (default 1000 calls, `tlfs`, the
//! built-in world; any profile but `xen`, which never succeeds). With CONNECTIONS, the world is
//! instead one partition with one VP and that many event ports, each behind its own connection
//! (0x2001, 0x2002, …), to show the cost does not grow with the world. `tests/cost.rs` runs it
//! under `valgrind --tool=callgrind` at two call counts; the difference in instructions divided by the difference in calls is the per-call
//! figure (docs/PERFORMANCE.md, Model).
//!
//! [`ModelPrimitive::hypercall`]: hvmodel::ModelPrimitive

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::hint::black_box;
use std::process::ExitCode;

use std::fmt::Write as _;

use hvcall::{HvStatus, HypercallControl, HypercallPrimitive, HypercallResult, SignalEventInput};
use hvmodel::{Hypervisor, Profile, World};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let calls: u64 = match args.next().map(|a| a.parse()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("signal_cost: CALLS: {e}");
            return ExitCode::from(2);
        }
    };
    let profile: Profile = match args.next().map(|a| a.parse()) {
        None => Profile::Tlfs,
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("signal_cost: PROFILE: {e}");
            return ExitCode::from(2);
        }
    };
    let world = match args.next().map(|a| a.parse::<u32>()) {
        None => World::builtin(),
        Some(Ok(n)) => match World::from_toml_str(&wide_world(n), "wide.toml") {
            Ok(world) => world,
            Err(e) => {
                eprintln!("signal_cost: {e}");
                return ExitCode::from(2);
            }
        },
        Some(Err(e)) => {
            eprintln!("signal_cost: CONNECTIONS: {e}");
            return ExitCode::from(2);
        }
    };
    let hv = Hypervisor::new(world.with_profile(profile));
    let mut caller = hv.primitive();
    let control = HypercallControl::signal_event(true).raw();
    let Ok(input) = SignalEventInput::new(0x2001, 0) else {
        return ExitCode::from(2);
    };
    let rdx = input.to_rdx();
    let mut successes = 0u64;
    for _ in 0..calls {
        let rax = caller.hypercall(black_box(control), black_box(rdx), black_box(0));
        if HypercallResult::from_raw(rax).status() == HvStatus::SUCCESS {
            successes += 1;
        }
    }
    black_box(caller.peek_tsc());
    if successes != calls || hv.calls_with_status(HvStatus::SUCCESS) != calls {
        eprintln!("signal_cost: {successes} of {calls} calls succeeded under {profile}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// One partition with VP 0 and `n` one-flag event ports on SINT 2, port `i` behind connection
/// `0x2000 + i`.
fn wide_world(n: u32) -> String {
    let mut text = String::from("[[partition]]\nid = 1\n[[partition.vp]]\nindex = 0\n");
    for i in 1..=n {
        let _ = write!(
            text,
            "[[port]]\nid = {i}\npartition = 1\ntarget_vp = 0\nsint = 2\nbase_flag = {}\n\
             flag_count = 1\n[[connection]]\nid = {}\nport = {i}\n",
            i % 2048,
            0x2000 + i
        );
    }
    text
}

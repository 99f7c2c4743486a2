//! The receiving side of a signal, as the model sees it: where a connection's events go
//! ([`World::route`]), whether the target can take an event now ([`Route::blocked`]), and what
//! one call did there ([`Receipt::of`] a [`CallOutcome`]).
//!
//! This only describes; the decision (which status, which flag is set) is
//! [`crate::Hypervisor::hypercall_detailed`]'s, and the flag a successful call set is in its
//! [`CallOutcome::signal`].
//!
//! ```
//! use hvcall::{HypercallControl, HypercallPrimitive, SignalEventInput};
//! use hvmodel::receiver::Receipt;
//! use hvmodel::{Hypervisor, TargetVp, World};
//!
//! let world = World::builtin();
//! let route = world.route(0x2002, 3).ok_or("no route for 0x2002")?;
//! assert_eq!((route.port, route.partition, route.sint, route.flag), (2, 1, 2, 19));
//! assert_eq!(route.target_vp, TargetVp::Index(0));
//! assert_eq!(route.blocked(&world), None);
//!
//! let hv = Hypervisor::new(world);
//! let mut caller = hv.primitive();
//! let rdx = SignalEventInput::new(0x2002, 3)?.to_rdx();
//! let control = HypercallControl::signal_event(true).raw();
//! caller.hypercall(control, rdx, 0);
//! let outcome = caller.last_outcome().ok_or("no call")?;
//! assert!(matches!(Receipt::of(&outcome), Receipt::Raised(s) if s.flag == 19));
//! caller.hypercall(control, rdx, 0);
//! let outcome = caller.last_outcome().ok_or("no call")?;
//! assert!(matches!(Receipt::of(&outcome), Receipt::AlreadySet(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::hypervisor::{CallOutcome, Signal};
pub use crate::world::Blocked;
use crate::world::{FLAGS_PER_SINT, TargetVp, World};

/// Where the events of one connection and flag number go, as the world describes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Route {
    /// The connection id.
    pub connection: u32,
    /// The port it is bound to.
    pub port: u32,
    /// The partition that owns the port.
    pub partition: u64,
    /// The VP the port names (an index, or "any").
    pub target_vp: TargetVp,
    /// The SINT the port delivers on.
    pub sint: u8,
    /// The absolute flag number in the SINT's slot: the port's base flag + the flag number
    /// (may be 2048 or more for a flag number beyond the slot).
    pub flag: u32,
}

impl World {
    /// Where a signal of `connection_id` with `flag_number` goes: `None` when the caller has no
    /// such connection or its port does not exist.
    #[must_use]
    pub fn route(&self, connection_id: u32, flag_number: u16) -> Option<Route> {
        let connection = self.connection(connection_id)?;
        let port = self.port(connection.port)?;
        Some(Route {
            connection: connection_id,
            port: port.id,
            partition: port.partition,
            target_vp: port.target_vp,
            sint: port.sint,
            flag: u32::from(port.base_flag).saturating_add(u32::from(flag_number)),
        })
    }
}

impl Route {
    /// Why the route's target cannot take an event now, `None` when it can. For a port
    /// targeting any VP this is about the VP the model would choose (the lowest-indexed one
    /// that can take the event).
    #[must_use]
    pub fn blocked(&self, world: &World) -> Option<Blocked> {
        let port = world.port(self.port)?;
        let partition = world.partition(self.partition);
        if !port.is_live_event_port(partition) {
            return Some(Blocked::PortNotLive);
        }
        if let Err(blocked) = partition?.target(self.target_vp, self.sint) {
            return Some(blocked);
        }
        (self.flag >= FLAGS_PER_SINT).then_some(Blocked::FlagOutOfRange)
    }
}

/// What the receiving side saw of one call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Receipt {
    /// The flag went from clear to set, so the SINT was raised (one interrupt counted).
    Raised(Signal),
    /// The flag was already set: nothing changed and no interrupt was raised.
    AlreadySet(Signal),
    /// The call succeeded but the receiver could not take the event: it was dropped (only the
    /// `kvm`, `qemu` and `openvmm` profiles drop; the TLFS answers an error instead).
    Dropped,
    /// The call failed: nothing reached the receiver.
    NotDelivered,
}

impl Receipt {
    /// What the receiver saw of the call that had `outcome`.
    #[must_use]
    pub fn of(outcome: &CallOutcome) -> Self {
        match outcome.signal {
            Some(signal) if signal.newly_set => Self::Raised(signal),
            Some(signal) => Self::AlreadySet(signal),
            None if outcome.dropped => Self::Dropped,
            None => Self::NotDelivered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(text: &str) -> World {
        World::from_toml_str(text, "inline.toml").unwrap()
    }

    const PARTITION: &str = "[[partition]]\nid = 7\n[[partition.vp]]\nindex = 0\nmasked_sints = [3]\n\
                             [[partition.vp]]\nindex = 1\n";

    #[test]
    fn route_follows_connection_port_and_base_flag() {
        let w = world(&format!(
            "{PARTITION}[[port]]\nid = 5\npartition = 7\ntarget_vp = 1\nsint = 3\nbase_flag = 100\n\
             flag_count = 8\n[[connection]]\nid = 0x42\nport = 5\n"
        ));
        assert_eq!(
            w.route(0x42, 2),
            Some(Route {
                connection: 0x42,
                port: 5,
                partition: 7,
                target_vp: TargetVp::Index(1),
                sint: 3,
                flag: 102,
            })
        );
        assert_eq!(w.route(0x43, 0), None);
        assert_eq!(w.route(0x42, 2).unwrap().blocked(&w), None);
        assert_eq!(
            w.route(0x42, 1948).unwrap().blocked(&w),
            Some(Blocked::FlagOutOfRange)
        );
    }

    #[test]
    fn blocked_names_why_the_target_cannot_take_the_event() {
        let port = |extra: &str| {
            world(&format!(
                "{PARTITION}[[port]]\nid = 5\npartition = 7\nsint = 3\n{extra}\n\
                 [[connection]]\nid = 1\nport = 5\n"
            ))
        };
        let blocked = |w: &World| w.route(1, 0).unwrap().blocked(w);
        assert_eq!(blocked(&port("target_vp = 0")), Some(Blocked::SintMasked));
        assert_eq!(blocked(&port("target_vp = \"any\"")), None);
        assert_eq!(blocked(&port("deleted = true")), Some(Blocked::PortNotLive));
        assert_eq!(
            blocked(&port("type = \"message\"")),
            Some(Blocked::PortNotLive)
        );
        let w = world(
            "[[partition]]\nid = 7\n[[partition.vp]]\nindex = 0\nsynic = false\n\
             [[partition.vp]]\nindex = 1\nsief = false\n[[partition.vp]]\nindex = 2\nremoved = true\n\
             [[port]]\nid = 1\npartition = 7\ntarget_vp = 0\n[[port]]\nid = 2\npartition = 7\n\
             target_vp = 1\n[[port]]\nid = 3\npartition = 7\ntarget_vp = 2\n[[port]]\nid = 4\n\
             partition = 7\ntarget_vp = \"any\"\n\
             [[connection]]\nid = 1\nport = 1\n[[connection]]\nid = 2\nport = 2\n\
             [[connection]]\nid = 3\nport = 3\n[[connection]]\nid = 4\nport = 4\n",
        );
        let of = |id| w.route(id, 0).unwrap().blocked(&w);
        assert_eq!(of(1), Some(Blocked::SynicDisabled));
        assert_eq!(of(2), Some(Blocked::SiefDisabled));
        assert_eq!(of(3), Some(Blocked::VpMissing));
        assert_eq!(of(4), Some(Blocked::NoVpAvailable));
        assert_eq!(Blocked::NoVpAvailable.name(), "no_vp_available");
    }
}

//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
//! the model's timing jitter and `hvsignal fuzz`'s generator both draw from it. Output `n` of
//! the generator seeded with `seed` is [`mix`]`(seed + n·`[`GAMMA`]`)`, so any output can be
//! computed without the ones before it.

/// The increment: 2^64 divided by the golden ratio, odd.
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The output function.
#[must_use]
pub const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Output `n` (from 1) of the generator seeded with `seed`.
#[must_use]
pub const fn nth(seed: u64, n: u64) -> u64 {
    mix(seed.wrapping_add(n.wrapping_mul(GAMMA)))
}

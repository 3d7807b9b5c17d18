//! The endpoint's deterministic random numbers (message IDs, tokens, retransmission jitter):
//! wyrand, seeded by the caller, so every run with the same seed and inputs is the same.

/// wyrand (Wang Yi's 64-bit generator): one multiply per number, every seed usable (0 too).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// A value in `0..=max`, without modulo bias worth speaking of (`max` is small here).
    pub(crate) fn below_or_eq(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64,
            None => self.next_u64(),
        }
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            for (o, b) in chunk.iter_mut().zip(bytes) {
                *o = b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_bounds_hold() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            assert!(a.below_or_eq(500) <= 500);
            b.below_or_eq(500);
        }
        assert_ne!(Rng::new(0).next_u64(), Rng::new(1).next_u64());
        let mut buf = [0u8; 5];
        Rng::new(3).fill(&mut buf);
        assert_ne!(buf, [0; 5]);
    }
}

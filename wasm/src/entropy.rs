//! Randomness for salts and nonces, from bytes the JavaScript side draws
//! with `crypto.getRandomValues`: SHA-256 in counter mode over that seed.

use core::convert::Infallible;

use sha2::{Digest, Sha256};

/// A deterministic generator seeded with 32 random bytes from JS.
pub(crate) struct Entropy {
    seed: [u8; 32],
    counter: u64,
}

impl Entropy {
    /// `None` unless `seed` is exactly 32 bytes.
    pub(crate) fn new(seed: &[u8]) -> Option<Self> {
        Some(Entropy { seed: seed.try_into().ok()?, counter: 0 })
    }

    /// A placeholder while the real one is lent out.
    pub(crate) const fn spent() -> Self {
        Entropy { seed: [0; 32], counter: 0 }
    }

    fn block(&mut self) -> [u8; 32] {
        self.counter += 1;
        let mut hash = Sha256::new();
        hash.update(self.seed);
        hash.update(self.counter.to_le_bytes());
        hash.finalize().into()
    }
}

impl rand_core::TryRng for Entropy {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let block = self.block();
        Ok(u32::from_le_bytes([block[0], block[1], block[2], block[3]]))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let block = self.block();
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&block[..8]);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(32) {
            let block = self.block();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Entropy {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn blocks_differ_and_depend_on_the_seed() {
        let mut a = Entropy::new(&[1; 32]).unwrap();
        let mut b = Entropy::new(&[2; 32]).unwrap();
        let (mut x, mut y) = ([0u8; 40], [0u8; 40]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        assert_ne!(x, y);
        assert_ne!(x[..32], x[8..40]);
        assert!(Entropy::new(&[0; 31]).is_none());
    }
}

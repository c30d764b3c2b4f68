//! Sample arithmetic the analyzers share: integer sums over whole tracks,
//! the hottest loops of a run after reading. Integer sums are exact and
//! vectorize (a float sum's order of additions is fixed, so it cannot); on
//! x86-64 they are also built for AVX2 and picked at run time, which about
//! halves their cost against the SSE2 baseline every x86-64 has.

/// Sum of squares, peak magnitude and full-scale samples of a track.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sums {
    pub power: u64,
    pub peak: u16,
    pub clipped: u64,
}

/// One pass over `samples`.
pub fn sums(samples: &[i16]) -> Sums {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2::sums(samples) };
        }
    }
    sums_portable(samples)
}

/// The mean square of each block of `block` samples (the last may be shorter).
pub fn mean_squares(samples: &[i16], block: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { avx2::mean_squares(samples, block) };
        }
    }
    mean_squares_portable(samples, block)
}

#[inline(always)]
fn square(s: i16) -> u64 {
    let a = u32::from(s.unsigned_abs());
    u64::from(a * a)
}

#[inline(always)]
fn sums_portable(samples: &[i16]) -> Sums {
    // Branch-free, so it vectorizes.
    let (mut power, mut peak, mut clipped) = (0u64, 0u16, 0u64);
    for &s in samples {
        power += square(s);
        peak = peak.max(s.unsigned_abs());
        clipped += u64::from(s == i16::MAX || s == i16::MIN);
    }
    Sums {
        power,
        peak,
        clipped,
    }
}

#[inline(always)]
fn mean_squares_portable(samples: &[i16], block: usize) -> Vec<f64> {
    // Plain loops, not `collect`: a generic collect is compiled on its own,
    // outside the AVX2 build of its caller.
    let block = block.max(1);
    let mut out = Vec::with_capacity(samples.len().div_ceil(block));
    for b in samples.chunks(block) {
        let mut sum = 0u64;
        for s in b {
            sum += square(*s);
        }
        out.push(sum as f64 / b.len() as f64);
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sums(samples: &[i16]) -> super::Sums {
        super::sums_portable(samples)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn mean_squares(samples: &[i16], block: usize) -> Vec<f64> {
        super::mean_squares_portable(samples, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_at_the_extremes() {
        let s = [i16::MIN, i16::MAX, 0, -1, 1, i16::MIN];
        let want = Sums {
            power: 2 * (1 << 30) + 32767 * 32767 + 2,
            peak: 32768,
            clipped: 3,
        };
        assert_eq!(sums(&s), want);
        assert_eq!(sums_portable(&s), want);
        // A million full-scale samples: more than a u32 could hold.
        let loud = vec![i16::MIN; 1 << 20];
        assert_eq!(sums(&loud).power, 1u64 << 50);
        assert_eq!(
            mean_squares(&s, 4),
            [
                (f64::from(1u32 << 30) + 32767.0 * 32767.0 + 1.0) / 4.0,
                ((1u64 << 30) + 1) as f64 / 2.0
            ]
        );
    }
}

//! Keeping the non-zero samples of a block, in order: the inner loop of the
//! real-time file check, so it has a SIMD path (SSSE3: eight samples per
//! step through a shuffle table) beside the portable one.

/// Write the non-zero samples of `src` to the front of `out` (which must be
/// at least as long as `src`); returns how many there are.
pub fn compact_nonzero(src: &[i16], out: &mut [i16]) -> usize {
    assert!(out.len() >= src.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU supports SSSE3 (checked just above), and `out`
            // is at least as long as `src` (asserted above), which is all
            // `compact_ssse3` needs.
            return unsafe { x86::compact_ssse3(src, out) };
        }
    }
    compact_scalar(src, out)
}

/// Branch-free: every sample is written, the count moves only past non-zero ones.
fn compact_scalar(src: &[i16], out: &mut [i16]) -> usize {
    let mut n = 0;
    for &s in src {
        out[n] = s;
        n += usize::from(s != 0);
    }
    n
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// For each 8-bit mask of non-zero lanes, the `pshufb` control that
    /// moves those 16-bit lanes to the front (0x80 clears a byte).
    const TABLE: [[u8; 16]; 256] = {
        let mut t = [[0x80u8; 16]; 256];
        let mut m = 0;
        while m < 256 {
            let mut out = 0;
            let mut lane = 0;
            while lane < 8 {
                if m & (1 << lane) != 0 {
                    t[m][out] = (2 * lane) as u8;
                    t[m][out + 1] = (2 * lane + 1) as u8;
                    out += 2;
                }
                lane += 1;
            }
            m += 1;
        }
        t
    };

    /// # Safety
    /// The CPU must support SSSE3 and `out.len() >= src.len()`.
    #[target_feature(enable = "ssse3")]
    pub unsafe fn compact_ssse3(src: &[i16], out: &mut [i16]) -> usize {
        let zero = _mm_setzero_si128();
        let mut n = 0usize;
        let chunks = src.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            // SAFETY: `c` holds 8 i16 = 16 bytes; unaligned loads are allowed.
            let v = unsafe { _mm_loadu_si128(c.as_ptr().cast()) };
            let zeros = _mm_packs_epi16(_mm_cmpeq_epi16(v, zero), zero);
            let keep = !(_mm_movemask_epi8(zeros) as usize) & 0xFF;
            // SAFETY: TABLE rows are 16 bytes.
            let shuffle = unsafe { _mm_loadu_si128(TABLE[keep].as_ptr().cast()) };
            // SAFETY: n ≤ the samples consumed before this chunk, so
            // n + 8 ≤ src.len() ≤ out.len(): the 16-byte store stays in `out`.
            unsafe {
                _mm_storeu_si128(out.as_mut_ptr().add(n).cast(), _mm_shuffle_epi8(v, shuffle));
            };
            n += keep.count_ones() as usize;
        }
        for &s in rest {
            out[n] = s;
            n += usize::from(s != 0);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_scalar_agree_on_every_pattern() {
        // Every 8-lane zero pattern, then a ragged tail.
        let mut src = Vec::new();
        for m in 0u32..256 {
            for lane in 0..8 {
                src.push(if m & (1 << lane) != 0 {
                    (m as i16) * 8 + lane as i16 - 1000
                } else {
                    0
                });
            }
        }
        src.extend_from_slice(&[0, 5, 0, -7, 9]);
        let want: Vec<i16> = src.iter().copied().filter(|s| *s != 0).collect();
        let mut out = vec![0; src.len()];
        let n = compact_nonzero(&src, &mut out);
        assert_eq!(&out[..n], &want[..]);
        let mut out2 = vec![0; src.len()];
        let n2 = compact_scalar(&src, &mut out2);
        assert_eq!(&out2[..n2], &want[..]);
    }
}

//! The text files a policy names, read as editors save them.

use std::path::Path;

/// A file the policy names (the hold list, a recipients or identity file):
/// a regular file of at most 16 MiB of UTF-8 text (a FIFO or a device named
/// there would never finish reading).
/// It is read leniently (a byte-order mark, UTF-16 as Windows editors save
/// "Unicode" text, CRLF line ends) and fails closed: a list that cannot be
/// read whole is an error, and then the policy is refused and nothing is
/// deleted.
pub(super) fn read_policy_file(p: &Path) -> std::io::Result<String> {
    const MAX: u64 = 16 << 20;
    let file = crate::safe_fs::open_regular_followed(p)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX + 1), &mut bytes)?;
    if bytes.len() as u64 > MAX {
        return Err(std::io::Error::other("longer than 16 MiB; not read"));
    }
    decode_text(&bytes).ok_or_else(|| {
        std::io::Error::other("not UTF-8 or UTF-16 text; not read (nothing is deleted on a guess)")
    })
}

/// Text as editors save it: UTF-8 with or without a byte-order mark, or
/// UTF-16 (little or big endian) with one.
fn decode_text(bytes: &[u8]) -> Option<String> {
    let utf16 = |rest: &[u8], le: bool| {
        if !rest.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => String::from_utf8(bytes.to_vec()).ok(),
    }
}

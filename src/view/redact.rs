//! Masking personal data in transcript text: card numbers (13–19 digits that
//! pass the Luhn check: all but the last four digits become `*`), e-mail
//! addresses, phone numbers, and other runs of 6–12 digits. Shorter numbers
//! (amounts, durations, years) and digit strings that only look like a card
//! are left alone.

use std::sync::LazyLock;

use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+").expect("valid regex")
});
/// A digit sequence with optional single spaces or dashes between digits.
static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d(?:[ \-.()]{0,2}\d)*").expect("valid regex"));

/// The Luhn checksum used by every card number.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn mask_digit_run(m: &str) -> Option<String> {
    let digits: Vec<u8> = m
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let n = digits.len();
    if (13..=19).contains(&n) {
        if !luhn(&digits) {
            return None;
        }
        // A card: keep the separators and the last four digits.
        let mut seen = 0;
        return Some(
            m.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        seen += 1;
                        if seen > n - 4 {
                            c
                        } else {
                            '*'
                        }
                    } else {
                        c
                    }
                })
                .collect(),
        );
    }
    let has_separators = m.chars().any(|c| !c.is_ascii_digit());
    if (7..=15).contains(&n) && has_separators {
        return Some("[phone]".to_string());
    }
    if (6..=12).contains(&n) {
        return Some("[number]".to_string());
    }
    None
}

pub fn redact(text: &str) -> String {
    let text = EMAIL.replace_all(text, "[email]");
    DIGITS
        .replace_all(&text, |c: &regex::Captures| {
            let m = &c[0];
            // Keep the trailing separator out of the match's replacement.
            mask_digit_run(m).unwrap_or_else(|| m.to_string())
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_masked_only_when_luhn_valid() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert_eq!(
            redact("my card is 4111 1111 1111 1111 thanks"),
            "my card is **** **** **** 1111 thanks"
        );
        assert_eq!(redact("4111-1111-1111-1111"), "****-****-****-1111");
        assert_eq!(
            redact("number 4111111111111112 please"),
            "number 4111111111111112 please"
        );
    }

    #[test]
    fn phones_emails_and_long_runs() {
        assert_eq!(
            redact("call 555 0142 or +1 (555) 010-4477"),
            "call [phone] or [phone]"
        );
        assert_eq!(
            redact("write to jane.doe+x@example.co.uk now"),
            "write to [email] now"
        );
        assert_eq!(redact("account 12345678"), "account [number]");
    }

    #[test]
    fn ordinary_numbers_stay() {
        let s = "It is two thousand dollars, 2400 in total, for 45 seconds in 2024, ending in 4821";
        assert_eq!(redact(s), s);
        assert_eq!(redact("duration 3.5 s"), "duration 3.5 s");
    }
}

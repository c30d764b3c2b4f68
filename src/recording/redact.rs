//! Masking personal data in transcript text: card numbers (13–19 digits that
//! pass the Luhn check: all but the last four digits become `*`), e-mail
//! addresses, phone numbers (7–15 digits written with a `+`, spaces, dashes,
//! dots or brackets: E.164 and national formats), and every other run of 6
//! or more digits (`[number]`, a card number that fails the Luhn check
//! included: a mistyped card is still a card). Shorter numbers (amounts,
//! durations, years) are left alone.

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
    if (13..=19).contains(&n) && luhn(&digits) {
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
    if n >= 6 {
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

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn cards_of_every_brand_are_masked_to_their_last_four() {
        for (card, masked) in [
            ("4111 1111 1111 1111", "**** **** **** 1111"), // Visa
            ("5555 5555 5555 4444", "**** **** **** 4444"), // Mastercard
            ("3782 822463 10005", "**** ****** *0005"),     // American Express, 15
            ("6011-1111-1111-1117", "****-****-****-1117"), // Discover
            ("3530111333300000", "************0000"),       // JCB
            ("3056 9309 0259 04", "**** **** **59 04"),     // Diners, 14
            ("4222222222222", "*********2222"),             // Visa, 13
        ] {
            assert!(luhn(&digits(&card.replace([' ', '-'], ""))), "{card}");
            assert_eq!(
                redact(&format!("card {card} ok")),
                format!("card {masked} ok")
            );
        }
        // Doubling digits above 4 must subtract 9: 5555… fails otherwise.
        assert!(luhn(&digits("5555555555554444")));
        assert!(!luhn(&digits("5555555555554445")));
        assert!(!luhn(&digits("4111111111111112")));
    }

    #[test]
    fn a_number_that_fails_luhn_is_still_masked() {
        assert_eq!(
            redact("number 4111111111111112 please"),
            "number [number] please"
        );
    }

    #[test]
    fn phones_in_international_and_national_formats() {
        for phone in [
            "+86 138 0013 8000",   // China, 13 digits
            "+8613800138000",      // E.164, no spaces
            "+44 20 7946 0958",    // UK, 12
            "+49 30 123456789",    // Germany, 12
            "+1 (555) 010-4477",   // US
            "(555) 010-4477",      // US national
            "555-0142",            // 7 digits
            "07700 900123",        // UK national
            "030 1234567",         // Germany national
            "+353 1 234 5678 90",  // 13 digits
            "+1 264 555 0100 123", // 14 digits
            "+999 1234 5678 9012", // 15 digits, the E.164 maximum
        ] {
            let out = redact(&format!("call {phone} now"));
            // A phone that happens to pass the Luhn check is masked as a
            // card: either way no more than four digits are left.
            assert!(
                out == "call [phone] now" || out.contains('*'),
                "{phone} -> {out}"
            );
            let left = out.chars().filter(char::is_ascii_digit).count();
            assert!(left <= 4, "{phone} -> {out}");
        }
        assert_eq!(
            redact("call 555 0142 or +1 (555) 010-4477"),
            "call [phone] or [phone]"
        );
    }

    #[test]
    fn emails_and_long_runs() {
        assert_eq!(
            redact("write to jane.doe+x@example.co.uk now"),
            "write to [email] now"
        );
        assert_eq!(redact("account 12345678"), "account [number]");
        assert_eq!(
            redact("reference 123456789012345678901234"),
            "reference [number]"
        );
    }

    #[test]
    fn ordinary_numbers_stay() {
        let s = "It is two thousand dollars, 2400 in total, for 45 seconds in 2024, ending in 4821";
        assert_eq!(redact(s), s);
        assert_eq!(redact("duration 3.5 s"), "duration 3.5 s");
    }
}

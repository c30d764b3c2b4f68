//! The keys of encrypted archives (the age format, age-encryption.org/v1).
//! Archiving needs only recipients, public keys (`age1…`): the private key
//! can stay off the machine that runs retention. An identity given as
//! `verify_identity` lets each archive be decrypted once after writing and
//! every file's checksum compared; it is never needed to archive.
//!
//! Recipients are X25519 (`age1…`), the keys every age implementation
//! reads, Debian's age 1.1 among them. The age crate marks them deprecated
//! in favour of post-quantum `age1pq1…` recipients, which older tools
//! cannot decrypt: those are refused with a message, not half-supported.
#![allow(deprecated)]

use std::fmt;
use std::str::FromStr;

/// Whom archives are encrypted to, and the key that checks them, if any.
#[derive(Clone)]
pub struct ArchiveKeys {
    pub recipients: Vec<age::x25519::Recipient>,
    pub verify: Option<age::x25519::Identity>,
}

impl fmt::Debug for ArchiveKeys {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("ArchiveKeys")
            .field("recipients", &self.recipients)
            .field("verify", &self.verify.as_ref().map(|_| "<identity>"))
            .finish()
    }
}

/// The lines of a keys file that hold a key: `#` comments and blank lines
/// skipped (the format `age -R` and `age-keygen` use), with line numbers.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// One recipient: an X25519 public key, `age1…`.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    let t = text.trim();
    age::x25519::Recipient::from_str(t).map_err(|_| {
        if t.starts_with("age1pq1") {
            format!("\"{}…\": post-quantum recipients are not supported yet (the age 1.1 that reads these archives elsewhere cannot decrypt them); give an X25519 recipient (age1…, from age-keygen)", &t[..t.len().min(16)])
        } else if t.starts_with("ssh-") {
            format!("\"{t}\": SSH keys are not supported; give an age X25519 recipient (age1…, from age-keygen)")
        } else if t.starts_with("AGE-SECRET-KEY-") {
            "a private key where a recipient belongs: give its public key (age-keygen -y), and keep the private key off this machine".to_string()
        } else {
            format!("\"{t}\": not an age X25519 recipient (age1…, from age-keygen)")
        }
    })
}

/// Every recipient in a recipients file (the `age -R` format), each error
/// naming its line.
pub fn parse_recipients_file(text: &str) -> Result<Vec<age::x25519::Recipient>, String> {
    let all: Vec<_> = key_lines(text)
        .map(|(n, l)| parse_recipient(l).map_err(|e| format!("line {n}: {e}")))
        .collect::<Result<_, _>>()?;
    if all.is_empty() {
        return Err("no recipient in it".into());
    }
    Ok(all)
}

/// The one identity in an identity file (what `age-keygen -o` writes).
pub fn parse_identity_file(text: &str) -> Result<age::x25519::Identity, String> {
    let mut keys = key_lines(text);
    let (n, line) = keys.next().ok_or("no identity (AGE-SECRET-KEY-1…) in it")?;
    if keys.next().is_some() {
        return Err("more than one identity; give a file with the one that verifies".into());
    }
    age::x25519::Identity::from_str(line)
        .map_err(|_| format!("line {n}: not an age X25519 identity (AGE-SECRET-KEY-1…)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_and_identities_parse_with_errors_that_name_the_line() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        let file = format!("# archive keys\n\n{r}\n  {r}  \n");
        assert_eq!(parse_recipients_file(&file).unwrap().len(), 2);
        let e = parse_recipients_file(&format!("{r}\nage1nope\n")).unwrap_err();
        assert!(e.starts_with("line 2: "), "{e}");
        assert!(parse_recipients_file("# none\n").is_err());
        assert!(parse_recipient("ssh-ed25519 AAAA")
            .unwrap_err()
            .contains("SSH"));
        let secret = {
            use age::secrecy::ExposeSecret;
            id.to_string().expose_secret().to_string()
        };
        assert!(parse_recipient(&secret)
            .unwrap_err()
            .contains("private key"));
        let parsed =
            parse_identity_file(&format!("# created: now\n# public key: {r}\n{secret}\n")).unwrap();
        assert_eq!(parsed.to_public().to_string(), r);
        let err = |t: &str| parse_identity_file(t).err().unwrap_or_default();
        assert!(err(&format!("{secret}\n{secret}\n")).contains("more than one"));
        assert!(err("AGE-SECRET-KEY-1XYZ\n").starts_with("line 1"));
    }
}

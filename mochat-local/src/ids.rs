//! Random ids, tokens and invite codes.

use rand::Rng;
use rand::distr::Alphanumeric;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const INVITE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// A new id such as `session_k3v9…`: the prefix, `_`, 20 random lowercase alphanumerics.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", pick(LOWER_ALNUM, 20))
}

/// `len` random lowercase alphanumerics, e.g. to make a name unique.
pub fn new_suffix(len: usize) -> String {
    pick(LOWER_ALNUM, len)
}

/// A new agent token: `claw_` and 32 random `[A-Za-z0-9]`.
pub fn new_token() -> String {
    let rest: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("claw_{rest}")
}

/// A new invite code: 10 characters that are easy to read aloud (no 0/O, 1/I).
pub fn new_invite_code() -> String {
    pick(INVITE_ALPHABET, 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mochat_api::limits::is_claw_token;
    use mochat_api::routes::is_valid_id;

    #[test]
    fn shapes() {
        let id = new_id("session");
        assert!(id.starts_with("session_") && is_valid_id(&id) && id.len() == 28);
        assert_ne!(new_id("msg"), new_id("msg"));
        let token = new_token();
        assert!(is_claw_token(&token) && token.len() == 37);
        assert_eq!(new_invite_code().len(), 10);
    }
}

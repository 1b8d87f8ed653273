//! One-time tokens for the URLs handed out, as kubelet's streaming server
//! keeps them: random, valid for a short time, consumed by the first
//! connection, with a cap on how many may be waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;

pub(crate) struct TokenCache<T> {
    entries: HashMap<String, (Instant, T)>,
    ttl: Duration,
    max: usize,
}

impl<T> TokenCache<T> {
    pub(crate) fn new(ttl: Duration, max: usize) -> TokenCache<T> {
        TokenCache {
            entries: HashMap::new(),
            ttl,
            max,
        }
    }

    /// A new token for `value`; `None` when `max` tokens are waiting.
    pub(crate) fn insert(&mut self, value: T) -> Option<String> {
        let now = Instant::now();
        self.entries.retain(|_, (deadline, _)| *deadline > now);
        if self.entries.len() >= self.max {
            return None;
        }
        loop {
            let mut raw = [0u8; 8];
            rand::thread_rng().fill_bytes(&mut raw);
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
            if !self.entries.contains_key(&token) {
                self.entries.insert(token.clone(), (now + self.ttl, value));
                return Some(token);
            }
        }
    }

    /// The value of a token not yet used nor expired; the token is gone after.
    pub(crate) fn consume(&mut self, token: &str) -> Option<T> {
        let (deadline, value) = self.entries.remove(token)?;
        (deadline > Instant::now()).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_once() {
        let mut c = TokenCache::new(Duration::from_secs(60), 10);
        let t = c.insert(7).unwrap();
        assert_eq!(t.len(), 11);
        assert_eq!(c.consume(&t), Some(7));
        assert_eq!(c.consume(&t), None);
        assert_eq!(c.consume("nosuchtoken"), None);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let mut c = TokenCache::new(Duration::from_millis(1), 10);
        let t = c.insert(7).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.consume(&t), None);
    }

    #[test]
    fn too_many_waiting_tokens_are_refused() {
        let mut c = TokenCache::new(Duration::from_secs(60), 2);
        c.insert(1).unwrap();
        c.insert(2).unwrap();
        assert!(c.insert(3).is_none());
    }
}

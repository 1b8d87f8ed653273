//! Docker's detach keys: the key sequence that, typed on an attached
//! terminal, ends the client's session and leaves the process running
//! (`--detach-keys`, the docker CLI config's `detachKeys`, the API's
//! `detachKeys`/`DetachKeys`). Both front ends filter their clients' input
//! through it.

/// Docker's detach sequence (default ctrl-p,ctrl-q): typed on an attached
/// stdin, it ends the attachment and leaves the container running. Bytes
/// that start the sequence are held back until it is complete or broken.
#[derive(Debug, Clone)]
pub struct DetachKeys {
    sequence: Vec<u8>,
    held: Vec<u8>,
}

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys {
            sequence: vec![0x10, 0x11],
            held: Vec::new(),
        }
    }
}

impl DetachKeys {
    /// Parses Docker's syntax: keys separated by commas, each a single
    /// character or `ctrl-<a-z|@|[|\\|]|^|_>`. Empty means the default.
    pub fn parse(spec: &str) -> Result<DetachKeys, String> {
        if spec.is_empty() {
            return Ok(DetachKeys::default());
        }
        let mut sequence = Vec::new();
        for key in spec.split(',') {
            let lower = key.to_ascii_lowercase();
            if let Some(c) = lower.strip_prefix("ctrl-") {
                let code = match c.as_bytes() {
                    [b @ b'a'..=b'z'] => b - b'a' + 1,
                    [b'@'] => 0,
                    [b'['] => 27,
                    [b'\\'] => 28,
                    [b']'] => 29,
                    [b'^'] => 30,
                    [b'_'] => 31,
                    _ => return Err(format!("Invalid escape keys ({spec}) provided")),
                };
                sequence.push(code);
            } else if key.len() == 1 {
                sequence.push(key.as_bytes()[0]);
            } else {
                return Err(format!("Invalid escape keys ({spec}) provided"));
            }
        }
        Ok(DetachKeys {
            sequence,
            held: Vec::new(),
        })
    }

    /// No sequence: everything is forwarded. Docker quirk: only a session
    /// on a terminal detaches; without a tty the keys reach the process.
    pub fn none() -> DetachKeys {
        DetachKeys {
            sequence: Vec::new(),
            held: Vec::new(),
        }
    }

    /// The bytes to forward, and whether the sequence was typed.
    pub fn filter(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if self.sequence.is_empty() {
            return (input.to_vec(), false);
        }
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.sequence[self.held.len()] {
                self.held.push(b);
                if self.held.len() == self.sequence.len() {
                    self.held.clear();
                    return (out, true);
                }
            } else {
                out.append(&mut self.held);
                if b == self.sequence[0] {
                    self.held.push(b);
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_and_match() {
        let mut keys = DetachKeys::default();
        assert_eq!(keys.filter(b"ab\x10c"), (b"ab\x10c".to_vec(), false));
        assert_eq!(keys.filter(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(keys.filter(b"\x11rest"), (Vec::new(), true));
        let mut keys = DetachKeys::parse("ctrl-x").unwrap();
        assert_eq!(keys.filter(b"hi\x18"), (b"hi".to_vec(), true));
        let mut keys = DetachKeys::parse("a,ctrl-\\").unwrap();
        assert_eq!(keys.filter(b"aa\x1c"), (b"a".to_vec(), true));
        assert!(DetachKeys::parse("ctrl-1").is_err());
        assert!(DetachKeys::parse("ab").is_err());
        let mut keys = DetachKeys::none();
        assert_eq!(keys.filter(b"a\x10\x11"), (b"a\x10\x11".to_vec(), false));
    }
}

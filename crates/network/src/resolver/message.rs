//! DNS messages (RFC 1035 §4.1), as much of them as the resolver needs: the
//! one question of a standard query, and a response carrying A or AAAA
//! records for it, or an error code.

use std::net::IpAddr;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
pub(crate) const CLASS_IN: u16 = 1;
/// The TTL Docker's embedded resolver gives its own answers (seconds).
const TTL: u32 = 600;
/// Response code: the server failed (no upstream answered).
pub(crate) const SERVFAIL: u8 = 2;
const HEADER: usize = 12;

/// The question of a query.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Question {
    /// The name asked for, labels joined by dots, without the root's.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Where the question ends in the message.
    end: usize,
}

/// The single question of a standard query; `None` for anything else
/// (a response, another opcode, several questions, a compressed or
/// non-UTF-8 name), which the resolver passes on untouched.
pub(crate) fn question(msg: &[u8]) -> Option<Question> {
    if msg.len() < HEADER {
        return None;
    }
    let is_response = msg[2] & 0x80 != 0;
    let opcode = (msg[2] >> 3) & 0x0f;
    let questions = u16::from_be_bytes([msg[4], msg[5]]);
    if is_response || opcode != 0 || questions != 1 {
        return None;
    }
    let mut pos = HEADER;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        // 0xC0.. are pointers, 0x40..0xBF reserved: not in a plain query.
        if len > 63 {
            return None;
        }
        labels.push(std::str::from_utf8(msg.get(pos..pos + len)?).ok()?);
        pos += len;
    }
    let field = |at: usize| Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]));
    Some(Question {
        name: labels.join("."),
        qtype: field(pos)?,
        qclass: field(pos + 2)?,
        end: pos + 4,
    })
}

/// The response header for `query`: its id, QR set, its RD kept, RA set,
/// `rcode`, one question and `answers` answers.
fn header(query: &[u8], rcode: u8, questions: u16, answers: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]);
    out.push(0x80 | (query[2] & 0x01));
    out.push(0x80 | (rcode & 0x0f));
    for count in [questions, answers, 0, 0] {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out
}

/// The answer to `q` (asked by `query`): every address of `addresses` of
/// the family it asks for, as records named by a pointer to the question.
/// None of that family is an empty answer (the name exists: NOERROR).
pub(crate) fn answer(query: &[u8], q: &Question, addresses: &[IpAddr]) -> Vec<u8> {
    let records: Vec<Vec<u8>> = addresses
        .iter()
        .filter_map(|ip| match (ip, q.qtype) {
            (IpAddr::V4(v4), TYPE_A) => Some(v4.octets().to_vec()),
            (IpAddr::V6(v6), TYPE_AAAA) => Some(v6.octets().to_vec()),
            _ => None,
        })
        .collect();
    let mut out = header(query, 0, 1, records.len() as u16);
    out.extend_from_slice(&query[HEADER..q.end]);
    for data in records {
        out.extend_from_slice(&[0xc0, HEADER as u8]);
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// An error response (`rcode`) to `query`, with its question when it has
/// one the resolver understands; `None` when `query` is too short to be one.
pub(crate) fn error(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    if query.len() < HEADER {
        return None;
    }
    Some(match question(query) {
        Some(q) => {
            let mut out = header(query, rcode, 1, 0);
            out.extend_from_slice(&query[HEADER..q.end]);
            out
        }
        None => header(query, rcode, 0, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query as busybox's nslookup sends it: id 0x1234, RD, one question.
    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    #[test]
    fn reads_the_question() {
        let q = question(&query("bar.net-1", TYPE_AAAA)).unwrap();
        assert_eq!(
            (q.name.as_str(), q.qtype, q.qclass),
            ("bar.net-1", TYPE_AAAA, CLASS_IN)
        );
        let mut response = query("bar", TYPE_A);
        response[2] |= 0x80;
        assert_eq!(question(&response), None);
        let mut compressed = query("bar", TYPE_A);
        compressed[12] = 0xc0;
        assert_eq!(question(&compressed), None);
        assert_eq!(question(&query("bar", TYPE_A)[..15]), None);
    }

    #[test]
    fn answers_with_the_family_asked_for() {
        let raw = query("bar", TYPE_A);
        let q = question(&raw).unwrap();
        let addresses = ["10.90.0.3".parse().unwrap(), "fd00::3".parse().unwrap()];
        let out = answer(&raw, &q, &addresses);
        // id, QR|RD, RA, 1 question, 1 answer.
        assert_eq!(&out[..8], &[0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1]);
        assert_eq!(&out[12..raw.len()], &raw[12..]);
        assert_eq!(
            &out[raw.len()..],
            &[0xc0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 90, 0, 3]
        );
        let raw6 = query("bar", TYPE_AAAA);
        let q6 = question(&raw6).unwrap();
        let out = answer(&raw6, &q6, &addresses[..1]);
        assert_eq!(&out[6..8], &[0, 0], "no IPv6 address: an empty answer");
    }

    #[test]
    fn errors_keep_the_question() {
        let raw = query("bar", TYPE_A);
        let out = error(&raw, SERVFAIL).unwrap();
        assert_eq!(&out[..8], &[0x12, 0x34, 0x81, 0x82, 0, 1, 0, 0]);
        assert_eq!(&out[12..], &raw[12..]);
        assert_eq!(error(&raw[..5], SERVFAIL), None);
    }
}

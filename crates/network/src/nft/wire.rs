//! nf_tables over a raw `NETLINK_NETFILTER` socket, without a process:
//! a [`Batch`] of table, chain and rule messages that the kernel applies
//! whole or not at all (between `NFNL_MSG_BATCH_BEGIN` and `_END`), the
//! [`Expr`]essions of a rule, and a dump of a table's rules ([`rules`]).
//! Constants are the kernel's (`linux/netfilter/nf_tables.h`); integers
//! in attributes are big-endian, values compared with registers are the
//! packet's bytes (or, for `meta`, `ct` and `fib` results, host order).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NFT_MSG_DELRULE: u16 = 8;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_RULE_USERDATA: u16 = 7;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
/// The chains' policy.
const NF_ACCEPT: u32 = 1;

/// The 16-byte registers a rule's expressions pass values in.
const REG_1: u32 = 1;
const REG_2: u32 = 2;

/// `nft_cmp_ops`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Eq = 0,
    Neq = 1,
}

/// `nft_payload_bases`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Base {
    Network = 1,
    Transport = 2,
}

/// One expression of a rule; each loads into or reads register 1 (a
/// `Nat` reads the address from 1 and the port from 2, which [`Expr::Port`]
/// loads).
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// `meta KEY` into register 1 (`nft_meta_keys`).
    Meta(u32),
    /// Register 1 compared with a value: the rule stops unless it holds.
    Cmp(Op, Vec<u8>),
    /// `len` bytes of the packet at `offset` from `base` into register 1.
    Payload(Base, u32, u32),
    /// Register 1 masked (`& mask`), in place.
    Mask(Vec<u8>),
    /// `ct KEY` into register 1 (`nft_ct_keys`).
    Ct(u32),
    /// `fib daddr type` into register 1 (an `RTN_*`, host order).
    FibDaddrType,
    /// A value into register 1.
    Load(Vec<u8>),
    /// A port (network order) into register 2.
    Port(u16),
    /// Destination NAT to register 1's address and register 2's port, for
    /// the family `NFPROTO_IPV4` or `_IPV6`.
    Dnat(u8),
    Masquerade,
}

/// Messages being built: a netlink header, `nfgenmsg`, attributes.
pub(crate) struct Batch {
    buf: Vec<u8>,
    open: Vec<usize>,
    start: usize,
    seq: u32,
    messages: u32,
}

impl Batch {
    pub(crate) fn new() -> Batch {
        let mut b = Batch {
            buf: Vec::with_capacity(1024),
            open: Vec::new(),
            start: 0,
            seq: 0,
            messages: 0,
        };
        b.message(NFNL_MSG_BATCH_BEGIN, 0, 0, NFNL_SUBSYS_NFTABLES);
        b.close_message();
        b
    }

    fn message(&mut self, kind: u16, flags: u16, family: u8, res_id: u16) {
        self.start = self.buf.len();
        self.seq += 1;
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf
            .extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family, version 0, resource id (big-endian).
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    fn close_message(&mut self) {
        let length = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&length.to_ne_bytes());
    }

    fn nft(&mut self, kind: u16, flags: u16, family: u8) {
        self.message(
            (NFNL_SUBSYS_NFTABLES << 8) | kind,
            flags | NLM_F_ACK,
            family,
            0,
        );
        self.messages += 1;
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        self.buf
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self
    }

    fn string(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_be_bytes())
    }

    fn begin(&mut self, kind: u16) -> &mut Self {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Self {
        if let Some(start) = self.open.pop() {
            let length = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&length.to_ne_bytes());
        }
        self
    }

    /// Makes the table unless it exists.
    pub(crate) fn table(&mut self, family: u8, name: &str) {
        self.nft(NFT_MSG_NEWTABLE, NLM_F_CREATE, family);
        self.string(NFTA_TABLE_NAME, name);
        self.close_message();
    }

    /// Makes a base chain of `kind` ("nat", "filter") on `hook` at
    /// `priority`, policy accept, unless it exists.
    pub(crate) fn base_chain(
        &mut self,
        family: u8,
        table: &str,
        name: &str,
        kind: &str,
        hook: u32,
        priority: i32,
    ) {
        self.nft(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family);
        self.string(NFTA_CHAIN_TABLE, table)
            .string(NFTA_CHAIN_NAME, name)
            .begin(NFTA_CHAIN_HOOK)
            .u32(NFTA_HOOK_HOOKNUM, hook)
            .attr(NFTA_HOOK_PRIORITY, &priority.to_be_bytes())
            .end()
            .u32(NFTA_CHAIN_POLICY, NF_ACCEPT)
            .string(NFTA_CHAIN_TYPE, kind);
        self.close_message();
    }

    /// Appends a rule, tagged with `userdata`, to a chain.
    pub(crate) fn rule(
        &mut self,
        family: u8,
        table: &str,
        chain: &str,
        exprs: &[Expr],
        userdata: &[u8],
    ) {
        self.nft(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family);
        self.string(NFTA_RULE_TABLE, table)
            .string(NFTA_RULE_CHAIN, chain)
            .begin(NFTA_RULE_EXPRESSIONS);
        for e in exprs {
            self.expr(e);
        }
        self.end().attr(NFTA_RULE_USERDATA, userdata);
        self.close_message();
    }

    /// Deletes the rule `handle` of a chain.
    pub(crate) fn delete_rule(&mut self, family: u8, table: &str, chain: &str, handle: u64) {
        self.nft(NFT_MSG_DELRULE, 0, family);
        self.string(NFTA_RULE_TABLE, table)
            .string(NFTA_RULE_CHAIN, chain)
            .attr(NFTA_RULE_HANDLE, &handle.to_be_bytes());
        self.close_message();
    }

    fn data(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        self.begin(kind).attr(NFTA_DATA_VALUE, value).end()
    }

    fn expr(&mut self, e: &Expr) {
        let name = match e {
            Expr::Meta(_) => "meta",
            Expr::Cmp(..) => "cmp",
            Expr::Payload(..) => "payload",
            Expr::Mask(_) => "bitwise",
            Expr::Ct(_) => "ct",
            Expr::FibDaddrType => "fib",
            Expr::Load(_) | Expr::Port(_) => "immediate",
            Expr::Dnat(_) => "nat",
            Expr::Masquerade => "masq",
        };
        self.begin(NFTA_LIST_ELEM).string(NFTA_EXPR_NAME, name);
        self.begin(NFTA_EXPR_DATA);
        match e {
            // NFTA_META_DREG, NFTA_META_KEY.
            Expr::Meta(key) => {
                self.u32(1, REG_1).u32(2, *key);
            }
            // NFTA_CMP_SREG, _OP, _DATA.
            Expr::Cmp(op, value) => {
                self.u32(1, REG_1).u32(2, *op as u32).data(3, value);
            }
            // NFTA_PAYLOAD_DREG, _BASE, _OFFSET, _LEN.
            Expr::Payload(base, offset, len) => {
                self.u32(1, REG_1)
                    .u32(2, *base as u32)
                    .u32(3, *offset)
                    .u32(4, *len);
            }
            // NFTA_BITWISE_SREG, _DREG, _LEN, _MASK, _XOR.
            Expr::Mask(mask) => {
                self.u32(1, REG_1)
                    .u32(2, REG_1)
                    .u32(3, mask.len() as u32)
                    .data(4, mask)
                    .data(5, &vec![0; mask.len()]);
            }
            // NFTA_CT_DREG, NFTA_CT_KEY.
            Expr::Ct(key) => {
                self.u32(1, REG_1).u32(2, *key);
            }
            // NFTA_FIB_DREG, _RESULT (ADDRTYPE), _FLAGS (DADDR).
            Expr::FibDaddrType => {
                self.u32(1, REG_1).u32(2, 3).u32(3, 1 << 1);
            }
            // NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA.
            Expr::Load(value) => {
                self.u32(1, REG_1).data(2, value);
            }
            Expr::Port(port) => {
                self.u32(1, REG_2).data(2, &port.to_be_bytes());
            }
            // NFTA_NAT_TYPE (DNAT), _FAMILY, _REG_ADDR_MIN, _REG_PROTO_MIN.
            Expr::Dnat(family) => {
                self.u32(1, 1)
                    .u32(2, u32::from(*family))
                    .u32(3, REG_1)
                    .u32(5, REG_2);
            }
            Expr::Masquerade => {}
        }
        self.end().end();
    }

    /// Whether the batch holds any change.
    pub(crate) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    fn finish(mut self) -> Vec<u8> {
        self.message(NFNL_MSG_BATCH_END, 0, 0, NFNL_SUBSYS_NFTABLES);
        self.close_message();
        self.buf
    }
}

/// A `NETLINK_NETFILTER` socket of the calling thread's network namespace.
pub(crate) struct Socket {
    fd: OwnedFd,
}

/// A rule as a dump shows it: where it is, its handle and its tag.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub chain: String,
    pub handle: u64,
    pub userdata: Vec<u8>,
}

impl Socket {
    pub(crate) fn open() -> io::Result<Socket> {
        Ok(Socket {
            fd: crate::netlink::socket(libc::NETLINK_NETFILTER)?,
        })
    }

    fn send(&self, buf: &[u8]) -> io::Result<()> {
        // SAFETY: buf is a valid buffer of buf.len() bytes.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// One datagram of replies; `None` when none is queued (`wait` false).
    fn receive(&self, buf: &mut [u8], wait: bool) -> io::Result<Option<usize>> {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        // SAFETY: buf is a writable buffer of buf.len() bytes.
        let got = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
            )
        };
        if got < 0 {
            let err = io::Error::last_os_error();
            if !wait && err.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(err);
        }
        Ok(Some(got as usize))
    }

    /// Applies the batch, whole or not at all. The kernel handles it while
    /// `send` runs: its answers (an acknowledgement or an error for each
    /// message) are all queued when `send` returns.
    pub(crate) fn apply(&self, batch: Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let expected = batch.messages;
        self.send(&batch.finish())?;
        let mut buf = vec![0u8; 16384];
        let mut answered = 0;
        let mut first_error = None;
        while answered < expected {
            let Some(got) = self.receive(&mut buf, answered == 0)? else {
                break;
            };
            for (kind, _, payload) in messages(&buf[..got]) {
                if kind != NLMSG_ERROR || payload.len() < 4 {
                    continue;
                }
                answered += 1;
                let code = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if code != 0 && first_error.is_none() {
                    first_error = Some(io::Error::from_raw_os_error(-code));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The rules of a table (none when it does not exist).
    pub(crate) fn rules(&self, family: u8, table: &str) -> io::Result<Vec<Rule>> {
        let mut b = Batch {
            buf: Vec::new(),
            open: Vec::new(),
            start: 0,
            seq: 0,
            messages: 0,
        };
        b.message(
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
            NLM_F_DUMP,
            family,
            0,
        );
        b.string(NFTA_RULE_TABLE, table);
        b.close_message();
        self.send(&b.buf)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let Some(got) = self.receive(&mut buf, true)? else {
                continue;
            };
            for (kind, flags, payload) in messages(&buf[..got]) {
                match kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map_or(0, |c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
                        return match code {
                            0 => Ok(out),
                            c if -c == libc::ENOENT => Ok(Vec::new()),
                            c => Err(io::Error::from_raw_os_error(-c)),
                        };
                    }
                    _ => {
                        if let Some(rule) = parse_rule(payload) {
                            out.push(rule);
                        }
                        if flags & NLM_F_MULTI == 0 {
                            return Ok(out);
                        }
                    }
                }
            }
        }
    }
}

/// The netlink messages of a datagram: type, flags and what follows the
/// header.
fn messages(buf: &[u8]) -> Vec<(u16, u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
        if len < 16 || at + len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
        let flags = u16::from_ne_bytes([buf[at + 6], buf[at + 7]]);
        out.push((kind, flags, &buf[at + 16..at + len]));
        at += (len + 3) & !3;
    }
    out
}

/// A rule message (after its `nfgenmsg`): chain, handle, userdata.
fn parse_rule(payload: &[u8]) -> Option<Rule> {
    let mut attrs = payload.get(4..)?;
    let (mut chain, mut handle, mut userdata) = (None, None, Vec::new());
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & !NLA_F_NESTED;
        if len < 4 || len > attrs.len() {
            break;
        }
        let data = &attrs[4..len];
        match kind {
            NFTA_RULE_CHAIN => {
                chain = Some(
                    String::from_utf8_lossy(data)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            NFTA_RULE_HANDLE => handle = Some(u64::from_be_bytes(data.try_into().ok()?)),
            NFTA_RULE_USERDATA => userdata = data.to_vec(),
            _ => {}
        }
        attrs = attrs.get(((len + 3) & !3).min(attrs.len())..)?;
    }
    Some(Rule {
        chain: chain?,
        handle: handle?,
        userdata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_framed_and_every_message_sized() {
        let mut b = Batch::new();
        b.table(1, "berth");
        b.rule(1, "berth", "postrouting", &[Expr::Masquerade], b"n:x");
        assert_eq!(b.messages, 2);
        let bytes = b.finish();
        let all = messages(&bytes);
        let kinds: Vec<u16> = all.iter().map(|m| m.0).collect();
        assert_eq!(
            kinds,
            [
                NFNL_MSG_BATCH_BEGIN,
                (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
                (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
                NFNL_MSG_BATCH_END
            ]
        );
        let sizes: usize = all.iter().map(|m| 16 + m.2.len()).sum();
        assert_eq!(sizes, bytes.len());
    }

    #[test]
    fn a_dumped_rule_gives_its_chain_handle_and_tag() {
        let mut b = Batch::new();
        b.delete_rule(1, "berth", "output", 42);
        let bytes = b.finish();
        let mut payload = messages(&bytes)[1].2.to_vec();
        // A dump's rule carries its tag too.
        let tag = b"c:abc";
        payload.extend_from_slice(&((4 + tag.len()) as u16).to_ne_bytes());
        payload.extend_from_slice(&NFTA_RULE_USERDATA.to_ne_bytes());
        payload.extend_from_slice(tag);
        let rule = parse_rule(&payload).unwrap();
        assert_eq!((rule.chain.as_str(), rule.handle), ("output", 42));
        assert_eq!(rule.userdata, tag);
    }
}

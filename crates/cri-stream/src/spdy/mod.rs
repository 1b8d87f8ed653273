//! SPDY/3.1 as Kubernetes' streams use it (moby/spdystream's dialect): the
//! client opens every stream, this side answers each with a SYN_REPLY and
//! sends DATA on it; no flow control, pings echoed.

mod dictionary;
pub(crate) mod frame;
mod session;

pub(crate) use session::{start, IncomingStream, Session};

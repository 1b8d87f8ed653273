//! What the kernel says about a failed filesystem-context operation.

use std::os::fd::BorrowedFd;

pub(crate) const NO_KERNEL_MESSAGE: &str = "no kernel message";

/// Drains the messages the kernel queued on a filesystem context ("e overlay:
/// failed to resolve ..."), which say far more than the bare errno.
pub(crate) fn kernel_log(fs: BorrowedFd<'_>) -> String {
    let mut messages = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = rustix::io::read(fs, &mut buf) {
        if n == 0 {
            break;
        }
        messages.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
    }
    if messages.is_empty() {
        NO_KERNEL_MESSAGE.into()
    } else {
        messages.join("; ")
    }
}

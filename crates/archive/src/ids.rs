//! The ids a user-namespaced container's files carry on the host
//! (`--userns=auto`: container id `x` is host id `start + x`), and the
//! shift between them and the ids the container sees, for what crosses
//! its boundary as a tar (`cp`, `export`, `commit`).

/// A container's id range: container ids `0..size` are host ids
/// `uid_start..` and `gid_start..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdShift {
    pub uid_start: u32,
    pub gid_start: u32,
    pub size: u32,
}

/// The id the kernel shows for one a namespace does not map (`nobody`).
const OVERFLOW_ID: u32 = 65534;

impl IdShift {
    /// The ids the container sees for host ids `(uid, gid)`; one outside
    /// the range is the kernel's overflow id, as inside.
    pub fn to_container(&self, uid: u32, gid: u32) -> (u32, u32) {
        let one = |id: u32, start: u32| match id.checked_sub(start) {
            Some(inside) if inside < self.size => inside,
            _ => OVERFLOW_ID,
        };
        (one(uid, self.uid_start), one(gid, self.gid_start))
    }

    /// The host ids for container ids `(uid, gid)`; one the range does not
    /// hold becomes the container's overflow id.
    pub fn to_host(&self, uid: u32, gid: u32) -> (u32, u32) {
        let one = |id: u32, start: u32| {
            let inside = if id < self.size {
                id
            } else {
                OVERFLOW_ID.min(self.size.saturating_sub(1))
            };
            start + inside
        };
        (one(uid, self.uid_start), one(gid, self.gid_start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_shift_both_ways_and_strangers_are_nobody() {
        let ids = IdShift {
            uid_start: 100_000,
            gid_start: 200_000,
            size: 65536,
        };
        assert_eq!(ids.to_container(100_000, 200_000), (0, 0));
        assert_eq!(ids.to_container(101_000, 201_000), (1000, 1000));
        assert_eq!(ids.to_container(0, 0), (65534, 65534));
        assert_eq!(ids.to_container(165_536, 265_536), (65534, 65534));
        assert_eq!(ids.to_host(0, 0), (100_000, 200_000));
        assert_eq!(ids.to_host(1000, 5), (101_000, 200_005));
        assert_eq!(ids.to_host(70_000, 70_000), (165_534, 265_534));
    }
}

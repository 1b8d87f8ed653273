//! Docker's mount-spec grammar: `-v/--volume`, `--mount`, `--tmpfs` and
//! `--volumes-from`, parsed and validated with Docker's rules and messages.
//!
//! # Terms
//! * A [`MountSpec`] is what the user asked for at one destination: a volume
//!   (named, or anonymous when `name` is `None`), a host bind, or a tmpfs.
//!   Parsing is pure except for two things Docker does too: a relative `./x`
//!   host path is made absolute against the current directory, and `--mount`
//!   binds check that their source exists.
//! * [`resolve`] combines the specs of one container: explicit mounts win over
//!   `--volumes-from`, which wins over anonymous `-v /dst` volumes, which win
//!   over image `VOLUME`s; two explicit mounts on one destination are an error.
//!
//! Errors the docker CLI raises while reading a flag are
//! [`VolumeError::InvalidFlag`]; those dockerd raises are
//! [`VolumeError::InvalidSpec`], each with Docker's exact text.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::request::{
    BindOptions, DriverConfig, ImageOptions, MountRequest, TmpfsOptions, VolumeOptions,
};
use crate::VolumeError;

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    Volume {
        /// `None`: a fresh anonymous volume.
        name: Option<String>,
        /// Do not fill an empty volume with the image's content at the destination.
        nocopy: bool,
        driver: Option<String>,
        driver_opts: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        /// Mount this path inside the volume instead of its root (local:
        /// relative, cleaned, never leaving the volume by its words).
        subpath: Option<String>,
    },
    Bind {
        host: PathBuf,
        /// `-v` creates a missing host directory; `--mount` refuses it.
        create_missing: bool,
        /// `rbind` (Docker's default) rather than a single-mount bind.
        recursive: bool,
        /// Read-only on its own mount only, its submounts left writable
        /// (`ro-non-recursive`, `ReadOnlyNonRecursive`); else a read-only
        /// bind is read-only throughout.
        read_only_non_recursive: bool,
    },
    Tmpfs {
        size: Option<u64>,
        /// Permission bits of the tmpfs root.
        mode: Option<u32>,
        /// `--tmpfs /dst:OPTIONS`: passed to the kernel as written.
        options: String,
    },
    /// An image's content, read-only (Docker 28's `type=image`).
    Image {
        /// The image as named (resolved at create).
        reference: String,
        /// Mount this path inside the image instead of its root (relative,
        /// cleaned, never leaving the image by its words).
        subpath: Option<String>,
    },
}

/// Which flag a spec came from (decides precedence and what `inspect` shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    VolumeFlag,
    MountFlag,
    TmpfsFlag,
    VolumesFrom,
    ImageVolume,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub source: MountSource,
    /// Absolute and cleaned ("/a/../b" -> "/b").
    pub destination: String,
    pub read_only: bool,
    /// Propagation asked for (binds); Docker shows "rprivate" for binds without one.
    pub propagation: Option<String>,
    /// "z" or "Z" from a `-v` mode.
    pub selinux_label: Option<String>,
    /// `Mounts[].Mode` as dockerd shows it: the `-v` mode as written, "z" for a
    /// named `-v` volume without one and for every `--mount` volume, else "".
    pub mode_string: String,
    pub origin: Origin,
}

impl MountSpec {
    /// The kernel option string for a tmpfs spec, as dockerd builds it
    /// (`ro`, `mode=` in octal, `size=` with the largest exact k/m/g suffix).
    pub fn tmpfs_data(&self) -> String {
        let MountSource::Tmpfs {
            size,
            mode,
            options,
        } = &self.source
        else {
            return String::new();
        };
        let mut parts = Vec::new();
        if self.read_only && self.origin == Origin::MountFlag {
            parts.push("ro".to_string());
        }
        if let Some(mode) = mode.filter(|m| *m != 0) {
            parts.push(format!("mode={mode:o}"));
        }
        if let Some(size) = size.filter(|s| *s != 0) {
            let (n, suffix) = [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)]
                .iter()
                .find(|(_, d)| size % d == 0)
                .map_or((size, ""), |(s, d)| (size / d, *s));
            parts.push(format!("size={n}{suffix}"));
        }
        if !options.is_empty() {
            parts.push(options.clone());
        }
        parts.join(",")
    }
}

fn invalid(msg: impl Into<String>) -> VolumeError {
    VolumeError::InvalidSpec(msg.into())
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

fn mount_config(kind: &str, msg: impl std::fmt::Display) -> String {
    format!("invalid mount config for type \"{kind}\": {msg}")
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "slave", "rslave", "shared", "rshared",
];
const RW_MODES: [&str; 5] = ["rw", "ro", "ro-non-recursive", "ro-force-recursive", "rro"];
const CONSISTENCY: [&str; 4] = ["consistent", "cached", "delegated", "default"];

/// dockerd's `linuxValidMountMode`: each comma-separated word known, at most
/// one of each kind.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 7];
    for word in mode.split(',') {
        // podman's `idmap` (an idmapped mount) and `U` (chown the source to
        // the container's user), applied at start (berth-engine).
        let kind = if word == "idmap" {
            5
        } else if word == "U" {
            6
        } else if RW_MODES.contains(&word) {
            0
        } else if word == "z" || word == "Z" {
            1
        } else if PROPAGATIONS.contains(&word) {
            2
        } else if word == "nocopy" {
            3
        } else if CONSISTENCY.contains(&word) {
            4
        } else {
            return false;
        };
        counts[kind] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

fn mode_words(mode: &str) -> impl Iterator<Item = &str> {
    mode.split(',').filter(|w| !w.is_empty())
}

fn is_read_only_word(word: &str) -> bool {
    RW_MODES.contains(&word) && word != "rw"
}

use berth_archive::clean_path as clean;

/// dockerd's checks of a destination: present, not "/", absolute.
fn check_destination(kind: &str, target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err(mount_config(kind, "field Target must not be empty"));
    }
    if clean(target) == "/" {
        return Err(mount_config(
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    if !target.starts_with('/') {
        return Err(mount_config(
            kind,
            format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    Ok(())
}

/// The docker CLI's conversion of `./x`-style host paths to absolute ones.
fn absolutize(source: &str) -> String {
    if source.starts_with('.') {
        if let Ok(cwd) = std::env::current_dir() {
            return clean(&cwd.join(source).to_string_lossy());
        }
    }
    source.to_string()
}

/// `-v` / `--volume`: `NAME:/dst[:mode]`, `/host:/dst[:mode]` or `/dst`.
pub fn parse_volume_flag(s: &str) -> Result<MountSpec, VolumeError> {
    let flag_error = |reason: String| VolumeError::InvalidFlag {
        flag: "--volume",
        value: s.to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(flag_error("invalid empty volume spec".into()));
    }
    let sections: Vec<&str> = s.split(':').collect();
    if sections.len() > 1 && sections.iter().any(|p| p.is_empty()) {
        return Err(flag_error(format!(
            "invalid spec: {s}: empty section between colons"
        )));
    }
    if sections.len() > 3 {
        return Err(invalid(invalid_spec(s)));
    }
    let (source, target, mode) = match sections.as_slice() {
        [target] => (String::new(), target.to_string(), ""),
        [source, target] => {
            if valid_mode(target) {
                // "/dst:ro" — an anonymous volume cannot take a mode.
                return Err(invalid(invalid_spec(s)));
            }
            (absolutize(source), target.to_string(), "")
        }
        [source, target, mode] => (absolutize(source), target.to_string(), *mode),
        _ => return Err(invalid(invalid_spec(s))),
    };
    if !valid_mode(mode) {
        return Err(invalid(format!("invalid mode: {mode}")));
    }
    let is_bind = source.starts_with('/');
    let kind = if is_bind { "bind" } else { "volume" };
    let with_raw = |msg: String| invalid(format!("{}: {msg}", invalid_spec(s)));
    check_destination(kind, &target).map_err(with_raw)?;
    let propagation = mode_words(mode)
        .find(|w| PROPAGATIONS.contains(w))
        .map(str::to_string);
    let nocopy = mode_words(mode).any(|w| w == "nocopy");
    let read_only = mode_words(mode).any(is_read_only_word);
    let selinux_label = mode_words(mode)
        .find(|w| *w == "z" || *w == "Z")
        .map(str::to_string);
    let source = if is_bind {
        if nocopy {
            return Err(with_raw(mount_config(
                kind,
                "field VolumeOptions must not be specified",
            )));
        }
        MountSource::Bind {
            host: PathBuf::from(clean(&source)),
            create_missing: true,
            recursive: true,
            read_only_non_recursive: mode_words(mode).any(|w| w == "ro-non-recursive"),
        }
    } else {
        if propagation.is_some() {
            return Err(with_raw(mount_config(
                kind,
                "field BindOptions must not be specified",
            )));
        }
        let name = if source.is_empty() {
            None
        } else {
            crate::validate_name(&source)?;
            Some(source)
        };
        MountSource::Volume {
            name,
            nocopy,
            driver: None,
            driver_opts: BTreeMap::new(),
            labels: BTreeMap::new(),
            subpath: None,
        }
    };
    let mode_string = match &source {
        MountSource::Volume { name: Some(_), .. } if mode.is_empty() => "z".to_string(),
        _ => mode.to_string(),
    };
    Ok(MountSpec {
        source,
        destination: clean(&target),
        read_only,
        propagation,
        selinux_label,
        mode_string,
        origin: Origin::VolumeFlag,
    })
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// go-units `RAMInBytes`: "64m", "1.5g", "512k", "100" (binary multiples).
pub fn ram_in_bytes(v: &str) -> Option<u64> {
    let lower = v.trim().to_ascii_lowercase();
    let number_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim_start_matches(' ');
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let multiplier: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return None,
    };
    Some((number * multiplier as f64) as u64)
}

/// `--mount type=...,source=...,target=...[,options]`: the docker CLI's
/// reading of the flag, then dockerd's validation of the mount it describes.
pub fn parse_mount_flag(s: &str) -> Result<MountSpec, VolumeError> {
    validate_mount(&parse_mount_request(s)?)
}

/// `--mount ...`, a CSV record, read as the docker CLI reads it into the
/// API's mount description (nothing is validated beyond the flag's grammar).
pub fn parse_mount_request(s: &str) -> Result<MountRequest, VolumeError> {
    let flag_error = |reason: String| VolumeError::InvalidFlag {
        flag: "--mount",
        value: s.to_string(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(s.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(flag_error("target is required".into())),
        Err(e) => return Err(flag_error(format!("parse error: {e}"))),
    }

    let mut m = MountRequest {
        kind: "volume".into(),
        ..Default::default()
    };
    let set_map = |map: &mut BTreeMap<String, String>, v: &str| {
        let (k, v) = v.split_once('=').unwrap_or((v, ""));
        if !k.is_empty() {
            map.insert(k.to_string(), v.to_string());
        }
    };
    for field in record.iter() {
        let Some((key, value)) = field.split_once('=') else {
            match field {
                "readonly" | "ro" => m.read_only = true,
                "volume-nocopy" => m.volume_options().no_copy = true,
                "bind-nonrecursive" => m.bind_options().non_recursive = true,
                _ => {
                    return Err(flag_error(format!(
                        "invalid field '{field}' must be a key=value pair"
                    )))
                }
            }
            continue;
        };
        let bad_value = || flag_error(format!("invalid value for {key}: {value}"));
        match key {
            "type" => m.kind = value.to_ascii_lowercase(),
            "source" | "src" => {
                m.source = if value == "." || value.starts_with("./") {
                    absolutize(value)
                } else {
                    value.to_string()
                }
            }
            "target" | "dst" | "destination" => m.target = value.to_string(),
            "readonly" | "ro" => m.read_only = parse_bool(value).ok_or_else(bad_value)?,
            "consistency" => {}
            "bind-propagation" => {
                m.bind_options().propagation = Some(value.to_ascii_lowercase());
            }
            "bind-nonrecursive" => {
                m.bind_options().non_recursive = parse_bool(value).ok_or_else(bad_value)?;
            }
            "volume-nocopy" => {
                m.volume_options().no_copy = parse_bool(value).ok_or_else(|| {
                    flag_error(format!("invalid value for volume-nocopy: {value}"))
                })?;
            }
            "volume-label" => set_map(&mut m.volume_options().labels, value),
            "volume-driver" => m.volume_options().driver_config().name = value.to_string(),
            "volume-opt" => set_map(&mut m.volume_options().driver_config().options, value),
            "volume-subpath" => m.volume_options().subpath = value.to_string(),
            "image-subpath" => m.image_options().subpath = value.to_string(),
            "tmpfs-size" => {
                m.tmpfs_options().size_bytes = Some(ram_in_bytes(value).ok_or_else(bad_value)?);
            }
            "tmpfs-mode" => {
                m.tmpfs_options().mode =
                    Some(u32::from_str_radix(value, 8).map_err(|_| bad_value())?);
            }
            _ => return Err(flag_error(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    // Docker quirk: the docker CLI creates an empty DriverConfig along with
    // any volume option, and dockerd shows it back in HostConfig.Mounts.
    if let Some(options) = &mut m.volume_options {
        options.driver_config();
    }
    if m.kind.is_empty() {
        return Err(flag_error("type is required".into()));
    }
    if m.target.is_empty() {
        return Err(flag_error("target is required".into()));
    }
    for (present, family) in [
        (m.volume_options.is_some(), "volume"),
        (m.bind_options.is_some(), "bind"),
        (m.tmpfs_options.is_some(), "tmpfs"),
        (m.image_options.is_some(), "image"),
    ] {
        if present && m.kind != family {
            return Err(flag_error(format!(
                "cannot mix '{family}-*' options with mount type '{}'",
                m.kind
            )));
        }
    }
    Ok(m)
}

/// dockerd's validation of a mount (`HostConfig.Mounts[]`, or what
/// `--mount` said): the spec to apply, or Docker's refusal.
pub fn validate_mount(m: &MountRequest) -> Result<MountSpec, VolumeError> {
    let kind = m.kind.as_str();
    check_destination(kind, &m.target).map_err(invalid)?;
    let source = &m.source;
    let propagation = m.bind_options.as_ref().and_then(|b| b.propagation.clone());
    let source = match kind {
        "bind" => {
            if source.is_empty() {
                return Err(invalid(mount_config(
                    kind,
                    "field Source must not be empty",
                )));
            }
            if let Some(p) = propagation.as_deref().filter(|p| !PROPAGATIONS.contains(p)) {
                return Err(invalid(mount_config(
                    kind,
                    format!("invalid propagation mode: {p}"),
                )));
            }
            if !source.starts_with('/') {
                return Err(invalid(mount_config(
                    kind,
                    format!("invalid mount path: '{source}' mount path must be absolute"),
                )));
            }
            match std::fs::symlink_metadata(source) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(invalid(mount_config(
                        kind,
                        format!("bind source path does not exist: {source}"),
                    )))
                }
                Err(e) => return Err(invalid(mount_config(kind, e))),
            }
            let read_only_non_recursive = m
                .bind_options
                .as_ref()
                .is_some_and(|b| b.read_only_non_recursive);
            if read_only_non_recursive && !m.read_only {
                // dockerd's words.
                return Err(invalid(mount_config(
                    kind,
                    "field BindOptions.ReadOnlyNonRecursive must not be specified",
                )));
            }
            MountSource::Bind {
                host: PathBuf::from(clean(source)),
                create_missing: false,
                recursive: !m.bind_options.as_ref().is_some_and(|b| b.non_recursive),
                read_only_non_recursive,
            }
        }
        "volume" => {
            if m.read_only && source.is_empty() {
                return Err(invalid(mount_config(
                    kind,
                    "must not set ReadOnly mode when using anonymous volumes",
                )));
            }
            let name = if source.is_empty() {
                None
            } else {
                crate::validate_name(source)?;
                Some(source.clone())
            };
            let options = m.volume_options.clone().unwrap_or_default();
            let subpath = match options.subpath.as_str() {
                "" => None,
                _ if name.is_none() => {
                    return Err(invalid(mount_config(
                        kind,
                        "must not set Subpath when using anonymous volumes",
                    )))
                }
                sub if !is_local(sub) => {
                    return Err(invalid(mount_config(
                        kind,
                        "subpath must be a relative path within the volume",
                    )))
                }
                sub => Some(clean(sub)),
            };
            let driver = options.driver_config.unwrap_or_default();
            MountSource::Volume {
                name,
                nocopy: options.no_copy,
                driver: (!driver.name.is_empty()).then_some(driver.name),
                driver_opts: driver.options,
                labels: options.labels,
                subpath,
            }
        }
        "tmpfs" => {
            if !source.is_empty() {
                return Err(invalid(mount_config(
                    kind,
                    "field Source must not be specified",
                )));
            }
            let options = m.tmpfs_options.clone().unwrap_or_default();
            MountSource::Tmpfs {
                size: options.size_bytes,
                mode: options.mode,
                options: String::new(),
            }
        }
        "image" => {
            // dockerd 28: a source, a local subpath; always read-only.
            if source.is_empty() {
                return Err(invalid(mount_config(
                    kind,
                    "field Source must not be empty",
                )));
            }
            let subpath = match m.image_options.as_ref().map_or("", |o| o.subpath.as_str()) {
                "" => None,
                sub if !is_local(sub) => {
                    return Err(invalid(mount_config(
                        kind,
                        "subpath must be a relative path within the volume",
                    )))
                }
                sub => Some(clean(sub)),
            };
            MountSource::Image {
                reference: source.clone(),
                subpath,
            }
        }
        _ => return Err(invalid(mount_config(kind, "mount type unknown"))),
    };
    // dockerd's validateExclusiveOptions, for image mounts (the other
    // types' options were never checked here: kept as before).
    for (present, family, field) in [
        (m.bind_options.is_some(), "bind", "BindOptions"),
        (m.volume_options.is_some(), "volume", "VolumeOptions"),
        (m.tmpfs_options.is_some(), "tmpfs", "TmpfsOptions"),
        (m.image_options.is_some(), "image", "ImageOptions"),
    ] {
        if present && kind != family && (kind == "image" || family == "image") {
            return Err(invalid(mount_config(
                kind,
                format!("field {field} must not be specified"),
            )));
        }
    }
    let mode_string = if matches!(source, MountSource::Volume { .. }) {
        "z"
    } else {
        ""
    };
    // An image mount is read-only whatever was asked (dockerd: RW = false).
    let read_only = m.read_only || matches!(source, MountSource::Image { .. });
    Ok(MountSpec {
        source,
        destination: clean(&m.target),
        read_only,
        propagation,
        selinux_label: None,
        mode_string: mode_string.into(),
        origin: Origin::MountFlag,
    })
}

/// Go's `filepath.IsLocal`: relative, not empty, and not leaving its base
/// by its words (`a/../b` is local, `a/../../b` is not).
fn is_local(path: &str) -> bool {
    if path.is_empty() || path.starts_with('/') {
        return false;
    }
    let cleaned = clean(path);
    cleaned != ".." && !cleaned.starts_with("../")
}

/// `--tmpfs /dst[:OPTIONS]`; the options go to the kernel as written.
pub fn parse_tmpfs_flag(s: &str) -> Result<MountSpec, VolumeError> {
    let (target, options) = s.split_once(':').unwrap_or((s, ""));
    if clean(target) == "/" {
        return Err(invalid("invalid specification: destination can't be '/'"));
    }
    if !target.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    let read_only = options.split(',').any(|o| o == "ro");
    Ok(MountSpec {
        source: MountSource::Tmpfs {
            size: None,
            mode: None,
            options: options.to_string(),
        },
        destination: clean(target),
        read_only,
        propagation: None,
        selinux_label: None,
        mode_string: String::new(),
        origin: Origin::TmpfsFlag,
    })
}

/// `--volumes-from CONTAINER[:ro|rw]`: the container, and the access asked
/// for (`None`: each mount keeps the mode it has in that container).
pub fn parse_volumes_from(s: &str) -> Result<(String, Option<bool>), VolumeError> {
    if s.is_empty() {
        return Err(invalid(
            "volumes-from specification cannot be an empty string",
        ));
    }
    let (container, mode) = s.split_once(':').unwrap_or((s, ""));
    if mode.is_empty() {
        return Ok((container.to_string(), None));
    }
    let bad = || invalid(format!("invalid mode: {mode}"));
    if !valid_mode(mode) {
        return Err(bad());
    }
    // Propagation and copy modes belong to the original mounts.
    if mode_words(mode).any(|w| PROPAGATIONS.contains(&w) || ["nocopy", "idmap", "U"].contains(&w))
    {
        return Err(bad());
    }
    let read_only = mode_words(mode)
        .find(|w| RW_MODES.contains(w))
        .map(is_read_only_word);
    Ok((container.to_string(), read_only))
}

/// Precedence of a spec when several target one destination.
fn rank(spec: &MountSpec) -> u8 {
    match (&spec.origin, &spec.source) {
        (Origin::ImageVolume, _) => 0,
        (Origin::VolumeFlag, MountSource::Volume { name: None, .. }) => 1,
        (Origin::VolumesFrom, _) => 2,
        _ => 3,
    }
}

/// Combines one container's specs: for each destination the highest-ranking
/// spec stays (explicit > `--volumes-from` > anonymous `-v /dst` > image
/// `VOLUME`); two explicit specs on one destination are Docker's
/// "Duplicate mount point" error. Order of first appearance is kept.
pub fn resolve(specs: Vec<MountSpec>) -> Result<Vec<MountSpec>, VolumeError> {
    let mut kept: Vec<MountSpec> = Vec::with_capacity(specs.len());
    for spec in specs {
        match kept.iter_mut().find(|k| k.destination == spec.destination) {
            None => kept.push(spec),
            Some(existing) => {
                let (old, new) = (rank(existing), rank(&spec));
                if old == 3 && new == 3 {
                    return Err(invalid(format!(
                        "Duplicate mount point: {}",
                        spec.destination
                    )));
                }
                if new > old {
                    *existing = spec;
                }
            }
        }
    }
    Ok(kept)
}

/// Fails with "Duplicate mount point: /x" if two explicit specs share a destination.
pub fn check_duplicates(specs: &[MountSpec]) -> Result<(), VolumeError> {
    resolve(specs.to_vec()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_path_clean() {
        for (input, want) in [
            ("/a/b/../c", "/a/c"),
            ("/../x", "/x"),
            ("/a//b/", "/a/b"),
            ("/", "/"),
            ("a/../..", ".."),
            ("./", "."),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
    }

    #[test]
    fn is_local_matches_go() {
        for (path, want) in [
            ("a/b", true),
            ("a/../b", true),
            (".", true),
            ("", false),
            ("/a", false),
            ("..", false),
            ("a/../../b", false),
            ("../a", false),
        ] {
            assert_eq!(is_local(path), want, "{path}");
        }
    }

    #[test]
    fn ram_in_bytes_matches_go_units() {
        assert_eq!(ram_in_bytes("64m"), Some(64 << 20));
        assert_eq!(ram_in_bytes("64MB"), Some(64 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("512"), Some(512));
        assert_eq!(ram_in_bytes("10 KiB"), Some(10 << 10));
        assert_eq!(ram_in_bytes("abc"), None);
        assert_eq!(ram_in_bytes("1x"), None);
    }
}

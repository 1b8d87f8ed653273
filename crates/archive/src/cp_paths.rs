//! `docker cp`'s path rules as Docker's Go code states them: Go's
//! `os.FileMode` bits for a stat header, and `path.Clean`/`Base`/`Dir` with
//! the trailing-separator and "/." conventions that decide where a copy lands.

use rustix::fs::FileType;

pub(crate) const GO_MODE_DIR: u32 = 1 << 31;
pub(crate) const GO_MODE_SYMLINK: u32 = 1 << 27;
pub(crate) const GO_MODE_DEVICE: u32 = 1 << 26;
pub(crate) const GO_MODE_NAMED_PIPE: u32 = 1 << 25;
pub(crate) const GO_MODE_SOCKET: u32 = 1 << 24;
pub(crate) const GO_MODE_SETUID: u32 = 1 << 23;
pub(crate) const GO_MODE_SETGID: u32 = 1 << 22;
pub(crate) const GO_MODE_CHAR_DEVICE: u32 = 1 << 21;
pub(crate) const GO_MODE_STICKY: u32 = 1 << 20;

/// Unix st_mode → Go's os.FileMode, as Docker serializes it.
pub(crate) fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    mode |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => GO_MODE_DIR,
        FileType::Symlink => GO_MODE_SYMLINK,
        FileType::Fifo => GO_MODE_NAMED_PIPE,
        FileType::Socket => GO_MODE_SOCKET,
        FileType::CharacterDevice => GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE,
        FileType::BlockDevice => GO_MODE_DEVICE,
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        mode |= GO_MODE_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        mode |= GO_MODE_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= GO_MODE_STICKY;
    }
    mode
}

// ---- Go path helpers: Docker's rules are phrased in terms of filepath.Clean/Dir/Base/Split. ----

/// Go's `path.Clean` for slash paths: lexical, no file system access. Docker
/// phrases its path rules (cp, build context, mount specs) in these terms.
pub fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

pub(crate) fn go_base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            ".".into()
        } else {
            "/".into()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

pub(crate) fn go_dir(path: &str) -> String {
    let dir = match path.rfind('/') {
        Some(slash) => &path[..=slash],
        None => "",
    };
    go_clean(dir)
}

pub(crate) fn specifies_current_dir(path: &str) -> bool {
    go_base(path) == "."
}

pub(crate) fn has_trailing_separator(path: &str) -> bool {
    path.ends_with('/')
}

pub(crate) fn asserts_directory(path: &str) -> bool {
    has_trailing_separator(path) || specifies_current_dir(path)
}

/// archive.SplitPathDirEntry.
pub(crate) fn split_path_dir_entry(path: &str) -> (String, String) {
    let mut cleaned = go_clean(path);
    if specifies_current_dir(path) && cleaned != "." && !cleaned.ends_with("/.") {
        cleaned.push_str(if cleaned.ends_with('/') { "." } else { "/." });
    }
    (go_dir(&cleaned), go_base(&cleaned))
}

/// The container path as Docker sees it: absolute, cleaned, but keeping a trailing "/" or "/.".
pub(crate) fn container_abs_path(path: &str) -> String {
    let cleaned = go_clean(&format!("/{path}"));
    if (path == "." || path.ends_with("/.")) && !cleaned.ends_with('.') {
        if cleaned == "/" {
            "/.".into()
        } else {
            format!("{cleaned}/.")
        }
    } else if path.ends_with('/') && cleaned != "/" {
        format!("{cleaned}/")
    } else {
        cleaned
    }
}

/// A name usable as a tar entry: "/" (the container root) becomes ".".
pub(crate) fn tar_top_name(name: &str) -> String {
    if name == "/" {
        ".".into()
    } else {
        name.to_string()
    }
}

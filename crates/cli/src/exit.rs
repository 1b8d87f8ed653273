//! The one place where errors become exit codes and messages.
//!
//! Docker's convention: 125 when the engine itself fails (and for usage errors),
//! 126 when the container command cannot be invoked, 127 when it is not found,
//! otherwise the container's own exit status; plain management commands
//! (`rmi`, `volume rm`...) exit 1 on failure.

/// Usage errors and engine failures of `run`/`create`.
pub const USAGE: i32 = 125;
/// A management command failed.
pub const FAILURE: i32 = 1;

/// An error that must exit with a specific status (e.g. 126/127 from `run`).
#[derive(Debug)]
pub struct StatusError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// Prints an error the way the docker CLI does (one line, `Error: ` prefix, the
/// causes joined with `: `) and returns the process exit status.
pub fn report(result: anyhow::Result<i32>, failure_code: i32) -> i32 {
    match result {
        Ok(code) => code,
        Err(err) => {
            let code = err
                .downcast_ref::<StatusError>()
                .map(|s| s.code)
                .unwrap_or(failure_code);
            let message = one_line(&err);
            if !message.is_empty() {
                eprintln!("{}{message}", prefix(&err));
            }
            code
        }
    }
}

/// Docker's CLI prints engine errors as "Error response from daemon: ..." and
/// its own (client-side) ones as "Error: ...". berth has no daemon, but
/// scripts match on these words, so an error raised by an engine library
/// crate gets the daemon prefix.
pub fn prefix(err: &anyhow::Error) -> &'static str {
    let from_engine = err.chain().any(|c| {
        c.is::<berth_engine::Error>()
            || c.is::<berth_container::ContainerError>()
            || c.is::<berth_image::ImageError>()
            || c.is::<berth_volume::VolumeError>()
            || c.is::<berth_network::NetworkError>()
            || c.is::<berth_registry::RegistryError>()
    });
    if from_engine {
        "Error response from daemon: "
    } else {
        "Error: "
    }
}

/// The error and its causes joined with ": ", skipping a cause whose text the
/// message already carries (library errors often embed their source).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading /x: {0}")]
    struct Embeds(#[source] std::io::Error);

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::Other, "truncated");
        let err = anyhow::Error::new(Embeds(io)).context("loading image");
        assert_eq!(one_line(&err), "loading image: reading /x: truncated");
    }
}

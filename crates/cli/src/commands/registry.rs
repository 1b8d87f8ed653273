//! Registry commands: `pull`, `push`, `login`, `logout` — Docker's flags,
//! output and exit codes over the engine's image operations. Credentials are
//! the docker CLI's (`$DOCKER_CONFIG/config.json`, default
//! `~/.docker/config.json`), which this front end reads and writes; progress
//! is rendered here, as the docker CLI renders it.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::sync::Mutex;

use anyhow::{bail, Result};
use berth_engine::image::{
    default_config_path, server_key, Credentials, DockerConfig, LayerStatus, Progress,
    ProgressEvent, PullOptions, PushOptions, Reference, DOCKER_HUB_KEY,
};
use berth_engine::Engine;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Ctx;

#[derive(Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, env = "DOCKER_DEFAULT_PLATFORM")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Skip image verification (accepted for compatibility; berth does not sign)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    disable_content_trust: bool,
    /// NAME[:TAG|@DIGEST]
    name: String,
}

#[derive(Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short, long)]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Skip image signing (accepted for compatibility; berth does not sign)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    disable_content_trust: bool,
    /// NAME[:TAG]
    name: String,
}

#[derive(Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    /// SERVER (default: Docker Hub)
    server: Option<String>,
}

#[derive(Args)]
pub struct LogoutArgs {
    /// SERVER (default: Docker Hub)
    server: Option<String>,
}

fn progress(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Quiet)
    } else if std::io::stdout().is_terminal() {
        Box::new(Rendered(TerminalProgress::new()))
    } else {
        Box::new(Rendered(PlainProgress::new(std::io::stdout())))
    }
}

pub(super) fn docker_config() -> Result<DockerConfig> {
    Ok(DockerConfig::load(&default_config_path())?)
}

pub fn pull(ctx: &Ctx, args: PullArgs) -> Result<i32> {
    let config = docker_config()?;
    let request = PullOptions {
        name: args.name,
        all_tags: args.all_tags,
        platform: args.platform.filter(|p| !p.is_empty()),
    };
    let progress = progress(args.quiet);
    ctx.engine()?
        .image_pull(&request, &config, progress.as_ref())?;
    drop(progress);
    // As the docker CLI, the reference pulled (the repository with -a).
    let reference = Reference::parse(&request.name)?;
    if request.all_tags {
        println!("{}", reference.name());
    } else {
        println!("{}", reference.with_default_tag());
    }
    Ok(0)
}

pub fn push(ctx: &Ctx, args: PushArgs) -> Result<i32> {
    let config = docker_config()?;
    let request = PushOptions {
        name: args.name,
        all_tags: args.all_tags,
    };
    let progress = progress(args.quiet);
    let pushed = ctx
        .engine()?
        .image_push(&request, &config, progress.as_ref())?;
    drop(progress);
    if args.quiet {
        let name = Reference::parse(&request.name)?;
        for p in &pushed {
            println!("{}:{}", name.familiar_name(), p.tag);
        }
    }
    Ok(0)
}

pub fn login(_ctx: &Ctx, args: LoginArgs) -> Result<i32> {
    if args.password.is_some() && args.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    if args.password_stdin && args.username.is_none() {
        bail!("Must provide --username with --password-stdin");
    }
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    let mut config = docker_config()?;

    // No flags and stored credentials: try those first, as the docker CLI does.
    if args.username.is_none() && args.password.is_none() && !args.password_stdin {
        if let Some(stored) = config.get(&server)? {
            println!("Authenticating with existing credentials...");
            if Engine::registry_login(&server, &stored).is_ok() {
                println!("Login Succeeded");
                return Ok(0);
            }
        }
    }
    if args.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let password = if args.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Some(text.trim_end_matches(['\n', '\r']).to_string())
    } else {
        args.password.clone()
    };
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username.clone().filter(|u| !u.trim().is_empty()) {
        Some(u) => u.trim().to_string(),
        None => {
            if !interactive {
                bail!("Cannot perform an interactive login from a non TTY device");
            }
            let u = prompt("Username: ", true)?;
            if u.is_empty() {
                bail!("Username cannot be empty");
            }
            u
        }
    };
    let password = match password.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            if !interactive {
                bail!("Cannot perform an interactive login from a non TTY device");
            }
            let p = prompt("Password: ", false)?;
            if p.is_empty() {
                bail!("Password Required");
            }
            p
        }
    };
    let credentials = Credentials { username, password };
    let key = Engine::registry_login(&server, &credentials)?;
    // Kept only once the registry accepted them, as the docker CLI does.
    config.set(&key, &credentials);
    config.save()?;
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.",
        config.path().display()
    );
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(_ctx: &Ctx, args: LogoutArgs) -> Result<i32> {
    let server = args.server.unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    let key = server_key(&server);
    let mut config = docker_config()?;
    if config.remove(&key) {
        config.save()?;
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(0)
}

/// Reads one line from the terminal; without echo for passwords.
fn prompt(label: &str, echo: bool) -> Result<String> {
    use std::os::fd::AsRawFd;
    print!("{label}");
    std::io::stdout().flush()?;
    let fd = std::io::stdin().as_raw_fd();
    // SAFETY: termios calls on our own stdin with local structs; the saved
    // attributes are restored before returning.
    let saved = unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if !echo && libc::tcgetattr(fd, &mut saved) == 0 {
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(fd, libc::TCSANOW, &quiet);
            Some(saved)
        } else {
            None
        }
    };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if let Some(saved) = saved {
        // SAFETY: restoring the attributes read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        println!();
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).trim().to_string())
}

// ---------------------------------------------------------------- progress

/// The docker CLI's line for an event of its own (not a layer's).
fn line_of(event: &ProgressEvent) -> Option<String> {
    Some(match *event {
        ProgressEvent::Layer { .. } => return None,
        ProgressEvent::DefaultTag { tag } => format!("Using default tag: {tag}"),
        ProgressEvent::PullingFrom { tag, repository } => {
            format!("{tag}: Pulling from {repository}")
        }
        ProgressEvent::Digest { digest } => format!("Digest: {digest}"),
        ProgressEvent::Status {
            reference,
            up_to_date,
        } => {
            let status = if up_to_date {
                "Image is up to date for"
            } else {
                "Downloaded newer image for"
            };
            format!("Status: {status} {reference}")
        }
        ProgressEvent::PushRefersTo { repository } => {
            format!("The push refers to repository [{repository}]")
        }
        ProgressEvent::Pushed { tag, digest, size } => {
            format!("{tag}: digest: {digest} size: {size}")
        }
    })
}

/// `-q`: nothing while working.
struct Quiet;

impl Progress for Quiet {
    fn event(&self, _event: ProgressEvent<'_>) {}
}

/// Prints layer statuses and lines as the docker CLI does.
trait Render: Send + Sync {
    /// A layer's status changed.
    fn layer(&self, id: &str, status: LayerStatus);
    /// A line of its own.
    fn line(&self, text: &str);
}

/// The engine's progress events, rendered.
struct Rendered<R>(R);

impl<R: Render> Progress for Rendered<R> {
    fn event(&self, event: ProgressEvent<'_>) {
        match event {
            ProgressEvent::Layer { id, status } => self.0.layer(id, status),
            other => {
                if let Some(line) = line_of(&other) {
                    self.0.line(&line);
                }
            }
        }
    }
}

/// Plain lines: each layer status once, progress updates not at all.
struct PlainProgress<W: Write + Send> {
    out: Mutex<W>,
    last: Mutex<HashMap<String, &'static str>>,
}

impl<W: Write + Send> PlainProgress<W> {
    fn new(out: W) -> Self {
        PlainProgress {
            out: Mutex::new(out),
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl<W: Write + Send> Render for PlainProgress<W> {
    fn layer(&self, id: &str, status: LayerStatus) {
        // The docker CLI drops progress messages when not on a terminal.
        if status.bytes().is_some() {
            return;
        }
        let text = status.text();
        if let Ok(mut last) = self.last.lock() {
            if last.get(id) == Some(&text) {
                return;
            }
            last.insert(id.to_string(), text);
        }
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{id}: {text}");
            let _ = out.flush();
        }
    }

    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Live bars on a terminal (stdout), one line per layer.
struct TerminalProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl TerminalProgress {
    fn new() -> Self {
        TerminalProgress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn status_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix}: {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }

    fn bar_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix}: {msg:<11} [{bar:50}] {bytes:>9}/{total_bytes}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

impl Render for TerminalProgress {
    fn layer(&self, id: &str, status: LayerStatus) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(id.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(Self::status_style());
            bar.set_prefix(id.to_string());
            bar
        });
        bar.set_message(status.text());
        match status.bytes() {
            Some((done, total)) => {
                bar.set_style(Self::bar_style());
                bar.set_length(total.max(done));
                bar.set_position(done);
            }
            None => bar.set_style(Self::status_style()),
        }
        if matches!(
            status,
            LayerStatus::AlreadyExists
                | LayerStatus::PullComplete
                | LayerStatus::Pushed
                | LayerStatus::LayerAlreadyExists
                | LayerStatus::Mounted
        ) {
            bar.tick();
        }
    }

    fn line(&self, text: &str) {
        // Lines of their own start a new set of layer lines below them.
        if let Ok(mut bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
            bars.clear();
        }
        let _ = self.multi.println(text);
        if self.multi.is_hidden() {
            println!("{text}");
        }
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

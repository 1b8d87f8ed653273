//! Registry commands: `pull`, `push`, `login`, `logout` — Docker's flags,
//! output and exit codes over berth-registry. Credentials are the docker
//! CLI's (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`).

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{bail, Result};
use berth_registry::{
    credentials, Credentials, DockerConfig, LayerStatus, PlainProgress, Progress, PullOptions,
    PushOptions, RegistrySettings, TerminalProgress,
};
use clap::Args;

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

/// `-q`: nothing while working.
struct Quiet;

impl Progress for Quiet {
    fn layer(&self, _id: &str, _status: LayerStatus) {}
    fn line(&self, _text: &str) {}
}

fn progress(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Quiet)
    } else if std::io::stdout().is_terminal() {
        Box::new(TerminalProgress::new())
    } else {
        Box::new(PlainProgress::new(std::io::stdout()))
    }
}

fn docker_config() -> Result<DockerConfig> {
    Ok(DockerConfig::load(&credentials::default_config_path())?)
}

pub fn pull(ctx: &Ctx, args: PullArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let settings = RegistrySettings::from_env()?;
    let config = docker_config()?;
    let opts = PullOptions {
        name: args.name,
        all_tags: args.all_tags,
        platform: args.platform.filter(|p| !p.is_empty()),
    };
    let progress = progress(args.quiet);
    let pulled = berth_registry::pull(&mut store, &settings, &config, &opts, progress.as_ref())?;
    drop(progress);
    if args.quiet {
        match (opts.all_tags, pulled.last()) {
            (false, Some(p)) => println!("{}", p.reference),
            (true, Some(_)) => {
                let name = berth_image::Reference::parse(&opts.name)?.name();
                println!("{name}");
            }
            _ => {}
        }
    }
    Ok(0)
}

pub fn push(ctx: &Ctx, args: PushArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let settings = RegistrySettings::from_env()?;
    let config = docker_config()?;
    let opts = PushOptions {
        name: args.name,
        all_tags: args.all_tags,
    };
    let progress = progress(args.quiet);
    let pushed = berth_registry::push(&mut store, &settings, &config, &opts, progress.as_ref())?;
    drop(progress);
    if args.quiet {
        let name = berth_image::Reference::parse(&opts.name)?;
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
        .unwrap_or_else(|| credentials::DOCKER_HUB_KEY.to_string());
    let settings = RegistrySettings::from_env()?;
    let mut config = docker_config()?;

    // No flags and stored credentials: try those first, as the docker CLI does.
    if args.username.is_none() && args.password.is_none() && !args.password_stdin {
        if let Some(stored) = config.get(&server)? {
            println!("Authenticating with existing credentials...");
            if berth_registry::login(&settings, &mut config, &server, &stored).is_ok() {
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
    berth_registry::login(
        &settings,
        &mut config,
        &server,
        &Credentials { username, password },
    )?;
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.",
        config.path().display()
    );
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(_ctx: &Ctx, args: LogoutArgs) -> Result<i32> {
    let server = args
        .server
        .unwrap_or_else(|| credentials::DOCKER_HUB_KEY.to_string());
    let key = credentials::server_key(&server);
    let mut config = docker_config()?;
    if berth_registry::logout(&mut config, &key)? {
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

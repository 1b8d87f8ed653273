//! The `berth` command: Docker's CLI grammar over berth's library crates.
//! It keeps no state of its own; every command opens the store, acts, and exits.

mod commands;
mod exit;
mod format;
mod progress;
mod rootless;
mod term;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use commands::{container, image, network, plugin, registry, system, volume};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "A container engine that speaks Docker",
    disable_help_subcommand = true
)]
struct Cli {
    /// State root (images, containers, volumes, metadata) [default:
    /// /var/lib/berth; rootless: $XDG_DATA_HOME/berth]
    #[arg(long, global = true, env = "BERTH_ROOT")]
    root: Option<PathBuf>,
    /// Run directory, on a tmpfs: network namespaces, netavark's and the OCI
    /// runtime's state (bridges' address leases stay host-wide in the default)
    /// [default: /run/berth; rootless: $XDG_RUNTIME_DIR/berth]
    #[arg(long, global = true, env = "BERTH_RUN_DIR")]
    run_dir: Option<PathBuf>,
    /// OCI runtime: crun (the default where it is installed), runc, youki, or a path.
    #[arg(long, global = true, env = "BERTH_RUNTIME")]
    runtime: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// What every command gets: where the state lives and which runtime to use.
pub struct Ctx {
    pub root: PathBuf,
    pub run_dir: PathBuf,
    pub runtime: String,
    /// A rootless berth's default `berth serve` socket.
    pub rootless_socket: Option<PathBuf>,
}

impl Ctx {
    /// The engine's configuration: the state root, the run directory, and
    /// `--runtime` as the runtime new containers are created with.
    pub fn config(&self) -> berth_engine::Config {
        berth_engine::Config {
            root: self.root.clone(),
            run_dir: self.run_dir.clone(),
            default_runtime: self.runtime.clone(),
        }
    }

    /// The engine every command runs through.
    /// A root it refuses as a whole (a newer berth's) exits 125, as
    /// Docker's CLI does when the engine itself fails.
    pub fn engine(&self) -> anyhow::Result<berth_engine::Engine> {
        berth_engine::Engine::open(self.config()).map_err(|e| {
            if e.refuses_root() {
                anyhow::Error::new(exit::StatusError {
                    code: exit::USAGE,
                    message: e.to_string(),
                })
            } else {
                e.into()
            }
        })
    }
}

/// `defer`: each subcommand's arguments are built only when it is the one
/// invoked (Docker's grammar has hundreds of flags; building all of them
/// for every command was ~0.2 ms of each command's start).
#[derive(Subcommand)]
#[command(defer = true)]
enum Command {
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// List images
    Images(image::ListArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(image::ImportArgs),
    /// Load an image from a tar archive or STDIN
    Load(image::LoadArgs),
    /// Save one or more images to a tar archive
    Save(image::SaveArgs),
    /// Remove one or more images
    Rmi(image::RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(image::TagArgs),
    /// Show the history of an image
    History(image::HistoryArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// List the (legacy) plugins berth finds, such as volume plugins
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Create and run a new container from an image
    Run(container::RunArgs),
    /// Create a new container
    Create(container::CreateArgs),
    /// Start one or more stopped containers
    Start(container::StartArgs),
    /// Stop one or more running containers
    Stop(container::StopArgs),
    /// Restart one or more containers
    Restart(container::StopArgs),
    /// Kill one or more running containers
    Kill(container::KillArgs),
    /// Pause all processes within one or more containers
    Pause(container::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(container::NamesArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(container::NamesArgs),
    /// Remove one or more containers
    Rm(container::RmArgs),
    /// Rename a container
    Rename(container::RenameArgs),
    /// Update configuration of one or more containers
    Update(commands::update::UpdateArgs),
    /// List containers
    #[command(alias = "list")]
    Ps(container::PsArgs),
    /// Fetch the logs of a container
    Logs(container::LogsArgs),
    /// Execute a command in a running container
    Exec(container::ExecArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(container::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(container::DiffArgs),
    /// Create a new image from a container's changes
    Commit(container::CommitArgs),
    /// Build an image from a Dockerfile
    Build(commands::build::BuildArgs),
    /// Export a container's filesystem as a tar archive
    Export(container::ExportArgs),
    /// Display the running processes of a container
    Top(container::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(container::StatsArgs),
    /// List port mappings or a specific mapping for the container
    Port(container::PortArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(container::AttachArgs),
    /// Return low-level information on Docker objects
    Inspect(InspectArgs),
    /// Manage Docker
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(system::ContainerCommand),
    /// Show the Docker version information
    Version(system::VersionArgs),
    /// Display system-wide information
    Info(system::InfoArgs),
    /// Download an image from a registry
    Pull(registry::PullArgs),
    /// Upload an image to a registry
    Push(registry::PushArgs),
    /// Search Docker Hub (or the registry a term names) for images
    Search(commands::search::SearchArgs),
    /// Log in to a registry
    Login(registry::LoginArgs),
    /// Log out from a registry
    Logout(registry::LogoutArgs),
    /// Get real time events from the server
    Events(commands::events::EventsArgs),
    /// Serve the Docker Engine API (for the docker CLI, docker-py, bollard...)
    Serve(commands::serve::ServeArgs),
    /// Serve the Kubernetes CRI (runtime.v1) for kubelet, crictl and critest
    Cri(commands::cri::CriArgs),
    /// The per-container monitor (internal; the container's id is in its
    /// environment, which other users cannot read, unlike its arguments).
    #[command(name = "__monitor", hide = true)]
    Monitor,
    /// The holder of a detachable exec's stdio (internal; the exec's id is
    /// in its environment).
    #[command(name = "__exec", hide = true)]
    ExecHolder,
}

#[derive(clap::Args)]
struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Only inspect objects of the given type
    #[arg(long = "type")]
    kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    size: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

/// `inspect NAME...`: containers, then images, then volumes, as Docker tries them.
fn inspect(ctx: &Ctx, args: InspectArgs) -> anyhow::Result<i32> {
    let format = args
        .format
        .as_deref()
        .map(format::Format::parse)
        .transpose()?;
    let mut found = Vec::new();
    let mut failed = false;
    for name in &args.names {
        let kind = args.kind.as_deref();
        let value = match kind {
            None | Some("container") => container::inspect_value(ctx, name, args.size)?,
            _ => None,
        };
        let value = match (value, kind) {
            (Some(v), _) => Some(v),
            (None, None | Some("image")) => image::inspect_value(ctx, name)?,
            _ => None,
        };
        let value = match (value, kind) {
            (Some(v), _) => Some(v),
            (None, None | Some("volume")) => volume::inspect_value(ctx, name)?,
            _ => None,
        };
        match value {
            Some(v) => found.push(v),
            None => {
                eprintln!("Error: No such object: {name}");
                failed = true;
            }
        }
    }
    format::print_inspect(format.as_ref(), found)?;
    Ok(if failed { 1 } else { 0 })
}

fn main() {
    exit::unblock_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                // Docker exits 125 on any flag or usage error.
                _ => exit::USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let locations = match rootless::locations(cli.root, cli.run_dir)
        .and_then(|l| rootless::enter(&l).map(|()| l))
    {
        Ok(locations) => locations,
        Err(e) => std::process::exit(exit::report(Err(e), exit::USAGE)),
    };
    if !matches!(
        cli.command,
        Command::Monitor | Command::ExecHolder | Command::Serve(_)
    ) {
        exit::end_quietly_on_closed_output();
    }
    let ctx = Ctx {
        root: locations.root,
        run_dir: locations.run_dir,
        rootless_socket: locations.socket,
        runtime: cli
            .runtime
            .unwrap_or_else(|| berth_engine::Config::default_runtime().to_string()),
    };
    let (result, failure_code) = match cli.command {
        Command::Image(cmd) => (image::dispatch(&ctx, cmd), exit::FAILURE),
        Command::Images(a) => (
            image::dispatch(&ctx, image::ImageCommand::Ls(a)),
            exit::FAILURE,
        ),
        Command::Import(a) => (
            image::dispatch(&ctx, image::ImageCommand::Import(a)),
            exit::FAILURE,
        ),
        Command::Load(a) => (
            image::dispatch(&ctx, image::ImageCommand::Load(a)),
            exit::FAILURE,
        ),
        Command::Save(a) => (
            image::dispatch(&ctx, image::ImageCommand::Save(a)),
            exit::FAILURE,
        ),
        Command::Rmi(a) => (
            image::dispatch(&ctx, image::ImageCommand::Rm(a)),
            exit::FAILURE,
        ),
        Command::Tag(a) => (
            image::dispatch(&ctx, image::ImageCommand::Tag(a)),
            exit::FAILURE,
        ),
        Command::History(a) => (
            image::dispatch(&ctx, image::ImageCommand::History(a)),
            exit::FAILURE,
        ),
        Command::Volume(cmd) => (volume::dispatch(&ctx, cmd), exit::FAILURE),
        Command::Network(cmd) => (network::dispatch(&ctx, cmd), exit::FAILURE),
        Command::Plugin(cmd) => (plugin::dispatch(&ctx, cmd), exit::FAILURE),
        // Docker: `run` and `create` fail with 125 when the engine fails.
        Command::Run(a) => (container::run(&ctx, a), exit::USAGE),
        Command::Create(a) => (container::create(&ctx, a), exit::USAGE),
        Command::Start(a) => (container::start(&ctx, a), exit::FAILURE),
        Command::Stop(a) => (container::stop(&ctx, a), exit::FAILURE),
        Command::Restart(a) => (container::restart(&ctx, a), exit::FAILURE),
        Command::Kill(a) => (container::kill(&ctx, a), exit::FAILURE),
        Command::Pause(a) => (container::pause(&ctx, a), exit::FAILURE),
        Command::Unpause(a) => (container::unpause(&ctx, a), exit::FAILURE),
        Command::Wait(a) => (container::wait(&ctx, a), exit::FAILURE),
        Command::Rm(a) => (container::rm(&ctx, a), exit::FAILURE),
        Command::Rename(a) => (container::rename(&ctx, a), exit::FAILURE),
        Command::Update(a) => (commands::update::update(&ctx, a), exit::FAILURE),
        Command::Ps(a) => (container::ps(&ctx, a), exit::FAILURE),
        Command::Logs(a) => (container::logs(&ctx, a), exit::FAILURE),
        Command::Exec(a) => (container::exec(&ctx, a), exit::FAILURE),
        Command::Cp(a) => (container::cp(&ctx, a), exit::FAILURE),
        Command::Diff(a) => (container::diff(&ctx, a), exit::FAILURE),
        Command::Commit(a) => (container::commit(&ctx, a), exit::FAILURE),
        Command::Build(a) => (commands::build::build(&ctx, a), exit::FAILURE),
        Command::Export(a) => (container::export(&ctx, a), exit::FAILURE),
        Command::Top(a) => (container::top(&ctx, a), exit::FAILURE),
        Command::Stats(a) => (container::stats(&ctx, a), exit::FAILURE),
        Command::Port(a) => (container::port(&ctx, a), exit::FAILURE),
        Command::Attach(a) => (container::attach(&ctx, a), exit::FAILURE),
        Command::Inspect(a) => (inspect(&ctx, a), exit::FAILURE),
        Command::System(cmd) => (system::dispatch(&ctx, cmd), exit::FAILURE),
        Command::Container(cmd) => (system::dispatch_container(&ctx, cmd), exit::FAILURE),
        Command::Version(a) => (system::version(&ctx, a), exit::FAILURE),
        Command::Info(a) => (system::info(&ctx, a), exit::FAILURE),
        Command::Pull(a) => (registry::pull(&ctx, a), exit::FAILURE),
        Command::Push(a) => (registry::push(&ctx, a), exit::FAILURE),
        Command::Search(a) => (commands::search::search(&ctx, a), exit::FAILURE),
        Command::Login(a) => (registry::login(&ctx, a), exit::FAILURE),
        Command::Logout(a) => (registry::logout(&ctx, a), exit::FAILURE),
        Command::Events(a) => (commands::events::events(&ctx, a), exit::FAILURE),
        Command::Serve(a) => (commands::serve::serve(&ctx, a), exit::FAILURE),
        Command::Cri(a) => (commands::cri::cri(&ctx, a), exit::FAILURE),
        Command::Monitor => {
            std::process::exit(berth_engine::monitor::main(&ctx.root, &ctx.run_dir))
        }
        Command::ExecHolder => {
            std::process::exit(berth_engine::container::exec_hold::main(ctx.config()))
        }
    };
    std::process::exit(exit::report(result, failure_code));
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Each command's `about` is its variant's doc comment, also once its
    /// deferred grammar is built (a flattened struct's doc comment would
    /// replace it then: those are plain comments).
    #[test]
    fn deferred_grammar_keeps_each_commands_about() {
        fn same(before: &clap::Command, after: &clap::Command) {
            assert_eq!(
                before.get_about().map(|a| a.to_string()),
                after.get_about().map(|a| a.to_string()),
                "{}",
                before.get_name()
            );
            for (b, a) in before.get_subcommands().zip(after.get_subcommands()) {
                same(b, a);
            }
        }
        let mut built = super::Cli::command();
        built.build();
        same(&super::Cli::command(), &built);
    }
}

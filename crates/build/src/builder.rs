//! The build itself: stages of steps, each step an image (see the crate doc).
//!
//! Output follows Docker's classic builder: `Step N/M : INSTRUCTION`, then
//! ` ---> Using cache` when the cache had the step, ` ---> Running in ID` and
//! `Removing intermediate container ID` around a RUN, and ` ---> IMAGE` for
//! the step's image; `Successfully built` / `Successfully tagged` at the end.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::steps::{StepContainer, StepContainers};
use berth_image::blobs::Blobs;
use berth_image::config::Empty;
use berth_image::{ContainerConfig, ImageConfigDoc, Reference, ResolvedImage};
use berth_store::Store;
use sha2::{Digest, Sha256};

use crate::context::{self, Context, Entry, Ownership, Source, SourceRoot};
use crate::dockerfile::{self, Command, CommandLine, CopyArgs, Health, Instruction};
use crate::lex::{process_word, process_words};
use crate::{cache, BuildError};

/// Args every build accepts without an `ARG` line; they reach RUN's
/// environment but never the cache key or history (they vary per machine).
const PREDEFINED_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Docker's default PATH, which the builder gives every stage whose base has none.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the context comes from.
pub enum ContextSource {
    /// A directory.
    Dir(PathBuf),
    /// `-`: a tar archive (the context) or a Dockerfile (no context).
    Stdin(Box<dyn Read>),
}

/// `build`'s flags.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `-t`, validated before anything runs.
    pub tags: Vec<String>,
    /// `-f`: a path (relative to the working directory), `-` for stdin, or
    /// `None` for `CONTEXT/Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    /// `--build-arg NAME=VALUE`; `None` when NAME was given alone and is not
    /// set in the caller's environment.
    pub build_args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `--label`: a LABEL step appended to the last stage.
    pub labels: Vec<(String, String)>,
    /// The network mode of RUN containers.
    pub network: String,
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub id: String,
    /// Familiar `name:tag` strings, as tagged.
    pub tags: Vec<String>,
}

/// Runs a build; progress goes to `out`.
pub fn build(
    store: &mut Store,
    steps: &mut dyn StepContainers,
    source: ContextSource,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> Result<BuildOutcome, BuildError> {
    let tags = opts
        .tags
        .iter()
        .map(|t| {
            Reference::parse(t)
                .map(Reference::with_default_tag)
                .map_err(|_| {
                    BuildError::InvalidArgument(format!(
                        "invalid argument \"{t}\" for \"-t, --tag\" flag: invalid reference format"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (context, text) = load(store, source, opts)?;
    let dockerfile = dockerfile::parse(&text)?;
    let mut builder = Builder::new(store, steps, &context, opts, out, dockerfile.escape);
    let id = builder.run(dockerfile)?;
    let mut tagged = Vec::new();
    for reference in tags {
        berth_image::tag(store, &id, &reference.to_string())?;
        tagged.push(reference.familiar());
    }
    Ok(BuildOutcome { id, tags: tagged })
}

/// Reads the context and the Dockerfile text.
fn load(
    store: &Store,
    source: ContextSource,
    opts: &BuildOptions,
) -> Result<(Context, String), BuildError> {
    let stdin_dockerfile = opts.dockerfile.as_deref() == Some(Path::new("-"));
    let read_file = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BuildError::InvalidArgument(format!(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                path.display()
            )),
            _ => BuildError::io(path, e),
        })
    };
    match source {
        ContextSource::Dir(dir) => {
            let context = Context::from_dir(&dir)?;
            let text = if stdin_dockerfile {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| BuildError::io("stdin", e))?;
                text
            } else {
                let path = match &opts.dockerfile {
                    Some(f) => f.clone(),
                    None => context.root.join("Dockerfile"),
                };
                read_file(&path)?
            };
            Ok((context, text))
        }
        ContextSource::Stdin(mut reader) => {
            if stdin_dockerfile {
                return Err(BuildError::InvalidArgument(
                    "invalid argument: can't use stdin for both build context and dockerfile"
                        .into(),
                ));
            }
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| BuildError::io("stdin", e))?;
            let is_tar = (bytes.len() >= 262 && &bytes[257..262] == b"ustar")
                || bytes.starts_with(&[0x1f, 0x8b])
                || bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
            if is_tar {
                let context = Context::from_tar(std::io::Cursor::new(bytes), &store.tmp_dir())?;
                let name = opts
                    .dockerfile
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("Dockerfile"));
                let path = berth_archive::resolve_in_root(&context.root, &name).map_err(|_| {
                    BuildError::InvalidArgument(format!(
                        "Cannot locate specified Dockerfile: {}",
                        name.display()
                    ))
                })?;
                let text = read_file(&path)?;
                Ok((context, text))
            } else {
                let text = String::from_utf8(bytes).map_err(|_| {
                    BuildError::InvalidArgument(
                        "the Dockerfile read from stdin is not UTF-8 text".into(),
                    )
                })?;
                Ok((Context::empty(&store.tmp_dir())?, text))
            }
        }
    }
}

/// One stage as it is being built.
struct Stage {
    name: Option<String>,
    /// The stage's image so far; `None` while a `FROM scratch` stage has no step.
    image: Option<ResolvedImage>,
    config: ContainerConfig,
    author: String,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    cmd_set: bool,
    /// ARGs declared in this stage, with their values.
    args: Vec<(String, Option<String>)>,
}

impl Stage {
    fn image_id(&self) -> &str {
        self.image.as_ref().map(|i| i.id.as_str()).unwrap_or("")
    }

    fn shell(&self) -> Vec<String> {
        self.config
            .shell
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect())
    }

    fn workdir(&self) -> &str {
        if self.config.working_dir.is_empty() {
            "/"
        } else {
            &self.config.working_dir
        }
    }
}

/// What a finished step leaves: the new config and, if any, how to make its layer.
enum StepWork {
    Metadata,
    Run {
        cmd: Vec<String>,
        env: Vec<String>,
        /// Docker's saved command: `|N K=V...` then the argv.
        saved: Vec<String>,
    },
    Copy(Box<CopyPlan>),
    Mkdir(String),
}

struct CopyPlan {
    instruction: &'static str,
    sources: Vec<(Source, Vec<Entry>)>,
    /// Host root the sources were read from, kept mounted by `from_container`.
    from_container: Option<String>,
    from_scratch_root: Option<PathBuf>,
    dest: String,
    chown: Option<String>,
    chmod: Option<u32>,
    extract_archives: bool,
}

struct Builder<'a> {
    store: &'a mut Store,
    steps: &'a mut dyn StepContainers,
    context: &'a Context,
    opts: &'a BuildOptions,
    out: &'a mut dyn Write,
    escape: char,
    /// `--build-arg`s, by name.
    given_args: BTreeMap<String, Option<String>>,
    /// Build args some ARG (or a predefined name) consumed.
    consumed: std::collections::BTreeSet<String>,
    /// Values of the ARGs before the first FROM.
    meta_args: Vec<(String, Option<String>)>,
    /// Finished stages: (name, image id).
    finished: Vec<(Option<String>, String)>,
    step: usize,
    total: usize,
}

impl<'a> Builder<'a> {
    fn new(
        store: &'a mut Store,
        steps: &'a mut dyn StepContainers,
        context: &'a Context,
        opts: &'a BuildOptions,
        out: &'a mut dyn Write,
        escape: char,
    ) -> Builder<'a> {
        Builder {
            store,
            steps,
            context,
            opts,
            out,
            escape,
            given_args: opts.build_args.iter().cloned().collect(),
            consumed: Default::default(),
            meta_args: Vec::new(),
            finished: Vec::new(),
            step: 0,
            total: 0,
        }
    }

    fn say(&mut self, line: impl AsRef<str>) -> Result<(), BuildError> {
        writeln!(self.out, "{}", line.as_ref()).map_err(|e| BuildError::io("build output", e))
    }

    fn run(&mut self, dockerfile: dockerfile::Dockerfile) -> Result<String, BuildError> {
        let mut instructions = dockerfile.instructions;
        if !self.opts.labels.is_empty() {
            let pairs: Vec<(String, String)> = self
                .opts
                .labels
                .iter()
                .map(|(k, v)| (quote_word(k), quote_word(v)))
                .collect();
            let original = std::iter::once("LABEL".to_string())
                .chain(pairs.iter().map(|(k, v)| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ");
            instructions.push(Instruction {
                line: instructions.last().map(|i| i.line + 1).unwrap_or(1),
                original,
                command: Command::Label(pairs),
            });
        }
        // Meta ARGs, then stages.
        let first_from = instructions
            .iter()
            .position(|i| matches!(i.command, Command::From { .. }));
        let Some(first_from) = first_from else {
            return Err(match instructions.first() {
                None => BuildError::InvalidArgument(
                    "the Dockerfile (Dockerfile) cannot be empty".into(),
                ),
                Some(i) => BuildError::Syntax {
                    line: i.line,
                    message: "no build stage in current context".into(),
                },
            });
        };
        for i in &instructions[..first_from] {
            if !matches!(i.command, Command::Arg(_)) {
                return Err(BuildError::Syntax {
                    line: i.line,
                    message: format!(
                        "{} instruction before the first FROM: only ARG may come before FROM",
                        i.command.keyword()
                    ),
                });
            }
        }
        let mut stages: Vec<Vec<Instruction>> = Vec::new();
        for i in instructions[first_from..].iter().cloned() {
            if matches!(i.command, Command::From { .. }) {
                stages.push(vec![i]);
            } else if let Some(last) = stages.last_mut() {
                last.push(i);
            }
        }
        if let Some(target) = &self.opts.target {
            let target = target.to_ascii_lowercase();
            let index = stages
                .iter()
                .position(|s| {
                    matches!(&s[0].command, Command::From { stage: Some(n), .. } if *n == target)
                })
                .ok_or_else(|| {
                    BuildError::InvalidArgument(format!(
                        "failed to reach build target {target} in Dockerfile"
                    ))
                })?;
            stages.truncate(index + 1);
        }
        self.total = first_from + stages.iter().map(Vec::len).sum::<usize>();

        for i in &instructions[..first_from] {
            self.begin_step(i)?;
            if let Command::Arg(args) = &i.command {
                for (name, default) in args {
                    let default = match default {
                        Some(d) => Some(self.expand(d, &self.meta_env(), i)?),
                        None => None,
                    };
                    let value = self.arg_value(name, default);
                    self.meta_args.retain(|(n, _)| n != name);
                    self.meta_args.push((name.clone(), value));
                }
            }
        }
        let mut last = String::new();
        for stage in stages {
            last = self.build_stage(stage)?;
        }
        let unused: Vec<&String> = self
            .given_args
            .keys()
            .filter(|k| !self.consumed.contains(*k) && !PREDEFINED_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            let list = unused
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.say(format!(
                "[Warning] One or more build-args [{list}] were not consumed"
            ))?;
        }
        self.say(format!("Successfully built {}", short(&last)))?;
        Ok(last)
    }

    /// A `--build-arg` wins over the Dockerfile's default.
    fn arg_value(&mut self, name: &str, default: Option<String>) -> Option<String> {
        match self.given_args.get(name) {
            Some(Some(v)) => {
                self.consumed.insert(name.to_string());
                Some(v.clone())
            }
            Some(None) => {
                self.consumed.insert(name.to_string());
                default
            }
            None => default,
        }
    }

    fn meta_env(&self) -> Vec<String> {
        self.meta_args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect()
    }

    fn begin_step(&mut self, i: &Instruction) -> Result<(), BuildError> {
        self.step += 1;
        let line = format!("Step {}/{} : {}", self.step, self.total, i.original);
        self.say(line)
    }

    fn expand(&self, word: &str, env: &[String], i: &Instruction) -> Result<String, BuildError> {
        process_word(word, env, self.escape).map_err(|m| BuildError::Syntax {
            line: i.line,
            message: format!("failed to process {word:?}: {m}"),
        })
    }

    fn expand_words(
        &self,
        word: &str,
        env: &[String],
        i: &Instruction,
    ) -> Result<Vec<String>, BuildError> {
        process_words(word, env, self.escape).map_err(|m| BuildError::Syntax {
            line: i.line,
            message: format!("failed to process {word:?}: {m}"),
        })
    }

    /// The environment words expand in: ENV first, then the stage's ARGs.
    fn stage_env(&self, stage: &Stage) -> Vec<String> {
        let mut env: Vec<String> = Vec::new();
        for (k, v) in &stage.args {
            if let Some(v) = v {
                env.push(format!("{k}={v}"));
            }
        }
        // Later entries win in lookups: ENV overrides ARG.
        env.extend(stage.config.env.clone().unwrap_or_default());
        env
    }

    /// Build args RUN sees: declared ARGs with a value (and given predefined
    /// ones) that ENV does not set, sorted as Docker lists them.
    fn run_args(&self, stage: &Stage) -> (Vec<String>, Vec<String>) {
        let env = stage.config.env.clone().unwrap_or_default();
        let in_env = |k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
        let mut declared: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &stage.args {
            if let Some(v) = v {
                if !in_env(k) {
                    declared.insert(k.clone(), v.clone());
                }
            }
        }
        let mut proxies = Vec::new();
        for name in PREDEFINED_ARGS {
            if declared.contains_key(*name) || in_env(name) {
                continue;
            }
            if let Some(Some(v)) = self.given_args.get(*name) {
                proxies.push(format!("{name}={v}"));
            }
        }
        let declared = declared
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (declared, proxies)
    }

    fn build_stage(&mut self, instructions: Vec<Instruction>) -> Result<String, BuildError> {
        let from = &instructions[0];
        let Command::From {
            image, stage: name, ..
        } = &from.command
        else {
            return Err(BuildError::Syntax {
                line: from.line,
                message: "a stage must start with FROM".into(),
            });
        };
        self.begin_step(from)?;
        // FROM sees only the meta ARGs; one without a value cannot name an image.
        for (arg, value) in &self.meta_args {
            if value.is_none()
                && (image.contains(&format!("${arg}")) || image.contains(&format!("${{{arg}")))
            {
                return Err(BuildError::InvalidArgument(format!(
                    "FROM {image} (line {}): build arg {arg} has no value: give it a default (ARG {arg}=...) or pass --build-arg {arg}=...",
                    from.line
                )));
            }
        }
        let image_name = self.expand(image, &self.meta_env(), from)?;
        if image_name.is_empty() {
            return Err(BuildError::InvalidArgument(format!(
                "base name ({image}) should not be blank"
            )));
        }
        let mut stage = Stage {
            name: name.clone(),
            image: None,
            config: ContainerConfig::default(),
            author: String::new(),
            cmd_set: false,
            args: Vec::new(),
        };
        if image_name != "scratch" {
            let id = match self.stage_image(&image_name) {
                Some(id) => id,
                None => berth_image::resolve_id(self.store, &image_name)?,
            };
            let resolved = berth_image::resolve(self.store, &id)?;
            let doc = read_config(self.store, &id)?;
            stage.config = doc.config.unwrap_or_default();
            stage.author = doc.author;
            stage.image = Some(resolved);
        }
        self.say(format!(
            " ---> {}",
            if stage.image.is_some() {
                short(stage.image_id())
            } else {
                "".into()
            }
        ))?;
        // Docker's builder gives every stage the default PATH when its base has none.
        let env = stage.config.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(DEFAULT_PATH.to_string());
        }
        let triggers = stage.config.on_build.take().unwrap_or_default();
        if !triggers.is_empty() {
            let noun = if triggers.len() == 1 {
                "trigger"
            } else {
                "triggers"
            };
            self.say(format!("# Executing {} build {noun}", triggers.len()))?;
            for trigger in triggers {
                let parsed = dockerfile::parse(&trigger)?;
                for i in parsed.instructions {
                    self.step_in_stage(&mut stage, &i, true)?;
                }
            }
        }
        for i in &instructions[1..] {
            self.begin_step(i)?;
            self.step_in_stage(&mut stage, i, false)?;
        }
        let id = match &stage.image {
            Some(image) => image.id.clone(),
            None => {
                // A scratch stage with no step: Docker refuses to make an image.
                return Err(BuildError::InvalidArgument(
                    "No image was generated. Is your Dockerfile empty?".into(),
                ));
            }
        };
        self.finished.push((stage.name.clone(), id.clone()));
        Ok(id)
    }

    /// An earlier stage named (or numbered) `name`.
    fn stage_image(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        if let Some((_, id)) = self
            .finished
            .iter()
            .find(|(n, _)| n.as_deref() == Some(lower.as_str()))
        {
            return Some(id.clone());
        }
        name.parse::<usize>()
            .ok()
            .and_then(|i| self.finished.get(i))
            .map(|(_, id)| id.clone())
    }

    /// Runs one instruction of a stage: computes the new config and what the
    /// step must do, then takes the image from the cache or makes it.
    fn step_in_stage(
        &mut self,
        stage: &mut Stage,
        i: &Instruction,
        _trigger: bool,
    ) -> Result<(), BuildError> {
        let env = self.stage_env(stage);
        let mut config = stage.config.clone();
        let shell = stage.shell();
        let mut work = StepWork::Metadata;
        // The history line (and cache key) of a metadata step.
        let comment: String;
        let mut extra_key = String::new();
        match &i.command {
            Command::From { .. } => {
                return Err(BuildError::Syntax {
                    line: i.line,
                    message: "FROM cannot be an ONBUILD trigger".into(),
                })
            }
            Command::Maintainer(m) => {
                stage.author = m.clone();
                comment = format!("MAINTAINER {m}");
            }
            Command::Env(pairs) => {
                let mut list = config.env.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.expand(k, &env, i)?;
                    let v = self.expand(v, &env, i)?;
                    let entry = format!("{k}={v}");
                    match list
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(existing) => *existing = entry.clone(),
                        None => list.push(entry.clone()),
                    }
                    shown.push(entry);
                }
                config.env = Some(list);
                comment = format!("ENV {}", shown.join(" "));
            }
            Command::Label(pairs) => {
                let mut labels = config.labels.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.expand(k, &env, i)?;
                    let v = self.expand(v, &env, i)?;
                    if k.is_empty() {
                        return Err(BuildError::Syntax {
                            line: i.line,
                            message: "LABEL names can not be blank".into(),
                        });
                    }
                    shown.push(format!("{k}={v}"));
                    labels.insert(k, v);
                }
                config.labels = Some(labels);
                comment = format!("LABEL {}", shown.join(" "));
            }
            Command::Arg(args) => {
                let mut shown = Vec::new();
                for (name, default) in args {
                    let default = match default {
                        Some(d) => Some(self.expand(d, &env, i)?),
                        // Re-declaring a meta ARG without a value takes its value.
                        None => self
                            .meta_args
                            .iter()
                            .find(|(n, _)| n == name)
                            .and_then(|(_, v)| v.clone()),
                    };
                    shown.push(match default {
                        Some(ref d) => format!("{name}={d}"),
                        None => name.clone(),
                    });
                    let value = self.arg_value(name, default);
                    stage.args.retain(|(n, _)| n != name);
                    stage.args.push((name.clone(), value));
                }
                comment = format!("ARG {}", shown.join(" "));
            }
            Command::Workdir(dir) => {
                let dir = self.expand(dir, &env, i)?;
                let joined = if dir.starts_with('/') {
                    dir
                } else {
                    format!("{}/{dir}", stage.workdir())
                };
                let cleaned = crate::ignore::clean(&joined);
                config.working_dir = cleaned.clone();
                comment = format!("WORKDIR {cleaned}");
                work = StepWork::Mkdir(cleaned);
            }
            Command::User(user) => {
                let user = self.expand(user, &env, i)?;
                config.user = user.clone();
                comment = format!("USER {user}");
            }
            Command::Volume(volumes) => {
                let mut map = config.volumes.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for v in volumes {
                    let v = self.expand(v, &env, i)?;
                    if v.trim().is_empty() {
                        return Err(BuildError::Syntax {
                            line: i.line,
                            message: "VOLUME specified can not be an empty string".into(),
                        });
                    }
                    shown.push(v.clone());
                    map.insert(v, Empty {});
                }
                config.volumes = Some(map);
                comment = format!("VOLUME [{}]", shown.join(" "));
            }
            Command::Expose(ports) => {
                let mut map = config.exposed_ports.clone().unwrap_or_default();
                let mut shown = Vec::new();
                for p in ports {
                    for word in self.expand_words(p, &env, i)? {
                        for port in expand_port(&word).map_err(|m| BuildError::Syntax {
                            line: i.line,
                            message: m,
                        })? {
                            map.insert(port, Empty {});
                        }
                        shown.push(word);
                    }
                }
                config.exposed_ports = Some(map);
                comment = format!("EXPOSE {}", shown.join(" "));
            }
            Command::Cmd(line) => {
                let cmd = command_words(line, &shell);
                comment = format!("CMD {}", go_quote_list(&cmd));
                config.cmd = Some(cmd);
                stage.cmd_set = true;
            }
            Command::Entrypoint(line) => {
                let entrypoint = command_words(line, &shell);
                comment = format!("ENTRYPOINT {}", go_quote_list(&entrypoint));
                config.entrypoint = Some(entrypoint);
                if !stage.cmd_set {
                    config.cmd = None;
                }
            }
            Command::Shell(words) => {
                comment = format!("SHELL {}", go_quote_list(words));
                config.shell = Some(words.clone());
            }
            Command::StopSignal(signal) => {
                let signal = self.expand(signal, &env, i)?;
                berth_runtime::parse_signal(&signal).map_err(|_| BuildError::Syntax {
                    line: i.line,
                    message: format!("Invalid signal: {signal}"),
                })?;
                comment = format!("STOPSIGNAL {signal}");
                config.stop_signal = signal;
            }
            Command::Healthcheck(health) => {
                config.healthcheck = Some(health_json(health));
                comment = format!(
                    "HEALTHCHECK {}",
                    i.original
                        .split_once(char::is_whitespace)
                        .map(|x| x.1)
                        .unwrap_or("")
                );
            }
            Command::OnBuild(trigger) => {
                let (word, rest) = trigger
                    .split_once(char::is_whitespace)
                    .unwrap_or((trigger.as_str(), ""));
                let trigger = format!("{} {}", word.to_ascii_uppercase(), rest.trim());
                let mut list = config.on_build.clone().unwrap_or_default();
                list.push(trigger.clone());
                config.on_build = Some(list);
                comment = format!("ONBUILD {trigger}");
            }
            Command::Run(line) => {
                let cmd = command_words(line, &shell);
                let (declared, proxies) = self.run_args(stage);
                let mut saved = Vec::new();
                if !declared.is_empty() {
                    saved.push(format!("|{}", declared.len()));
                    saved.extend(declared.iter().cloned());
                }
                saved.extend(cmd.iter().cloned());
                comment = saved.join(" ");
                let mut run_env = declared;
                run_env.extend(proxies);
                work = StepWork::Run {
                    cmd,
                    env: run_env,
                    saved,
                };
            }
            Command::Copy(args) | Command::Add(args) => {
                let is_add = matches!(i.command, Command::Add(_));
                let plan = self.plan_copy(stage, args, is_add, &env, i)?;
                let mut hasher = Sha256::new();
                for (_, entries) in &plan.sources {
                    context::digest_entries(entries, &mut hasher)?;
                }
                let digest = hex::encode(hasher.finalize());
                let kind = match plan.sources.as_slice() {
                    [(s, _)] if s.is_dir => "dir",
                    [_] => "file",
                    _ => "multi",
                };
                comment = format!("{} {kind}:{digest} in {} ", plan.instruction, plan.dest);
                extra_key = format!(
                    "chown={:?} chmod={:?} from={:?}",
                    plan.chown, plan.chmod, args.from
                );
                work = StepWork::Copy(Box::new(plan));
            }
        }
        // Docker records the config the new image would have as its Image field.
        config.image = stage.image_id().to_string();

        let created_by = match &work {
            StepWork::Run { .. } => comment.clone(),
            _ => format!("{} #(nop)  {comment}", shell.join(" ")),
        };
        // The resulting config is part of the key: a stage's config can change
        // without a step (FROM adds PATH, drops ONBUILD), as Docker's cache
        // compares whole configs.
        let config_json = serde_json::to_string(&config)
            .map_err(|e| BuildError::Corrupt(format!("step config: {e}")))?;
        let key = cache::key(&[&created_by, &extra_key, &config_json]);
        let parent = stage.image_id().to_string();
        if !self.opts.no_cache {
            if let Some(hit) = cache::lookup(self.store, &parent, &key)? {
                if let StepWork::Copy(plan) = &work {
                    self.release_copy_sources(plan)?;
                }
                self.say(" ---> Using cache")?;
                self.adopt(stage, &hit, config)?;
                return Ok(());
            }
        }
        let mut container_config = config.clone();
        container_config.cmd = Some(match &work {
            StepWork::Run { saved, .. } => saved.clone(),
            _ => shell
                .iter()
                .cloned()
                .chain(["#(nop) ".to_string(), comment.clone()])
                .collect(),
        });
        let id = match work {
            StepWork::Metadata => {
                self.commit(stage, None, &config, &container_config, "", &created_by)?
            }
            StepWork::Run { cmd, env, .. } => {
                self.run_step(stage, i, cmd, env, &config, &container_config, &created_by)?
            }
            StepWork::Copy(plan) => {
                let result = self.copy_step(stage, &plan, &config, &container_config, &created_by);
                self.release_copy_sources(&plan)?;
                result?
            }
            StepWork::Mkdir(dir) => {
                self.mkdir_step(stage, &dir, &config, &container_config, &created_by)?
            }
        };
        cache::record(self.store, &id, &parent, &key)?;
        self.adopt(stage, &id, config)?;
        Ok(())
    }

    /// Makes `id` the stage's image.
    fn adopt(
        &mut self,
        stage: &mut Stage,
        id: &str,
        config: ContainerConfig,
    ) -> Result<(), BuildError> {
        stage.image = Some(berth_image::resolve(self.store, id)?);
        // A cached image's config is the one that was stored: use it, so
        // that what follows sees exactly the image's state.
        stage.config = read_config(self.store, id)?.config.unwrap_or(config);
        self.say(format!(" ---> {}", short(id)))
    }

    fn commit(
        &mut self,
        stage: &Stage,
        layer: Option<&Path>,
        config: &ContainerConfig,
        container_config: &ContainerConfig,
        container: &str,
        created_by: &str,
    ) -> Result<String, BuildError> {
        Ok(berth_image::commit_build_step(
            self.store,
            &berth_image::BuildStep {
                parent: stage.image.as_ref(),
                layer,
                config,
                container_config,
                container,
                created_by,
                author: &stage.author,
            },
        )?)
    }

    /// A container of the stage's image that is never started (COPY, WORKDIR,
    /// and `COPY --from` sources): only its root is mounted.
    fn scratch_container(&mut self, image: &str, comment: &str) -> Result<String, BuildError> {
        self.steps.create(
            self.store,
            StepContainer {
                image: image.to_string(),
                cmd: vec!["/bin/sh".into(), "-c".into(), format!("#(nop) {comment}")],
                env: Vec::new(),
                network: "none".into(),
            },
        )
    }

    fn remove_container(&mut self, id: &str) -> Result<(), BuildError> {
        self.steps.remove(self.store, id)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_step(
        &mut self,
        stage: &Stage,
        i: &Instruction,
        cmd: Vec<String>,
        env: Vec<String>,
        config: &ContainerConfig,
        container_config: &ContainerConfig,
        created_by: &str,
    ) -> Result<String, BuildError> {
        let Some(image) = &stage.image else {
            return Err(BuildError::InvalidArgument(format!(
                "line {}: RUN needs a base image: a FROM scratch stage has nothing to run yet",
                i.line
            )));
        };
        let command_text = cmd.join(" ");
        let cid = self.steps.create(
            self.store,
            StepContainer {
                image: image.id.clone(),
                cmd,
                env,
                network: self.opts.network.clone(),
            },
        )?;
        self.say(format!(" ---> Running in {}", &cid[..12]))?;
        let result = self.run_container(&cid, &command_text).and_then(|()| {
            let upper = self.steps.upper_dir(self.store, &cid);
            self.commit(
                stage,
                Some(&upper),
                config,
                container_config,
                &cid,
                created_by,
            )
        });
        let removed = self.remove_container(&cid);
        let id = result?;
        removed?;
        self.say(format!("Removing intermediate container {}", &cid[..12]))?;
        Ok(id)
    }

    /// Starts the container, relays its output, and fails unless it exits 0.
    fn run_container(&mut self, id: &str, command_text: &str) -> Result<(), BuildError> {
        let code = self.steps.run(self.store, id, self.out)?;
        if code != 0 {
            return Err(BuildError::RunFailed {
                command: command_text.to_string(),
                code,
            });
        }
        Ok(())
    }

    /// Resolves COPY/ADD sources (mounting a `--from` image's root) and
    /// collects what they copy.
    fn plan_copy(
        &mut self,
        stage: &Stage,
        args: &CopyArgs,
        is_add: bool,
        env: &[String],
        i: &Instruction,
    ) -> Result<CopyPlan, BuildError> {
        let instruction = if is_add { "ADD" } else { "COPY" };
        let mut words = Vec::new();
        for p in &args.paths {
            words.push(self.expand(p, env, i)?);
        }
        let dest_written = words.pop().unwrap_or_default();
        let dest = if dest_written.starts_with('/') {
            dest_written.clone()
        } else {
            let base = stage.workdir().trim_end_matches('/');
            format!("{base}/{dest_written}")
        };
        let chown = match &args.chown {
            Some(c) => Some(self.expand(c, env, i)?),
            None => None,
        };
        let chmod = match &args.chmod {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| BuildError::Syntax {
                        line: i.line,
                        message: format!("invalid chmod parameter: {m}"),
                    })?,
            ),
            None => None,
        };
        let mut plan = CopyPlan {
            instruction,
            sources: Vec::new(),
            from_container: None,
            from_scratch_root: None,
            dest,
            chown,
            chmod,
            extract_archives: is_add,
        };
        let from_root: Option<PathBuf> = match &args.from {
            None => None,
            Some(from) => {
                let from = self.expand(from, env, i)?;
                let image_id = match self.stage_image(&from) {
                    Some(id) => id,
                    None => berth_image::resolve_id(self.store, &from).map_err(|e| {
                        BuildError::InvalidArgument(format!("invalid from flag value {from}: {e}"))
                    })?,
                };
                let resolved = berth_image::resolve(self.store, &image_id)?;
                if resolved.layers.is_empty() {
                    // An empty image: an empty directory stands for its root.
                    let dir = self.store.staging_dir("build-from")?;
                    plan.from_scratch_root = Some(dir.clone());
                    Some(dir)
                } else {
                    let cid = self.scratch_container(&image_id, "COPY --from source")?;
                    plan.from_container = Some(cid.clone());
                    match self.steps.mount_root(self.store, &cid) {
                        Ok(root) => Some(root),
                        Err(e) => {
                            self.release_copy_sources(&plan)?;
                            return Err(e);
                        }
                    }
                }
            }
        };
        let collected = (|| -> Result<Vec<(Source, Vec<Entry>)>, BuildError> {
            let root = match &from_root {
                Some(r) => SourceRoot {
                    root: r,
                    ignore: None,
                },
                None => SourceRoot {
                    root: &self.context.root,
                    ignore: Some(&self.context.ignore),
                },
            };
            let mut all = Vec::new();
            for w in &words {
                if is_add && (w.starts_with("http://") || w.starts_with("https://")) {
                    return Err(BuildError::Refused(format!(
                        "ADD failed: remote URL sources ({w}) are not supported; download the file into the context and ADD it from there"
                    )));
                }
                for source in root.resolve(w, instruction)? {
                    let entries = root.entries(&source)?;
                    all.push((source, entries));
                }
            }
            Ok(all)
        })();
        match collected {
            Ok(sources) => plan.sources = sources,
            Err(e) => {
                self.release_copy_sources(&plan)?;
                return Err(e);
            }
        }
        let dir_hint =
            dest_written.ends_with('/') || dest_written.ends_with("/.") || dest_written == ".";
        if plan.sources.len() > 1 && !dir_hint {
            self.release_copy_sources(&plan)?;
            return Err(BuildError::InvalidArgument(format!(
                "When using {instruction} with more than one source file, the destination must be a directory and end with a /"
            )));
        }
        if dir_hint && !plan.dest.ends_with('/') {
            plan.dest.push('/');
        }
        Ok(plan)
    }

    fn release_copy_sources(&mut self, plan: &CopyPlan) -> Result<(), BuildError> {
        if let Some(dir) = &plan.from_scratch_root {
            std::fs::remove_dir_all(dir).map_err(|e| BuildError::io(dir, e))?;
        }
        if let Some(cid) = &plan.from_container {
            self.steps.unmount_root(self.store, cid)?;
            self.remove_container(cid)?;
        }
        Ok(())
    }

    /// Runs `write` on the stage's root (a mounted container rootfs, or an
    /// empty staging dir for a scratch stage) and commits what it wrote.
    fn layer_step(
        &mut self,
        stage: &Stage,
        config: &ContainerConfig,
        container_config: &ContainerConfig,
        created_by: &str,
        write: &dyn Fn(&Path) -> Result<bool, BuildError>,
    ) -> Result<String, BuildError> {
        let has_layers = stage.image.as_ref().is_some_and(|i| !i.layers.is_empty());
        if !has_layers {
            let dir = self.store.staging_dir("build-layer")?;
            let result = write(&dir).and_then(|changed| {
                let layer = changed.then_some(dir.as_path());
                self.commit(stage, layer, config, container_config, "", created_by)
            });
            std::fs::remove_dir_all(&dir).map_err(|e| BuildError::io(&dir, e))?;
            return result;
        }
        let cid = self.scratch_container(stage.image_id(), created_by)?;
        let result = self
            .steps
            .mount_root(self.store, &cid)
            .and_then(|root| {
                let written = write(&root);
                let unmounted = self.steps.unmount_root(self.store, &cid);
                let changed = written?;
                unmounted?;
                Ok(changed)
            })
            .and_then(|changed| {
            let upper = self.steps.upper_dir(self.store, &cid);
            let layer = changed.then_some(upper.as_path());
            self.commit(stage, layer, config, container_config, &cid, created_by)
        });
        let removed = self.remove_container(&cid);
        let id = result?;
        removed?;
        Ok(id)
    }

    fn copy_step(
        &mut self,
        stage: &Stage,
        plan: &CopyPlan,
        config: &ContainerConfig,
        container_config: &ContainerConfig,
        created_by: &str,
    ) -> Result<String, BuildError> {
        let tmp = self.store.tmp_dir();
        self.layer_step(stage, config, container_config, created_by, &|root| {
            let owner = match &plan.chown {
                None => Ownership {
                    chmod: plan.chmod,
                    ..Default::default()
                },
                Some(spec) => {
                    let spec = if spec.contains(':') {
                        spec.clone()
                    } else {
                        format!("{spec}:{spec}")
                    };
                    let user = berth_runtime::resolve_user(root, &spec).map_err(|e| {
                        BuildError::InvalidArgument(format!(
                            "{} failed: unable to convert uid/gid chown string to host mapping: {e}",
                            plan.instruction
                        ))
                    })?;
                    Ownership {
                        uid: user.uid,
                        gid: user.gid,
                        chmod: plan.chmod,
                    }
                }
            };
            apply_copy(root, plan, owner, &tmp)?;
            Ok(true)
        })
    }

    fn mkdir_step(
        &mut self,
        stage: &Stage,
        dir: &str,
        config: &ContainerConfig,
        container_config: &ContainerConfig,
        created_by: &str,
    ) -> Result<String, BuildError> {
        let exists = match &stage.image {
            Some(image) if !image.layers.is_empty() => {
                // Look in the layers, top down, without mounting: a dir there
                // (not shadowed by a whiteout above) means nothing to create.
                layered_dir_exists(image, dir)
            }
            _ => false,
        };
        if exists {
            return self.commit(stage, None, config, container_config, "", created_by);
        }
        let dir = dir.to_string();
        self.layer_step(stage, config, container_config, created_by, &|root| {
            ensure_dir(root, &dir, None)?;
            Ok(true)
        })
    }
}

/// Whether `dir` is a directory in the image's merged view, resolved without
/// following symlinks (a symlinked path is treated as missing, which only
/// costs an extra empty layer).
fn layered_dir_exists(image: &ResolvedImage, dir: &str) -> bool {
    let rel = dir.trim_start_matches('/');
    if rel.is_empty() {
        return true;
    }
    for layer in image.layers.iter().rev() {
        let mut path = layer.dir.clone();
        for part in rel.split('/') {
            // A whiteout of any component hides the lower layers' entry.
            if path.join(format!(".wh.{part}")).exists() {
                return false;
            }
            path.push(part);
        }
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            use std::os::unix::fs::FileTypeExt;
            let ft = meta.file_type();
            if ft.is_char_device() {
                return false;
            }
            return ft.is_dir();
        }
    }
    false
}

/// Creates `dir` (and missing parents) inside `root`; new directories get
/// `owner`.
fn ensure_dir(root: &Path, dir: &str, owner: Option<(u32, u32)>) -> Result<(), BuildError> {
    let mut missing = Vec::new();
    let mut prefix = PathBuf::from("/");
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        prefix.push(part);
        if berth_archive::stat_in_root(root, &prefix.to_string_lossy()).is_err() {
            missing.push(prefix.clone());
        }
    }
    berth_archive::mkdir_all_in_root(root, Path::new(dir), 0o755)?;
    if let Some((uid, gid)) = owner {
        for path in missing {
            let host = berth_archive::resolve_in_root(root, &path)?;
            std::os::unix::fs::lchown(&host, Some(uid), Some(gid))
                .map_err(|e| BuildError::io(&host, e))?;
        }
    }
    Ok(())
}

/// Writes a COPY/ADD's sources into `root` at the plan's destination.
fn apply_copy(
    root: &Path,
    plan: &CopyPlan,
    owner: Ownership,
    tmp: &Path,
) -> Result<(), BuildError> {
    let dest = plan.dest.as_str();
    let new_dir_owner = Some((owner.uid, owner.gid)).filter(|o| *o != (0, 0));
    let dest_is_dir = |root: &Path| {
        dest.ends_with('/')
            || berth_archive::stat_in_root(root, dest)
                .map(|s| s.mode & (1 << 31) != 0)
                .unwrap_or(false)
    };
    for (source, entries) in &plan.sources {
        let mut tar_file = tempfile::tempfile_in(tmp).map_err(|e| BuildError::io(tmp, e))?;
        let target_dir: String;
        if source.is_dir {
            ensure_dir(root, dest, new_dir_owner)?;
            context::pack_entries(entries, "", owner, &mut tar_file)?;
            target_dir = dest.to_string();
        } else if plan.extract_archives && context::is_archive(&source.host) {
            ensure_dir(root, dest, new_dir_owner)?;
            let file =
                std::fs::File::open(&source.host).map_err(|e| BuildError::io(&source.host, e))?;
            berth_archive::extract_to_dir(root, dest, file, false, true)?;
            continue;
        } else if dest_is_dir(root) {
            ensure_dir(root, dest, new_dir_owner)?;
            context::pack_entries(entries, &source.name, owner, &mut tar_file)?;
            target_dir = dest.to_string();
        } else {
            let trimmed = dest.trim_end_matches('/');
            let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
            let parent = if parent.is_empty() { "/" } else { parent };
            ensure_dir(root, parent, new_dir_owner)?;
            context::pack_entries(entries, name, owner, &mut tar_file)?;
            target_dir = parent.to_string();
        }
        tar_file.rewind().map_err(|e| BuildError::io(tmp, e))?;
        berth_archive::extract_to_dir(root, &target_dir, tar_file, false, true)?;
    }
    Ok(())
}

fn read_config(store: &Store, id: &str) -> Result<ImageConfigDoc, BuildError> {
    let bytes = Blobs::new(store).read(id)?;
    ImageConfigDoc::parse(&bytes).map_err(|e| BuildError::Corrupt(format!("config of {id}: {e}")))
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// The argv of RUN/CMD/ENTRYPOINT.
fn command_words(line: &CommandLine, shell: &[String]) -> Vec<String> {
    match line {
        CommandLine::Exec(words) => words.clone(),
        CommandLine::Shell(text) => shell.iter().cloned().chain([text.clone()]).collect(),
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// A `--label` value as a quoted word for the LABEL step the build appends.
fn quote_word(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$")
    )
}

/// `80`, `80/udp`, `8000-8002/tcp` into Docker's `port/proto` keys.
fn expand_port(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("invalid containerPort: {p}"))
    };
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if end < start {
        return Err(format!(
            "invalid range specified for container port: {ports}"
        ));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// Docker's HealthConfig JSON (durations in nanoseconds, zero fields omitted).
fn health_json(health: &Health) -> serde_json::Value {
    match health {
        Health::Disable => serde_json::json!({ "Test": ["NONE"] }),
        Health::Check {
            test,
            interval,
            timeout,
            start_period,
            retries,
        } => {
            let mut map = serde_json::Map::new();
            map.insert("Test".into(), serde_json::json!(test));
            for (name, value) in [
                ("Interval", interval),
                ("Timeout", timeout),
                ("StartPeriod", start_period),
            ] {
                if let Some(d) = value {
                    map.insert(name.into(), serde_json::json!(d.as_nanos() as u64));
                }
            }
            if let Some(r) = retries {
                map.insert("Retries".into(), serde_json::json!(r));
            }
            serde_json::Value::Object(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_expand_like_docker() {
        assert_eq!(expand_port("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(expand_port("53/UDP").unwrap(), vec!["53/udp"]);
        assert_eq!(
            expand_port("8000-8002").unwrap(),
            vec!["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert!(expand_port("http").is_err());
        assert!(expand_port("80/icmp").is_err());
        assert!(expand_port("9-8").is_err());
    }

    #[test]
    fn health_config_is_dockers_shape() {
        let h = Health::Check {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Some(std::time::Duration::from_secs(5)),
            timeout: None,
            start_period: None,
            retries: Some(3),
        };
        assert_eq!(
            health_json(&h).to_string(),
            r#"{"Interval":5000000000,"Retries":3,"Test":["CMD-SHELL","true"]}"#
        );
        assert_eq!(
            health_json(&Health::Disable).to_string(),
            r#"{"Test":["NONE"]}"#
        );
    }

    #[test]
    fn go_quoting() {
        assert_eq!(
            go_quote_list(&["/bin/sh".into(), "-c".into(), "echo \"hi\"".into()]),
            r#"["/bin/sh" "-c" "echo \"hi\""]"#
        );
    }
}

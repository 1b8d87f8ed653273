//! The build itself: stages of steps, each step an image (see the crate doc).
//!
//! Output follows Docker's classic builder: `Step N/M : INSTRUCTION`, then
//! ` ---> Using cache` when the cache had the step, ` ---> Running in ID` and
//! `Removing intermediate container ID` around a RUN, and ` ---> IMAGE` for
//! the step's image. The front ends add Docker's `Successfully built` and
//! `Successfully tagged` lines (the API sends the image's `aux` message first).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::steps::{StepContainer, StepContainers};
use berth_image::blobs::Blobs;
use berth_image::{ContainerConfig, ImageConfigDoc, Reference, ResolvedImage};
use berth_store::Store;

use crate::context::{Context, Entry, Source};
use crate::dockerfile::{self, Command, Instruction};
use crate::lex::{process_word, process_words};
use crate::{cache, BuildError};

mod copy;
mod step;
mod words;

use words::quote_word;

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
    /// `--cache-from`: when set, a step is taken from the cache only if the
    /// cached image is one of these images or below one of them (Docker's
    /// classic builder); unknown names are ignored, as by Docker.
    pub cache_from: Option<Vec<String>>,
    /// `--shm-size` of RUN containers, in bytes (0: Docker's default).
    pub shm_size: u64,
    /// `--add-host` entries (`host:ip`) of RUN containers.
    pub extra_hosts: Vec<String>,
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
    let mut builder = Builder::new(store, steps, &context, opts, out, dockerfile.escape)?;
    let id = builder.run(dockerfile)?;
    berth_store::crash::point("build", "before-tag");
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
    /// With `--cache-from`, the images cache hits may come from.
    cache_sources: Option<std::collections::BTreeSet<String>>,
}

impl<'a> Builder<'a> {
    fn new(
        store: &'a mut Store,
        steps: &'a mut dyn StepContainers,
        context: &'a Context,
        opts: &'a BuildOptions,
        out: &'a mut dyn Write,
        escape: char,
    ) -> Result<Builder<'a>, BuildError> {
        let cache_sources = match &opts.cache_from {
            None => None,
            Some(names) => Some(cache::chains(store, names)?),
        };
        Ok(Builder {
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
            cache_sources,
        })
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
                ..Default::default()
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
                shm_size: self.opts.shm_size,
                extra_hosts: self.opts.extra_hosts.clone(),
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
        if result.is_ok() {
            berth_store::crash::point("build", "after-step-commit");
        }
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
}

fn read_config(store: &Store, id: &str) -> Result<ImageConfigDoc, BuildError> {
    let bytes = Blobs::new(store).read(id)?;
    ImageConfigDoc::parse(&bytes).map_err(|e| BuildError::Corrupt(format!("config of {id}: {e}")))
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

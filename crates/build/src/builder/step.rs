//! One instruction of a stage: the new config, and the step that makes the
//! image (from the cache, a RUN container, a COPY/ADD layer or metadata only).

use berth_image::config::Empty;
use sha2::{Digest, Sha256};

use super::words::{command_words, expand_port, go_quote_list, health_json};
use super::{Builder, Stage, StepWork};
use crate::context::{self};
use crate::dockerfile::{Command, Instruction};
use crate::{cache, BuildError};

impl Builder<'_> {
    /// Runs one instruction of a stage: computes the new config and what the
    /// step must do, then takes the image from the cache or makes it.
    pub(super) fn step_in_stage(
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
            let hit = cache::lookup(self.store, &parent, &key)?.filter(|hit| {
                self.cache_sources
                    .as_ref()
                    .is_none_or(|allowed| allowed.contains(hit))
            });
            if let Some(hit) = hit {
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
}

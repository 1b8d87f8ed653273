//! COPY and ADD (and WORKDIR when it must create the directory): what they
//! read from the context or an earlier stage, and the layer they write into a
//! step container's mounted root.

use std::io::Seek;
use std::path::{Path, PathBuf};

use berth_image::{ContainerConfig, ResolvedImage};

use super::{Builder, CopyPlan, Stage};
use crate::context::{self, Entry, Ownership, Source, SourceRoot};
use crate::dockerfile::{CopyArgs, Instruction};
use crate::BuildError;

impl Builder<'_> {
    /// Resolves COPY/ADD sources (mounting a `--from` image's root) and
    /// collects what they copy.
    pub(super) fn plan_copy(
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

    pub(super) fn release_copy_sources(&mut self, plan: &CopyPlan) -> Result<(), BuildError> {
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
    pub(super) fn layer_step(
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

    pub(super) fn copy_step(
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

    pub(super) fn mkdir_step(
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
pub(super) fn layered_dir_exists(image: &ResolvedImage, dir: &str) -> bool {
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
pub(super) fn ensure_dir(
    root: &Path,
    dir: &str,
    owner: Option<(u32, u32)>,
) -> Result<(), BuildError> {
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
pub(super) fn apply_copy(
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

//! The CRI's ImageService over the engine's image operations.

use berth_engine::image::ImageFilter;
use berth_engine::image::{
    CredentialSource, Credentials, ImageInspect, Progress, ProgressEvent, PullOptions,
};
use berth_engine::{Engine, ErrorKind, HasKind};
use tonic::Status;

use crate::api;
use crate::error::{self, invalid, unsupported};

/// The credentials of a PullImage request, for whatever registry it names.
struct RequestAuth(Option<Credentials>);

impl CredentialSource for RequestAuth {
    fn credentials(&self, _host: &str) -> berth_engine::Result<Option<Credentials>> {
        Ok(self.0.clone())
    }
}

/// A pull's progress goes nowhere: the CRI reports only the result.
struct Quiet;

impl Progress for Quiet {
    fn event(&self, _event: ProgressEvent<'_>) {}
}

fn credentials(auth: &api::AuthConfig) -> Result<Option<Credentials>, Status> {
    use base64::Engine as _;
    if !auth.identity_token.is_empty() || !auth.registry_token.is_empty() {
        return Err(unsupported(
            "identity or registry tokens (give a username and password)",
        ));
    }
    if !auth.username.is_empty() {
        return Ok(Some(Credentials {
            username: auth.username.clone(),
            password: auth.password.clone(),
        }));
    }
    if auth.auth.is_empty() {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&auth.auth)
        .map_err(|_| invalid("auth: not base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| invalid("auth: not UTF-8"))?;
    let (username, password) = text
        .split_once(':')
        .ok_or_else(|| invalid("auth: not USER:PASSWORD"))?;
    Ok(Some(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    }))
}

/// Pulls `name`; returns the image's ID.
pub fn pull(
    engine: &mut Engine,
    name: &str,
    auth: Option<&api::AuthConfig>,
) -> Result<String, Status> {
    let creds = match auth {
        Some(a) => credentials(a)?,
        None => None,
    };
    let pulled = engine
        .image_pull(
            &PullOptions {
                name: name.to_string(),
                all_tags: false,
                platform: None,
            },
            &RequestAuth(creds),
            &Quiet,
        )
        .map_err(error::status)?;
    pulled
        .into_iter()
        .next()
        .map(|p| p.id)
        .ok_or_else(|| Status::internal(format!("pulling {name} gave no image")))
}

fn image(i: &ImageInspect) -> api::Image {
    let user = i
        .config
        .as_ref()
        .map(|c| c.user.clone())
        .unwrap_or_default();
    // The CRI's uid/username: the user part of USER, numeric or a name.
    let user = user.split(':').next().unwrap_or_default().to_string();
    let (uid, username) = match user.parse::<i64>() {
        Ok(uid) => (Some(api::Int64Value { value: uid }), String::new()),
        Err(_) => (None, user),
    };
    api::Image {
        id: i.id.clone(),
        repo_tags: i.repo_tags.clone(),
        repo_digests: i.repo_digests.clone(),
        size: i.size,
        uid,
        username,
        spec: None,
        pinned: false,
    }
}

pub fn status(
    engine: &mut Engine,
    spec: Option<api::ImageSpec>,
) -> Result<Option<api::Image>, Status> {
    let name = spec.map(|s| s.image).unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("ImageStatus needs an image"));
    }
    match engine.image_inspect(&name) {
        Ok(i) => Ok(Some(image(&i))),
        // An image that is not here: no image, no error (the spec's).
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error::status(e)),
    }
}

pub fn list(
    engine: &mut Engine,
    filter: Option<api::ImageFilter>,
) -> Result<Vec<api::Image>, Status> {
    let wanted = filter
        .and_then(|f| f.image)
        .map(|s| s.image)
        .unwrap_or_default();
    if !wanted.is_empty() {
        return Ok(status(
            engine,
            Some(api::ImageSpec {
                image: wanted,
                ..Default::default()
            }),
        )?
        .into_iter()
        .collect());
    }
    let mut out = Vec::new();
    for summary in engine
        .image_list(&ImageFilter::default())
        .map_err(error::status)?
    {
        match engine.image_inspect(&summary.id) {
            Ok(i) => out.push(image(&i)),
            // Removed meanwhile.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(error::status(e)),
        }
    }
    Ok(out)
}

/// Removes an image; a missing one is removed.
pub fn remove(engine: &mut Engine, spec: Option<api::ImageSpec>) -> Result<(), Status> {
    let name = spec.map(|s| s.image).unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("RemoveImage needs an image"));
    }
    // By ID, every tag goes with it (the CRI removes images, not tags).
    let id = match engine.image_id(&name) {
        Ok(id) => id,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(error::status(e)),
    };
    match engine.image_remove(&id, true) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(error::status(e)),
        _ => Ok(()),
    }
}

/// The filesystem holding the images' layers, and what the images use.
pub fn fs_info(engine: &mut Engine) -> Result<api::ImageFsInfoResponse, Status> {
    let used: u64 = engine
        .image_list(&ImageFilter::default())
        .map_err(error::status)?
        .iter()
        .map(|i| i.size)
        .sum();
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let usage = api::FilesystemUsage {
        timestamp: now,
        fs_id: Some(api::FilesystemIdentifier {
            mountpoint: engine.root().join("layers").display().to_string(),
        }),
        used_bytes: Some(api::UInt64Value { value: used }),
        inodes_used: None,
    };
    Ok(api::ImageFsInfoResponse {
        image_filesystems: vec![usage],
        container_filesystems: Vec::new(),
    })
}

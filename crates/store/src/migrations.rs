//! Schema migrations. `PRAGMA user_version` records how many have been applied;
//! every entry of [`MIGRATIONS`] not applied yet runs once, all of them in one
//! transaction (a crash or an error leaves the root at its old version). A
//! root whose version is newer than [`LATEST`] is refused, unchanged. Never
//! edit an applied migration: append a new one.

use std::path::Path;

use rusqlite::Connection;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: images, layers, containers, volumes.
    r#"
    -- One row per unpacked layer directory (layers/<dir>/), keyed by chain ID.
    -- A layer is in use while an image_layers or container_layers row names it.
    CREATE TABLE layers (
        chain_id   TEXT PRIMARY KEY,
        diff_id    TEXT NOT NULL,
        parent     TEXT,
        size       INTEGER NOT NULL,
        dir        TEXT NOT NULL UNIQUE,
        -- The layer as it arrived (compressed or not), kept in blobs/ so that
        -- `save`/`push` reproduce the exact bytes whose digest is diff_id.
        blob_digest     TEXT NOT NULL,
        blob_media_type TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    -- One row per image; id is "sha256:<config digest>" and the config JSON is
    -- the blob of that digest.
    CREATE TABLE images (
        id              TEXT PRIMARY KEY,
        manifest_digest TEXT,
        size            INTEGER NOT NULL,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, position)
    );
    -- Normalized references: "docker.io/library/busybox:latest" (kind 'tag') or
    -- "docker.io/library/busybox@sha256:..." (kind 'digest').
    CREATE TABLE image_refs (
        reference TEXT PRIMARY KEY,
        kind      TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
        image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        added_at  TEXT NOT NULL
    );
    CREATE INDEX image_refs_by_image ON image_refs(image_id);

    -- Containers: `config` is the fixed creation spec (JSON, owned by
    -- berth-container); the other columns are mutable state.
    CREATE TABLE containers (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        image_id      TEXT NOT NULL,
        image_ref     TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        config        TEXT NOT NULL,
        status        TEXT NOT NULL,
        pid           INTEGER NOT NULL DEFAULT 0,
        monitor_pid   INTEGER NOT NULL DEFAULT 0,
        exit_code     INTEGER NOT NULL DEFAULT 0,
        oom_killed    INTEGER NOT NULL DEFAULT 0,
        error         TEXT NOT NULL DEFAULT '',
        started_at    TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
        finished_at   TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
        restart_count INTEGER NOT NULL DEFAULT 0,
        stopped_by_user INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE container_layers (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        position     INTEGER NOT NULL,
        chain_id     TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (container_id, position)
    );

    -- Volumes (local driver). A volume row cannot be deleted while a
    -- container_volumes row refers to it: the database itself refuses.
    CREATE TABLE volumes (
        name       TEXT PRIMARY KEY,
        driver     TEXT NOT NULL,
        labels     TEXT NOT NULL DEFAULT '{}',
        options    TEXT NOT NULL DEFAULT '{}',
        anonymous  INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE container_volumes (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination  TEXT NOT NULL,
        volume_name  TEXT NOT NULL REFERENCES volumes(name),
        PRIMARY KEY (container_id, destination)
    );
    CREATE INDEX container_volumes_by_volume ON container_volumes(volume_name);
    "#,
    // 2: networks, container attachments, endpoints (address leases), published ports.
    r#"
    -- Networks: the built-in bridge/host/none and user networks (berth-network).
    CREATE TABLE networks (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        driver     TEXT NOT NULL,             -- bridge | host | null
        interface  TEXT NOT NULL DEFAULT '',  -- the bridge device
        subnet     TEXT NOT NULL DEFAULT '',  -- IPv4 CIDR
        gateway    TEXT NOT NULL DEFAULT '',
        internal   INTEGER NOT NULL DEFAULT 0,
        dns        INTEGER NOT NULL DEFAULT 0, -- names resolved by aardvark-dns
        labels     TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    INSERT INTO networks (id, name, driver, interface, subnet, gateway, created_at) VALUES
        (lower(hex(randomblob(32))), 'bridge', 'bridge', 'berth0', '10.87.0.0/16', '10.87.0.1',
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        (lower(hex(randomblob(32))), 'host', 'host', '', '', '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        (lower(hex(randomblob(32))), 'none', 'null', '', '', '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    -- Changes to the networks a container joins at start, besides its network
    -- mode's: connected=1 joined with `network connect` (aliases, ipv4 asked for
    -- there), connected=0 the mode's network left with `network disconnect`.
    CREATE TABLE container_networks (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        network_id   TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
        connected    INTEGER NOT NULL,
        aliases      TEXT NOT NULL DEFAULT '[]',
        ipv4         TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (container_id, network_id)
    );
    -- A running container's interface on a network; the row is the address lease.
    CREATE TABLE endpoints (
        id           TEXT PRIMARY KEY,
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        network_id   TEXT NOT NULL REFERENCES networks(id),
        interface    TEXT NOT NULL,
        ipv4         TEXT NOT NULL,
        mac          TEXT NOT NULL,
        aliases      TEXT NOT NULL DEFAULT '[]',
        created_at   TEXT NOT NULL,
        UNIQUE (network_id, ipv4),
        UNIQUE (container_id, network_id)
    );
    CREATE INDEX endpoints_by_container ON endpoints(container_id);
    -- A running container's published ports (host_ip '' = every address).
    CREATE TABLE endpoint_ports (
        container_id   TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        protocol       TEXT NOT NULL,
        container_port INTEGER NOT NULL,
        host_ip        TEXT NOT NULL,
        host_port      INTEGER NOT NULL,
        PRIMARY KEY (protocol, host_ip, host_port)
    );
    CREATE INDEX endpoint_ports_by_container ON endpoint_ports(container_id);
    "#,
    // 3: the build cache. Each image a build step made, with the image it was
    // made on ("" for the first step after `FROM scratch`) and the step's cache
    // key (instruction + content digests). Rows go with their image.
    r#"
    CREATE TABLE build_cache (
        image_id  TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        parent_id TEXT NOT NULL,
        cache_key TEXT NOT NULL
    );
    CREATE INDEX build_cache_by_parent ON build_cache(parent_id, cache_key);
    "#,
    // 4: the event log (berth_store::events): appended in the transaction of
    // the change it reports, bounded to the newest events.
    r#"
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        time_nano  INTEGER NOT NULL,
        type       TEXT NOT NULL,
        action     TEXT NOT NULL,
        actor      TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}'
    );
    "#,
    // 5: what a network and an endpoint were asked for, as Docker reports it
    // back (berth-network): a network's driver options, IPAM (ip-range,
    // auxiliary addresses, IPv6 pool) and flags; an endpoint's settings
    // (aliases, static addresses, MAC, link-local addresses, links, driver
    // options) and its IPv6 lease.
    r#"
    ALTER TABLE networks ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
    -- Networks made before showed their gateway, as Docker shows a
    -- gateway it chose; the default bridge reports Docker's own options.
    UPDATE networks SET config = json_object('GatewayGiven', json('true')) WHERE subnet != '';
    UPDATE networks SET config = json_set(config, '$.Options', json_object(
        'com.docker.network.bridge.default_bridge', 'true',
        'com.docker.network.bridge.enable_icc', 'true',
        'com.docker.network.bridge.enable_ip_masquerade', 'true',
        'com.docker.network.bridge.host_binding_ipv4', '0.0.0.0',
        'com.docker.network.bridge.name', 'berth0',
        'com.docker.network.driver.mtu', '1500'))
        WHERE name = 'bridge';
    ALTER TABLE container_networks ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    UPDATE container_networks
        SET settings = json_object('Aliases', json(aliases), 'IPv4Address', ipv4);
    ALTER TABLE container_networks DROP COLUMN aliases;
    ALTER TABLE container_networks DROP COLUMN ipv4;
    ALTER TABLE endpoints ADD COLUMN ipv6 TEXT NOT NULL DEFAULT '';
    ALTER TABLE endpoints ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    -- A container's aliases and --ip for its mode's network move into its
    -- endpoint settings (berth-container's HostSpec.Endpoint).
    UPDATE containers SET config = json_set(
        json_remove(config, '$.Host.NetworkAliases', '$.Host.Ipv4Address'),
        '$.Host.Endpoint', json_object(
            'Aliases', json(coalesce(json_extract(config, '$.Host.NetworkAliases'), '[]')),
            'IPv4Address', coalesce(json_extract(config, '$.Host.Ipv4Address'), '')));
    "#,
    // 6: a container's State.Health (JSON, '' = none), written with its
    // healthcheck results (berth_container::state::record_health).
    r#"
    ALTER TABLE containers ADD COLUMN health TEXT NOT NULL DEFAULT '';
    "#,
    // 7: image mounts (`--mount type=image`, berth_image::mounts): the image a
    // container mounts at a destination and its layers, one row per layer, so
    // that `rmi` refuses the image as it refuses a container's own image and
    // the layers outlive an `rmi -f`. Rows go with the container.
    r#"
    CREATE TABLE container_image_mounts (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination  TEXT NOT NULL,
        position     INTEGER NOT NULL,
        image_id     TEXT NOT NULL,
        chain_id     TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (container_id, destination, position)
    );
    CREATE INDEX container_image_mounts_by_image ON container_image_mounts(image_id);
    CREATE INDEX container_image_mounts_by_layer ON container_image_mounts(chain_id);
    "#,
    // 8: `--userns=auto` (berth_container::userns): the uid and gid range a
    // container's user namespace maps from berth's subordinate-id pool,
    // taken in the transaction that inserts the container and released with
    // its row, so no two containers of a root hold overlapping ranges.
    r#"
    CREATE TABLE container_userns (
        container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
        uid_start    INTEGER NOT NULL,
        gid_start    INTEGER NOT NULL,
        size         INTEGER NOT NULL CHECK (size > 0)
    );
    CREATE INDEX container_userns_by_uid ON container_userns(uid_start);
    CREATE INDEX container_userns_by_gid ON container_userns(gid_start);
    "#,
];

/// Schema version after all migrations.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Refuses a database whose header says a newer berth wrote it, reading
/// only the header (SQLite's `user_version` is the big-endian i32 at offset
/// 60), so nothing is opened for writing. A version a crash left only in
/// the WAL is caught by [`apply`], which changes nothing before it either.
pub(crate) fn refuse_newer(db_path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(db_path) else {
        return Ok(());
    };
    let mut header = [0u8; 64];
    if file.read_exact(&mut header).is_err() || !header.starts_with(b"SQLite format 3\0") {
        return Ok(());
    }
    let found = i64::from(i32::from_be_bytes([
        header[60], header[61], header[62], header[63],
    ]));
    too_new(db_path, found)
}

fn too_new(db_path: &Path, found: i64) -> Result<(), StoreError> {
    if found > LATEST {
        return Err(StoreError::SchemaTooNew {
            path: db_path.to_path_buf(),
            found,
            supported: LATEST,
        });
    }
    Ok(())
}

pub(crate) fn apply(conn: &mut Connection, db_path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    too_new(db_path, current)?;
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Another process may have migrated while we waited for the lock.
    let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    too_new(db_path, now)?;
    for sql in MIGRATIONS.iter().skip(now as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

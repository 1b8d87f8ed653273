//! Docker's mount-spec rules, table-driven; the expected messages are what
//! docker 28 / dockerd print for the same input.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_volume::spec::{
    check_duplicates, parse_mount_flag, parse_tmpfs_flag, parse_volume_flag, parse_volumes_from,
    resolve, MountSource, MountSpec, Origin,
};

fn volume(name: Option<&str>, nocopy: bool) -> MountSource {
    MountSource::Volume {
        name: name.map(String::from),
        nocopy,
        driver: None,
        driver_opts: BTreeMap::new(),
        labels: BTreeMap::new(),
        subpath: None,
    }
}

fn bind(host: &str, create_missing: bool) -> MountSource {
    MountSource::Bind {
        host: PathBuf::from(host),
        create_missing,
        recursive: true,
        read_only_non_recursive: false,
    }
}

#[test]
fn volume_flag_valid_forms() {
    // (spec, source, destination, read_only, propagation, mode_string)
    type Case<'a> = (
        &'a str,
        MountSource,
        &'a str,
        bool,
        Option<&'a str>,
        &'a str,
    );
    let cases: &[Case] = &[
        ("/dst", volume(None, false), "/dst", false, None, ""),
        (
            "/with space",
            volume(None, false),
            "/with space",
            false,
            None,
            "",
        ),
        ("vv:/d", volume(Some("vv"), false), "/d", false, None, "z"),
        (
            "vv2:/d:ro",
            volume(Some("vv2"), false),
            "/d",
            true,
            None,
            "ro",
        ),
        (
            "vv3:/d6:nocopy",
            volume(Some("vv3"), true),
            "/d6",
            false,
            None,
            "nocopy",
        ),
        ("/tmp:/d2", bind("/tmp", true), "/d2", false, None, ""),
        ("/tmp:/d3:ro", bind("/tmp", true), "/d3", true, None, "ro"),
        (
            "/tmp:/d4:Z,rshared",
            bind("/tmp", true),
            "/d4",
            false,
            Some("rshared"),
            "Z,rshared",
        ),
        ("/dst:/d:ro,z", bind("/dst", true), "/d", true, None, "ro,z"),
        ("/a:/b/../b:ro", bind("/a", true), "/b", true, None, "ro"),
        ("/rw:/ro", bind("/rw", true), "/ro", false, None, ""),
        (
            "/h:/c:slave,ro,Z",
            bind("/h", true),
            "/c",
            true,
            Some("slave"),
            "slave,ro,Z",
        ),
        ("/h/../x/:/c", bind("/x", true), "/c", false, None, ""),
    ];
    for (s, source, dst, ro, prop, mode) in cases {
        let spec = parse_volume_flag(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(&spec.source, source, "{s}");
        assert_eq!(spec.destination, *dst, "{s}");
        assert_eq!(spec.read_only, *ro, "{s}");
        assert_eq!(spec.propagation.as_deref(), *prop, "{s}");
        assert_eq!(spec.mode_string, *mode, "{s}");
        assert_eq!(spec.origin, Origin::VolumeFlag);
    }
    let z = parse_volume_flag("/h:/c:ro,Z").unwrap();
    assert_eq!(z.selinux_label.as_deref(), Some("Z"));
}

#[test]
fn volume_flag_relative_dot_path_is_a_bind_from_the_current_directory() {
    let cwd = std::env::current_dir().unwrap();
    let spec = parse_volume_flag("./x:/x").unwrap();
    assert_eq!(spec.source, bind(cwd.join("x").to_str().unwrap(), true));
}

#[test]
fn volume_flag_errors_match_docker() {
    let cases: &[(&str, &str)] = &[
        ("", "invalid argument \"\" for \"--volume\" flag: invalid empty volume spec"),
        ("/tmp:", "invalid argument \"/tmp:\" for \"--volume\" flag: invalid spec: /tmp:: empty section between colons"),
        (":test", "invalid argument \":test\" for \"--volume\" flag: invalid spec: :test: empty section between colons"),
        ("/path:rw", "invalid volume specification: '/path:rw'"),
        ("/path:ro", "invalid volume specification: '/path:ro'"),
        ("path:ro", "invalid volume specification: 'path:ro'"),
        ("/path:shared", "invalid volume specification: '/path:shared'"),
        ("/a:/b:c:d", "invalid volume specification: '/a:/b:c:d'"),
        ("/path:/path:sw", "invalid mode: sw"),
        ("/path:/path:rwz", "invalid mode: rwz"),
        ("/path:/path:ro,rshared,rslave", "invalid mode: ro,rshared,rslave"),
        ("vv:/d:ro,nocopy,nocopy", "invalid mode: ro,nocopy,nocopy"),
        ("vv:/d:ro,", "invalid mode: ro,"),
        ("/:../", "invalid volume specification: '/:../': invalid mount config for type \"bind\": invalid mount path: '../' mount path must be absolute"),
        ("/:path", "invalid volume specification: '/:path': invalid mount config for type \"bind\": invalid mount path: 'path' mount path must be absolute"),
        ("/tmp:relative", "invalid volume specification: '/tmp:relative': invalid mount config for type \"bind\": invalid mount path: 'relative' mount path must be absolute"),
        ("./", "invalid volume specification: './': invalid mount config for type \"volume\": invalid mount path: './' mount path must be absolute"),
        ("/tmp:/", "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"),
        ("/", "invalid volume specification: '/': invalid mount config for type \"volume\": invalid specification: destination can't be '/'"),
        ("name:/absolute-path:shared", "invalid volume specification: 'name:/absolute-path:shared': invalid mount config for type \"volume\": field BindOptions must not be specified"),
        ("name:/absolute-path:rprivate", "invalid volume specification: 'name:/absolute-path:rprivate': invalid mount config for type \"volume\": field BindOptions must not be specified"),
        ("/tmp:/x:nocopy", "invalid volume specification: '/tmp:/x:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified"),
        ("x y:/x", "create x y: \"x y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("local/name:/tmp:rw", "create local/name: \"local/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("~/x:/x", "create ~/x: \"~/x\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
        ("a:/x", "create a: volume name is too short, names should be at least two alphanumeric characters"),
    ];
    for (s, want) in cases {
        match parse_volume_flag(s) {
            Ok(spec) => panic!("{s:?} accepted: {spec:?}"),
            Err(e) => assert_eq!(e.to_string(), *want, "{s:?}"),
        }
    }
}

#[test]
fn mount_flag_valid_forms() {
    let src = tempfile::tempdir().unwrap();
    let s = src.path().to_str().unwrap();
    let spec = parse_mount_flag("type=volume,src=mv1,dst=/m").unwrap();
    assert_eq!(spec.source, volume(Some("mv1"), false));
    assert_eq!(
        (spec.destination.as_str(), spec.mode_string.as_str()),
        ("/m", "z")
    );
    let spec = parse_mount_flag("type=volume,dst=/m").unwrap();
    assert_eq!(spec.source, volume(None, false));
    assert_eq!(spec.mode_string, "z");
    let spec = parse_mount_flag("target=/m").unwrap(); // volume is the default type
    assert_eq!(spec.source, volume(None, false));
    let spec = parse_mount_flag(&format!("type=bind,src={s},dst=/m,readonly")).unwrap();
    assert_eq!(spec.source, bind(s, false));
    assert!(spec.read_only);
    assert_eq!(spec.mode_string, "");
    let spec = parse_mount_flag(&format!(
        "type=bind,source={s},target=/m,ro=false,bind-propagation=rslave"
    ))
    .unwrap();
    assert!(!spec.read_only);
    assert_eq!(spec.propagation.as_deref(), Some("rslave"));
    let spec = parse_mount_flag(&format!("type=bind,src={s},dst=/m,bind-nonrecursive")).unwrap();
    assert!(matches!(
        spec.source,
        MountSource::Bind {
            recursive: false,
            read_only_non_recursive: false,
            ..
        }
    ));
    let spec = parse_mount_flag("type=tmpfs,dst=/m,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
    assert_eq!(
        spec.source,
        MountSource::Tmpfs {
            size: Some(64 << 20),
            mode: Some(0o1770),
            options: String::new()
        }
    );
    assert_eq!(spec.tmpfs_data(), "mode=1770,size=64m");
    let spec = parse_mount_flag(
        "type=volume,src=mv2,dst=/m,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=a=b,volume-driver=local",
    )
    .unwrap();
    assert_eq!(
        spec.source,
        MountSource::Volume {
            name: Some("mv2".into()),
            nocopy: true,
            driver: Some("local".into()),
            driver_opts: [("type", "tmpfs"), ("device", "tmpfs")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            labels: [("a".to_string(), "b".to_string())].into(),
            subpath: None,
        }
    );
    let spec = parse_mount_flag("type=volume,source=mv3,target=/m,ro=1").unwrap();
    assert!(spec.read_only);
    // CSV quoting, as encoding/csv reads it: a comma inside a quoted field.
    let spec = parse_mount_flag("type=volume,\"volume-opt=o=size=1m,uid=1000\",dst=/q").unwrap();
    let MountSource::Volume { driver_opts, .. } = spec.source else {
        panic!()
    };
    assert_eq!(driver_opts["o"], "size=1m,uid=1000");
    let spec = parse_mount_flag("type=volume,src=sv,dst=/m,volume-subpath=a//b/../c").unwrap();
    let MountSource::Volume { subpath, .. } = spec.source else {
        panic!()
    };
    assert_eq!(subpath.as_deref(), Some("a/c"));
}

#[test]
fn mount_flag_errors_match_docker() {
    let cli = |spec: &str, reason: &str| {
        format!("invalid argument \"{spec}\" for \"--mount\" flag: {reason}")
    };
    let cases: Vec<(&str, String)> = vec![
        ("type=bind,src=/nonexist,dst=/m", "invalid mount config for type \"bind\": bind source path does not exist: /nonexist".into()),
        ("type=volume", cli("type=volume", "target is required")),
        ("type=,dst=/m", cli("type=,dst=/m", "type is required")),
        ("dst=/m,foo", cli("dst=/m,foo", "invalid field 'foo' must be a key=value pair")),
        ("dst=/m,foo=bar", cli("dst=/m,foo=bar", "unexpected key 'foo' in 'foo=bar'")),
        ("type=tmpfs,dst=/m,tmpfs-size=abc", cli("type=tmpfs,dst=/m,tmpfs-size=abc", "invalid value for tmpfs-size: abc")),
        ("type=tmpfs,dst=/m,tmpfs-mode=999", cli("type=tmpfs,dst=/m,tmpfs-mode=999", "invalid value for tmpfs-mode: 999")),
        ("type=volume,dst=/m,ro=maybe", cli("type=volume,dst=/m,ro=maybe", "invalid value for ro: maybe")),
        ("type=volume,dst=/m,volume-nocopy=2", cli("type=volume,dst=/m,volume-nocopy=2", "invalid value for volume-nocopy: 2")),
        ("type=bind,src=/tmp,dst=/m,volume-nocopy", cli("type=bind,src=/tmp,dst=/m,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'")),
        ("type=volume,src=x,dst=/m,bind-propagation=shared", cli("type=volume,src=x,dst=/m,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'")),
        ("type=bind,src=/tmp,dst=/m,tmpfs-size=1m", cli("type=bind,src=/tmp,dst=/m,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'bind'")),
        ("type=bind,src=/tmp,dst=/m,bind-propagation=bogus", "invalid mount config for type \"bind\": invalid propagation mode: bogus".into()),
        ("type=tmpfs,src=x,dst=/m", "invalid mount config for type \"tmpfs\": field Source must not be specified".into()),
        ("type=bogus,dst=/m", "invalid mount config for type \"bogus\": mount type unknown".into()),
        ("type=volume,dst=rel", "invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute".into()),
        ("type=volume,dst=/m,ro", "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes".into()),
        ("type=bind,dst=/m", "invalid mount config for type \"bind\": field Source must not be empty".into()),
        ("type=bind,src=rel,dst=/m", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute".into()),
        ("type=volume,dst=/", "invalid mount config for type \"volume\": invalid specification: destination can't be '/'".into()),
        ("type=volume,src=vv,dst=/m,volume-subpath=../etc", "invalid mount config for type \"volume\": subpath must be a relative path within the volume".into()),
        ("type=volume,src=vv,dst=/m,volume-subpath=a/../../b", "invalid mount config for type \"volume\": subpath must be a relative path within the volume".into()),
        ("type=volume,src=vv,dst=/m,volume-subpath=/etc", "invalid mount config for type \"volume\": subpath must be a relative path within the volume".into()),
        ("type=volume,dst=/m,volume-subpath=a", "invalid mount config for type \"volume\": must not set Subpath when using anonymous volumes".into()),
        ("type=bind,src=/tmp,dst=/m,volume-subpath=a", cli("type=bind,src=/tmp,dst=/m,volume-subpath=a", "cannot mix 'volume-*' options with mount type 'bind'")),
        ("type=volume,src=x y,dst=/m", "create x y: \"x y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path".into()),
    ];
    for (s, want) in cases {
        match parse_mount_flag(s) {
            Ok(spec) => panic!("{s:?} accepted: {spec:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{s:?}"),
        }
    }
}

#[test]
fn tmpfs_flag() {
    let spec = parse_tmpfs_flag("/t2:size=1m,mode=700,ro").unwrap();
    assert_eq!(spec.destination, "/t2");
    assert!(spec.read_only);
    assert_eq!(spec.tmpfs_data(), "size=1m,mode=700,ro");
    assert_eq!(spec.origin, Origin::TmpfsFlag);
    let spec = parse_tmpfs_flag("/t1").unwrap();
    assert_eq!(spec.tmpfs_data(), "");
    for (s, want) in [
        ("x", "invalid mount path: 'x' mount path must be absolute"),
        ("/", "invalid specification: destination can't be '/'"),
        (
            "/a/..:size=1m",
            "invalid specification: destination can't be '/'",
        ),
    ] {
        assert_eq!(parse_tmpfs_flag(s).unwrap_err().to_string(), want, "{s}");
    }
}

#[test]
fn volumes_from() {
    assert_eq!(parse_volumes_from("c1").unwrap(), ("c1".into(), None));
    assert_eq!(
        parse_volumes_from("c1:ro").unwrap(),
        ("c1".into(), Some(true))
    );
    assert_eq!(
        parse_volumes_from("c1:rw").unwrap(),
        ("c1".into(), Some(false))
    );
    assert_eq!(parse_volumes_from("c1:z").unwrap(), ("c1".into(), None));
    for (s, want) in [
        ("", "volumes-from specification cannot be an empty string"),
        ("c1:bogus", "invalid mode: bogus"),
        ("c1:ro,shared", "invalid mode: ro,shared"),
        ("c1:nocopy", "invalid mode: nocopy"),
    ] {
        assert_eq!(parse_volumes_from(s).unwrap_err().to_string(), want, "{s}");
    }
}

fn with_origin(mut spec: MountSpec, origin: Origin) -> MountSpec {
    spec.origin = origin;
    spec
}

#[test]
fn duplicates_and_precedence() {
    let a = parse_volume_flag("/tmp:/x").unwrap();
    let b = parse_mount_flag("type=volume,dst=/x").unwrap();
    assert_eq!(
        check_duplicates(&[a.clone(), b]).unwrap_err().to_string(),
        "Duplicate mount point: /x"
    );
    let c = parse_volume_flag("vol:/x/").unwrap(); // cleaned to /x
    assert!(check_duplicates(&[a.clone(), c]).is_err());

    // An anonymous -v, an image VOLUME and --volumes-from give way.
    let anon = parse_volume_flag("/x").unwrap();
    let image = with_origin(parse_volume_flag("/x").unwrap(), Origin::ImageVolume);
    let from = with_origin(parse_volume_flag("shared:/x").unwrap(), Origin::VolumesFrom);
    let tmpfs = parse_tmpfs_flag("/x").unwrap();
    let kept = resolve(vec![image.clone(), anon.clone(), tmpfs.clone()]).unwrap();
    assert_eq!(kept, vec![tmpfs]);
    let kept = resolve(vec![anon.clone(), from.clone(), image.clone()]).unwrap();
    assert_eq!(kept, vec![from]);
    let kept = resolve(vec![image, anon.clone()]).unwrap();
    assert_eq!(kept, vec![anon]);
    let other = parse_volume_flag("/tmp:/y").unwrap();
    assert_eq!(
        resolve(vec![a.clone(), other.clone()]).unwrap(),
        vec![a, other]
    );
}

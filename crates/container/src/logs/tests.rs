use super::*;
use crate::model::Paths;

fn read(path: &Path, opts: &ReadOptions) -> Result<(Vec<Entry>, u64)> {
    read_with_live(path, path, opts)
}

fn settings(opts: &[(&str, &str)]) -> LogSettings {
    LogConfig {
        driver: "json-file".into(),
        options: opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
    .settings()
    .unwrap()
}

fn logs(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.log.clone()).collect()
}

#[test]
fn lines_partial_lines_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.log");
    let mut w = LogWriter::open(&path, &settings(&[]), BTreeMap::new()).unwrap();
    w.write(1, b"one\ntw").unwrap();
    w.write(2, b"err\n").unwrap();
    w.write(1, b"o\nthree").unwrap();
    w.flush().unwrap();
    let (all, _) = read(&path, &ReadOptions::default()).unwrap();
    let logs: Vec<_> = all
        .iter()
        .map(|e| (e.stream.as_str(), e.log.as_str()))
        .collect();
    assert_eq!(
        logs,
        vec![
            ("stdout", "one\n"),
            ("stderr", "err\n"),
            ("stdout", "two\n"),
            ("stdout", "three")
        ]
    );
    let (tail, offset) = read(
        &path,
        &ReadOptions {
            tail: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(tail.len(), 1);
    w.write(1, b"four\n").unwrap();
    let (more, _) = read_from(&path, offset, &ReadOptions::default()).unwrap();
    assert_eq!(more[0].log, "four\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(r#"{"log":"one\n","stream":"stdout","time":""#),
        "{text}"
    );
}

fn write_lines(w: &mut LogWriter, range: std::ops::Range<usize>) {
    for i in range {
        w.write(1, format!("line {i:04} {}\n", "x".repeat(40)).as_bytes())
            .unwrap();
    }
}

#[test]
fn files_rotate_at_max_size_and_are_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let s = settings(&[("max-size", "2k"), ("max-file", "3")]);
    let mut w = LogWriter::open(&path, &s, BTreeMap::new()).unwrap();
    write_lines(&mut w, 0..200);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["c-json.log", "c-json.log.1", "c-json.log.2"]);
    for name in &names {
        let size = std::fs::metadata(dir.path().join(name)).unwrap().len();
        // At most one entry past max-size, as Docker's.
        assert!(size < 2000 + 120, "{name}: {size}");
    }
    let (all, _) = read(&path, &ReadOptions::default()).unwrap();
    let numbers: Vec<usize> = logs(&all)
        .iter()
        .map(|l| l[5..9].parse().unwrap())
        .collect();
    assert_eq!(*numbers.last().unwrap(), 199);
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    assert!(numbers.len() > 40 && numbers.len() < 200);
    let tail = ReadOptions {
        tail: Some(30),
        ..Default::default()
    };
    let (last, _) = read(&path, &tail).unwrap();
    assert_eq!(last.len(), 30);
    assert!(last[29].log.starts_with("line 0199"));
    assert!(last[0].log.starts_with("line 0170"));
}

#[test]
fn one_file_is_truncated_and_rotated_files_are_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.log");
    let s = settings(&[("max-size", "1k"), ("max-file", "1")]);
    let mut w = LogWriter::open(&one, &s, BTreeMap::new()).unwrap();
    write_lines(&mut w, 0..100);
    assert!(std::fs::metadata(&one).unwrap().len() < 1100);
    assert!(!dir.path().join("one.log.1").exists());

    let gz = dir.path().join("gz.log");
    let s = settings(&[("max-size", "1k"), ("max-file", "3"), ("compress", "true")]);
    let mut w = LogWriter::open(&gz, &s, BTreeMap::new()).unwrap();
    write_lines(&mut w, 0..100);
    for n in [1, 2] {
        let rotated = rotated_name(&gz, n, true);
        let bytes = std::fs::read(&rotated).unwrap();
        assert_eq!(&bytes[..2], [0x1f, 0x8b], "{}", rotated.display());
        assert!(!rotated_name(&gz, n, false).exists());
    }
    assert!(!rotated_name(&gz, 3, true).exists());
    let (all, _) = read(&gz, &ReadOptions::default()).unwrap();
    let all = logs(&all);
    assert!(all.last().unwrap().starts_with("line 0099"));
    assert!(all.len() > 15, "{}", all.len());
}

#[test]
fn attributes_go_between_stream_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let attrs: BTreeMap<String, String> = [("tag".to_string(), "web".to_string())].into();
    let mut w = LogWriter::open(&path, &settings(&[]), attrs.clone()).unwrap();
    w.write(2, b"x\n").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(r#"{"log":"x\n","stream":"stderr","attrs":{"tag":"web"},"time":""#),
        "{text}"
    );
    let (all, _) = read(&path, &ReadOptions::default()).unwrap();
    assert_eq!(all[0].attrs, attrs);
}

#[test]
fn cri_lines_and_a_reopen_after_kubelets_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c/0.log");
    let cri = LogConfig {
        driver: "cri".into(),
        options: [("path".to_string(), path.display().to_string())].into(),
    };
    let s = cri.settings().unwrap();
    assert_eq!(s.path(&Paths::new(dir.path(), "x")), Some(path.clone()));
    let mut w = LogWriter::open(&path, &s, BTreeMap::new()).unwrap();
    w.write(1, b"one\npart").unwrap();
    w.write(2, b"err\n").unwrap();
    w.flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<(&str, &str)> = text.lines().map(|l| l.split_once(' ').unwrap()).collect();
    let rest: Vec<&str> = lines.iter().map(|(_, r)| *r).collect();
    assert_eq!(rest, ["stdout F one", "stderr F err", "stdout P part"]);
    for (time, _) in &lines {
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert!(time.ends_with('Z'), "{time}");
    }
    // kubelet's rotation: rename, then the next write goes to a new file.
    std::fs::rename(&path, dir.path().join("c/0.log.1")).unwrap();
    w.write(1, b"after\n").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with(" stdout F after\n"), "{text}");
    // The path option is required and absolute.
    let relative = LogConfig {
        driver: "cri".into(),
        options: [("path".to_string(), "x.log".to_string())].into(),
    };
    assert!(relative.settings().is_err());
}

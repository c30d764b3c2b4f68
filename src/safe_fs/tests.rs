use super::*;

#[test]
fn commit_replaces_and_keeps_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.wav");
    fs::write(&target, b"old").unwrap();
    let mut f = AtomicFile::create(&target).unwrap();
    f.writer().write_all(b"new").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"old", "untouched until commit");
    let backup = dir.path().join(".callscope/backup/x/a.wav");
    f.commit(Some(&backup)).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert_eq!(fs::read(&backup).unwrap(), b"old");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left beside the target"
    );
    // A recording's file keeps the original's mode; a file callscope
    // writes for its user gets 0666 less the umask (the output mode),
    // whatever it replaces.
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let mut f = AtomicFile::replace(&target).unwrap();
    f.writer().write_all(b"newer").unwrap();
    f.commit(None).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&target), 0o640);
    let fresh = dir.path().join("fresh");
    AtomicFile::create(&fresh).unwrap().commit(None).unwrap();
    fs::set_permissions(&fresh, fs::Permissions::from_mode(0o646)).unwrap();
    AtomicFile::create(&fresh).unwrap().commit(None).unwrap();
    // SAFETY: umask only reads and sets this process's mask.
    let umask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    assert_eq!(mode(&fresh), 0o666 & !(umask as u32));
}

#[test]
fn a_live_runs_temp_is_not_stale_and_a_dead_ones_is() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.wav");
    let f = AtomicFile::create(&target).unwrap();
    let live = f.temp().file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        live.contains(&format!(".{}-", std::process::id())),
        "{live}"
    );
    assert!(
        stale_temps(dir.path()).unwrap().is_empty(),
        "our own temp is live"
    );
    // A pid that cannot exist (above the kernel's pid_max).
    let dead = dir.path().join(".a.wav.2147483646-abcdef.callscope-tmp");
    fs::write(&dead, b"x").unwrap();
    assert_eq!(stale_temps(dir.path()).unwrap(), vec![dead.clone()]);
    remove_stale_temps(dir.path()).unwrap();
    assert!(!dead.exists() && f.temp().exists());
}

#[test]
fn a_backup_never_replaces_an_earlier_one_even_in_the_same_second() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.wav");
    let backup = dir.path().join("b/a.wav");
    for (i, content) in [b"one", b"two", b"thr"].iter().enumerate() {
        fs::write(&target, content).unwrap();
        let kept = keep_backup(&target, &backup).unwrap();
        assert_eq!(kept, numbered(&backup, i));
        // The original is replaced by a rename, as AtomicFile does, so
        // the hard-linked backup keeps the old bytes.
        let next = dir.path().join("next");
        fs::write(&next, b"new").unwrap();
        fs::rename(&next, &target).unwrap();
    }
    assert_eq!(fs::read(&backup).unwrap(), b"one");
    assert_eq!(fs::read(numbered(&backup, 1)).unwrap(), b"two");
    assert_eq!(fs::read(numbered(&backup, 2)).unwrap(), b"thr");
}

#[test]
fn a_backup_name_taken_by_a_hard_link_of_the_original_is_never_written_to() {
    // Two repairs at once: the other one's backup is a hard link of the
    // same original, under the name this one would have used.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.wav");
    fs::write(&target, b"the only copy").unwrap();
    let backup = dir.path().join("a.bak");
    fs::hard_link(&target, &backup).unwrap();
    let kept = keep_backup(&target, &backup).unwrap();
    assert_eq!(kept, numbered(&backup, 1));
    assert_eq!(fs::read(&target).unwrap(), b"the only copy");
    assert_eq!(fs::read(&backup).unwrap(), b"the only copy");
}

#[test]
fn special_files_are_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("transcript.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let e = open_regular(&fifo).unwrap_err();
    assert!(e.to_string().contains("a FIFO"), "{e}");
    let e = sha256_file(Path::new("/dev/zero")).unwrap_err();
    assert!(e.to_string().contains("character device"), "{e}");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
    assert!(open_regular(&link).is_err());
}

#[test]
fn dropped_without_commit_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.wav");
    {
        let mut f = AtomicFile::create(&target).unwrap();
        f.writer().write_all(b"partial").unwrap();
    }
    assert!(!target.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stale_temps_are_found_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".bot_audio.wav.callscope-tmp"), b"x").unwrap();
    fs::write(dir.path().join("bot_audio.wav"), b"y").unwrap();
    let removed = remove_stale_temps(dir.path()).unwrap();
    assert_eq!(removed.len(), 1);
    assert!(dir.path().join("bot_audio.wav").exists());
}

#[test]
fn sha256_of_known_text() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    fs::write(&p, b"abc").unwrap();
    assert_eq!(
        sha256_file(&p).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

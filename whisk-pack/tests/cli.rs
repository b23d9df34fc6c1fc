//! The `whisk-pack` command, run as a user runs it.

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("whisk-pack-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A made-up ELF64 executable of about 200 KB; with `interpreter`, one
/// program header of type `PT_INTERP` (as a dynamically linked binary has).
fn fake_elf(interpreter: bool) -> Vec<u8> {
    let mut elf = vec![0u8; 64 + 56];
    elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
    if interpreter {
        elf[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        elf[64..68].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
    }
    elf.extend((0..200_000u32).map(|i| (i % 7) as u8));
    elf
}

fn whisk_pack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_whisk-pack"))
}

#[test]
fn packs_a_binary_as_exec_with_mode_0755() {
    let dir = temp_dir("pack");
    let binary = dir.join("reverse");
    std::fs::write(&binary, fake_elf(false)).unwrap();
    let zip_path = dir.join("action.zip");
    let out = whisk_pack()
        .arg(&binary)
        .arg("-o")
        .arg(&zip_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("(static ELF, 200120 bytes, mode 0755)"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    let zip_bytes = std::fs::read(&zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip_bytes)).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), "exec");
    assert!(entry.is_file());
    assert_eq!(entry.unix_mode(), Some(0o100_755));
    assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
    let mut contents = Vec::new();
    entry.read_to_end(&mut contents).unwrap();
    assert_eq!(contents, std::fs::read(&binary).unwrap());
    assert!(zip_bytes.len() < contents.len(), "deflate shrinks a binary");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn warns_about_a_dynamically_linked_binary() {
    let dir = temp_dir("dynamic");
    let binary = dir.join("dynamic");
    std::fs::write(&binary, fake_elf(true)).unwrap();
    let out = whisk_pack()
        .arg(&binary)
        .arg("-o")
        .arg(dir.join("d.zip"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("dynamically linked ELF"), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(dir.join("d.zip").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exec_env_for_the_go_kinds() {
    let dir = temp_dir("exec-env");
    let binary = dir.join("reverse");
    std::fs::write(&binary, fake_elf(false)).unwrap();
    let zip_path = dir.join("go.zip");
    let out = whisk_pack()
        .arg(&binary)
        .args(["--exec-env", "openwhisk/action-golang-v1.22", "-o"])
        .arg(&zip_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip_bytes = std::fs::read(&zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    assert_eq!(
        archive.file_names().collect::<Vec<_>>(),
        ["exec", "exec.env"]
    );
    let mut text = String::new();
    archive
        .by_name("exec.env")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "openwhisk/action-golang-v1.22\n");
    assert_eq!(
        archive.by_name("exec").unwrap().unix_mode(),
        Some(0o100_755)
    );

    let out = whisk_pack()
        .arg(&binary)
        .args(["--exec-env", ""])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_output_is_action_zip() {
    let dir = temp_dir("default");
    let script = dir.join("exec.sh");
    std::fs::write(&script, "#!/bin/sh\necho '{\"ok\":true}'\n").unwrap();
    let out = whisk_pack()
        .current_dir(&dir)
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip_bytes = std::fs::read(dir.join("action.zip")).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    assert_eq!(archive.file_names().collect::<Vec<_>>(), ["exec"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_what_cannot_run_and_bad_usage() {
    let dir = temp_dir("refuse");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a program").unwrap();
    let out = whisk_pack()
        .arg(&text)
        .arg("-o")
        .arg(dir.join("x.zip"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an executable"));
    assert!(!dir.join("x.zip").exists(), "nothing is written");

    let out = whisk_pack().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing BINARY"));
    let out = whisk_pack().args(["a", "b"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = whisk_pack().arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = whisk_pack().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--native"));
    let _ = std::fs::remove_dir_all(&dir);
}

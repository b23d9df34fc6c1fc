//! `cargo whisk build`, `pack` and `image`, end to end on a generated crate:
//! the static binaries answer `/init` and `/run` (aarch64 under qemu), the
//! zip holds `exec` with mode 0755, and the image is reproducible, read by
//! skopeo and umoci, and serves from a chroot into its unpacked root.

mod support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use support::{
    TempDir, assert_reverses, built_path, cargo_whisk, have, hello, output, serve, success,
};

/// In CI every tool must be there; elsewhere a missing one skips its check.
fn require(program: &str, what: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{program} is missing; .ci/run installs it"
    );
    eprintln!("SKIPPED {what}: {program} is not installed (apt-get install {program})");
    false
}

fn whisk_in(dir: &Path) -> Command {
    let mut command = cargo_whisk();
    command.current_dir(dir).arg("whisk");
    command
}

#[test]
fn build_x86_64_is_static_and_serves() {
    let out = success(whisk_in(hello()).arg("build"));
    let binary = built_path(&out.stderr);
    assert!(
        binary.ends_with("x86_64-unknown-linux-musl/release/hello"),
        "{}",
        binary.display()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Built hello (x86_64-unknown-linux-musl, "),
        "{stderr}"
    );
    let elf = std::fs::read(&binary).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[0x12], 62, "e_machine is x86_64");
    let served = serve(Command::new(&binary));
    assert_reverses(served.port);
}

#[test]
fn build_aarch64_runs_under_qemu() {
    if !require("qemu-aarch64-static", "running the aarch64 build") {
        return;
    }
    let out = success(whisk_in(hello()).args(["build", "--arm64"]));
    let binary = built_path(&out.stderr);
    assert!(
        binary.ends_with("aarch64-unknown-linux-musl/release/hello"),
        "{}",
        binary.display()
    );
    let elf = std::fs::read(&binary).unwrap();
    assert_eq!(elf[0x12], 183, "e_machine is aarch64");
    let mut qemu = Command::new("qemu-aarch64-static");
    qemu.arg(&binary);
    let served = serve(qemu);
    assert_reverses(served.port);
}

#[test]
fn build_names_the_rustup_command_for_a_missing_target() {
    // A sysroot with no target libraries: what rustc reports for a target
    // that `rustup target add` has not installed.
    let dir = TempDir::new("no-target");
    let rustc = dir.0.join("rustc");
    std::fs::write(
        &rustc,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --print ]; then echo {}/nowhere; exit 0; fi\nexec rustc \"$@\"\n",
            dir.0.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rustc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = output(
        whisk_in(hello())
            .env("RUSTC", &rustc)
            .args(["build", "--arm64"]),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("help: install it with: rustup target add aarch64-unknown-linux-musl"),
        "{stderr}"
    );
}

#[test]
fn pack_writes_exec_with_mode_0755() {
    let dir = TempDir::new("pack");
    let zip_path = dir.0.join("hello.zip");
    let out = success(whisk_in(hello()).arg("pack").arg("-o").arg(&zip_path));
    let binary = built_path(&out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(static ELF, "), "{stderr}");
    assert!(stderr.contains("wsk action create hello"), "{stderr}");

    if require("unzip", "the unzip listing") {
        let listing = success(Command::new("unzip").arg("-Z").arg(&zip_path));
        let listing = String::from_utf8_lossy(&listing.stdout);
        let entries: Vec<&str> = listing.lines().filter(|l| l.starts_with('-')).collect();
        assert_eq!(entries.len(), 1, "{listing}");
        assert!(entries[0].starts_with("-rwxr-xr-x"), "{listing}");
        assert!(entries[0].ends_with(" exec"), "{listing}");
    }
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    assert_eq!(archive.file_names().collect::<Vec<_>>(), ["exec"]);
    let mut entry = archive.by_name("exec").unwrap();
    assert_eq!(entry.unix_mode(), Some(0o100_755));
    assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
    let mut contents = Vec::new();
    entry.read_to_end(&mut contents).unwrap();
    assert_eq!(contents, std::fs::read(binary).unwrap());
}

/// A made-up ELF64 executable; with `interpreter`, one `PT_INTERP` header.
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

#[test]
fn pack_binary_exec_env_warnings_and_refusals() {
    let dir = TempDir::new("pack-binary");
    let pack = |args: &[&str]| {
        let mut command = cargo_whisk();
        command
            .current_dir(&dir.0)
            .args(["whisk", "pack"])
            .args(args);
        output(&mut command)
    };
    std::fs::write(dir.0.join("static"), fake_elf(false)).unwrap();
    std::fs::write(dir.0.join("dynamic"), fake_elf(true)).unwrap();
    std::fs::write(dir.0.join("notes.txt"), "not a program").unwrap();

    let out = pack(&[
        "--binary",
        "static",
        "--exec-env",
        "openwhisk/action-golang-v1.22",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(static ELF, 200120 bytes, mode 0755)"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(dir.0.join("static.zip")).unwrap()).unwrap();
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

    let out = pack(&["--binary", "dynamic", "-o", "d.zip"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dynamically linked ELF"), "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(dir.0.join("d.zip").exists());

    let out = pack(&["--binary", "notes.txt", "-o", "x.zip"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an executable"));
    assert!(!dir.0.join("x.zip").exists(), "nothing is written");

    let out = pack(&["--binary", "static", "--exec-env", ""]);
    assert_eq!(out.status.code(), Some(2));
}

/// Reads one entry of a tar.
fn tar_entry(tar: &[u8], name: &str) -> Vec<u8> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return bytes;
        }
    }
    panic!("no {name} in the tar")
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn image_is_reproducible_and_read_by_skopeo_umoci_and_a_chroot() {
    let dir = TempDir::new("image");
    let (a, b) = (dir.0.join("a.tar"), dir.0.join("b.tar"));
    let first = success(whisk_in(hello()).arg("image").arg("-o").arg(&a));
    let second = success(
        whisk_in(hello())
            .args(["image", "-t", "hello:latest", "-o"])
            .arg(&b),
    );
    let digest = String::from_utf8_lossy(&first.stdout).trim().to_owned();
    assert!(digest.starts_with("hello:latest sha256:"), "{digest}");
    assert_eq!(
        digest,
        String::from_utf8_lossy(&second.stdout).trim(),
        "same digest twice"
    );
    let tar = std::fs::read(&a).unwrap();
    assert_eq!(tar, std::fs::read(&b).unwrap(), "the same bytes twice");
    let stderr = String::from_utf8_lossy(&first.stderr);
    for command in [
        "docker load -i ",
        "docker push ",
        "wsk action create hello --docker ",
    ] {
        assert!(stderr.contains(command), "{command} in {stderr}");
    }
    let digest = digest.split_once(' ').unwrap().1.to_owned();

    // What `docker load` reads: manifest.json names the config and layer.
    let docker = json(&tar_entry(&tar, "manifest.json"));
    assert_eq!(docker.as_array().unwrap().len(), 1, "{docker}");
    assert_eq!(docker[0]["RepoTags"], serde_json::json!(["hello:latest"]));
    let config_path = docker[0]["Config"].as_str().unwrap();
    let layer_path = docker[0]["Layers"][0].as_str().unwrap();
    let manifest = json(&tar_entry(&tar, &format!("blobs/sha256/{}", &digest[7..])));
    assert_eq!(
        format!(
            "blobs/sha256/{}",
            &manifest["config"]["digest"].as_str().unwrap()[7..]
        ),
        config_path
    );
    assert_eq!(
        format!(
            "blobs/sha256/{}",
            &manifest["layers"][0]["digest"].as_str().unwrap()[7..]
        ),
        layer_path
    );
    let config = json(&tar_entry(&tar, config_path));
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/hello"])
    );
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["WHISK_MODE=http"])
    );
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(
        config["config"]["ExposedPorts"],
        serde_json::json!({"8080/tcp": {}})
    );
    assert_eq!(config["created"], "1970-01-01T00:00:00Z");
    assert_eq!(
        tar_entry(&tar, layer_path).len() as u64,
        manifest["layers"][0]["size"].as_u64().unwrap()
    );

    if require("skopeo", "skopeo inspect") {
        let out = success(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("oci-archive:{}", a.display())),
        );
        let inspected = json(&out.stdout);
        assert_eq!(inspected["Digest"], digest.as_str());
        assert_eq!(inspected["Architecture"], "amd64");
        assert_eq!(inspected["Os"], "linux");
    }
    if !require("umoci", "umoci unpack and the chroot") {
        return;
    }
    let bundle = dir.0.join("bundle");
    success(
        Command::new("umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:latest", dir.0.join("a.oci").display()))
            .arg(&bundle),
    );
    let root = bundle.join("rootfs");
    let files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["hello"], "the root holds only the binary");
    let mode = std::fs::metadata(root.join("hello"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    // As the image's user, in the image's root and nothing else.
    let mut chroot = Command::new("chroot");
    chroot
        .arg("--userspec=65532:65532")
        .arg(&root)
        .arg("/hello");
    if not_root() {
        eprintln!("SKIPPED the chroot: it needs root");
        return;
    }
    let served = serve(chroot);
    assert_reverses(served.port);
}

fn not_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() != "0")
        .unwrap_or(true)
}

#[test]
fn image_all_arch_writes_an_index() {
    if !require("skopeo", "the multi-arch image") {
        return;
    }
    let dir = TempDir::new("all-arch");
    let tar_path = dir.0.join("multi.tar");
    let out = success(
        whisk_in(hello())
            .args(["image", "--all-arch", "-t", "me/hello:v1", "-o"])
            .arg(&tar_path),
    );
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let digest = digest
        .strip_prefix("me/hello:v1 ")
        .expect("the name and digest")
        .to_owned();
    let tar = std::fs::read(&tar_path).unwrap();
    let index = json(&tar_entry(&tar, &format!("blobs/sha256/{}", &digest[7..])));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let arches: Vec<_> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    let docker = json(&tar_entry(&tar, "manifest.json"));
    assert_eq!(docker[0]["RepoTags"], serde_json::json!(["me/hello:v1"]));
    assert_eq!(
        docker[1]["RepoTags"],
        serde_json::json!(["me/hello:v1-arm64"])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skopeo copy --all oci-archive:"),
        "{stderr}"
    );
    // skopeo copies the index with both images, digest unchanged.
    let copy = dir.0.join("copy");
    success(
        Command::new("skopeo")
            .args(["copy", "--all"])
            .arg(format!("oci-archive:{}", tar_path.display()))
            .arg(format!("oci:{}:v1", copy.display())),
    );
    let copied = json(&std::fs::read(copy.join("index.json")).unwrap());
    assert_eq!(
        copied["manifests"][0]["digest"],
        digest.as_str(),
        "{copied}"
    );
    for arch in ["amd64", "arm64"] {
        let out = success(
            Command::new("skopeo")
                .args(["--override-arch", arch, "inspect"])
                .arg(format!("oci-archive:{}", tar_path.display())),
        );
        assert_eq!(json(&out.stdout)["Architecture"], arch);
    }
}

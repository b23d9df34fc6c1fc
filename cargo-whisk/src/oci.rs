//! A `FROM scratch` OCI image of one static binary, written with no daemon
//! and no external tool: one gzipped layer holding the binary, its config and
//! manifest (for `--all-arch`, one per architecture under an image index), as
//! an OCI image layout and as one tar that `docker load` (through Docker's
//! `manifest.json`) and `skopeo`/`podman` (`oci-archive:`) both read.
//!
//! Every timestamp is the Unix epoch and every owner root, so the same binary
//! always gives the same digest.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use flate2::{Compression, GzBuilder};
use oci_spec::image::{
    ANNOTATION_REF_NAME, Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest,
    HistoryBuilder, ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Os, PlatformBuilder, RootFsBuilder, Sha256Digest,
};
use sha2::{Digest as _, Sha256};

/// The image's user and group: not root (65532, as distroless' `nonroot`).
pub const USER: &str = "65532:65532";

/// The port whisk serves in HTTP mode, as OpenWhisk's invoker expects.
pub const PORT: &str = "8080/tcp";

/// The time every entry and document carries.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The annotation containerd's (and so Docker's containerd store's) importer
/// reads an image's full name from.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// A content-addressed blob: a document or a layer.
#[derive(Clone, Debug)]
pub struct Blob {
    /// Its media type.
    pub media_type: MediaType,
    /// `sha256:` of its bytes.
    pub digest: Digest,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(media_type: MediaType, bytes: Vec<u8>) -> anyhow::Result<Blob> {
        Ok(Blob {
            media_type,
            digest: sha256(&bytes)?,
            bytes,
        })
    }

    /// The blob's hex digest, its file name under `blobs/sha256/`.
    pub fn hex(&self) -> &str {
        self.digest.digest()
    }

    fn descriptor(&self) -> anyhow::Result<DescriptorBuilder> {
        Ok(DescriptorBuilder::default()
            .media_type(self.media_type.clone())
            .digest(self.digest.clone())
            .size(self.bytes.len() as u64))
    }

    fn path(&self) -> String {
        format!("blobs/sha256/{}", self.hex())
    }
}

/// A document's JSON with every object's keys sorted: oci-spec keeps
/// annotations in a `HashMap`, whose order changes from run to run.
fn document(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
                )
            }
            serde_json::Value::Array(items) => items.into_iter().map(sorted).collect(),
            other => other,
        }
    }
    Ok(serde_json::to_vec(&sorted(serde_json::to_value(value)?))?)
}

fn sha256(bytes: &[u8]) -> anyhow::Result<Digest> {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Sha256Digest::from_str(&hex)?.into())
}

/// The image of one binary for one architecture.
#[derive(Clone, Debug)]
pub struct Image {
    /// `amd64` or `arm64`.
    pub arch: &'static str,
    /// The gzipped layer.
    pub layer: Blob,
    /// The image configuration.
    pub config: Blob,
    /// The manifest naming both.
    pub manifest: Blob,
}

impl Image {
    /// Builds the image of `binary`, stored as `/FILE` and run as the
    /// entrypoint with `WHISK_MODE=http` by user [`USER`], exposing [`PORT`].
    pub fn new(binary: &[u8], file: &str, arch: &'static str) -> anyhow::Result<Image> {
        let tar = layer_tar(binary, file)?;
        let diff_id = sha256(&tar)?;
        let mut gzip = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::best());
        gzip.write_all(&tar)?;
        let layer = Blob::new(MediaType::ImageLayerGzip, gzip.finish()?)?;

        let config = ConfigBuilder::default()
            .user(USER)
            .env(vec!["WHISK_MODE=http".to_owned()])
            .entrypoint(vec![format!("/{file}")])
            .exposed_ports(vec![PORT.to_owned()])
            .working_dir("/")
            .build()?;
        let configuration = ImageConfigurationBuilder::default()
            .created(EPOCH)
            .architecture(oci_arch(arch)?)
            .os(Os::Linux)
            .config(config)
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(vec![diff_id.to_string()])
                    .build()?,
            )
            .history(vec![
                HistoryBuilder::default()
                    .created(EPOCH)
                    .created_by(format!("cargo whisk image: COPY {file} /{file}"))
                    .build()?,
            ])
            .build()?;
        let config = Blob::new(MediaType::ImageConfig, document(&configuration)?)?;

        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor()?.build()?)
            .layers(vec![layer.descriptor()?.build()?])
            .build()?;
        let manifest = Blob::new(MediaType::ImageManifest, document(&manifest)?)?;
        Ok(Image {
            arch,
            layer,
            config,
            manifest,
        })
    }

    fn platform_descriptor(&self) -> anyhow::Result<Descriptor> {
        let platform = PlatformBuilder::default()
            .architecture(oci_arch(self.arch)?)
            .os(Os::Linux)
            .build()?;
        Ok(self.manifest.descriptor()?.platform(platform).build()?)
    }
}

fn oci_arch(arch: &str) -> anyhow::Result<Arch> {
    match arch {
        "amd64" => Ok(Arch::Amd64),
        "arm64" => Ok(Arch::ARM64),
        other => anyhow::bail!("no OCI architecture for {other}"),
    }
}

/// The layer: one regular file `FILE`, mode 0755, owned by root, at the epoch.
fn layer_tar(binary: &[u8], file: &str) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = fixed_header(tar::EntryType::Regular, binary.len() as u64, 0o755);
    tar.append_data(&mut header, file, binary)
        .with_context(|| format!("{file:?} cannot name a file in the image"))?;
    Ok(tar.into_inner()?)
}

/// An image's name split as Docker and OCI tools use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `NAME` (with its registry and path, if given).
    pub name: String,
    /// The tag, `latest` when none was given.
    pub tag: String,
}

impl Reference {
    /// Parses `NAME[:TAG]`, refusing what Docker would refuse.
    pub fn parse(text: &str) -> anyhow::Result<Reference> {
        let (name, tag) = match text.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (text, "latest"),
        };
        let name_ok = !name.is_empty()
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c))
            });
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok || !tag_ok {
            anyhow::bail!(
                "{text:?} is not an image name: use NAME[:TAG] with a lowercase NAME \
                 (letters, digits, `.`, `_`, `-`, `/`) and a TAG of letters, digits, `.`, `_`, `-`"
            );
        }
        Ok(Reference {
            name: name.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// The name Docker's containerd store gives it (`docker.io/library/...`).
    fn canonical(&self) -> String {
        let first = self.name.split('/').next().unwrap_or_default();
        let registry = self.name.contains('/')
            && (first.contains('.') || first.contains(':') || first == "localhost");
        let name = match (registry, self.name.contains('/')) {
            (true, _) => self.name.clone(),
            (false, true) => format!("docker.io/{}", self.name),
            (false, false) => format!("docker.io/library/{}", self.name),
        };
        format!("{name}:{}", self.tag)
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// An OCI image layout: its blobs and `index.json`, plus Docker's
/// `manifest.json` for `docker load`.
#[derive(Debug)]
pub struct Layout {
    /// Every blob, each once.
    pub blobs: Vec<Blob>,
    /// `index.json`.
    pub index_json: Vec<u8>,
    /// Docker's `manifest.json`.
    pub docker_manifest: Vec<u8>,
    /// What a registry would name the image by: the manifest, or for several
    /// architectures the image index.
    pub top: Blob,
}

impl Layout {
    /// The layout of `images` (one per architecture) named `reference`.
    pub fn new(images: &[Image], reference: &Reference) -> anyhow::Result<Layout> {
        let mut blobs = Vec::new();
        for image in images {
            blobs.extend([
                image.layer.clone(),
                image.config.clone(),
                image.manifest.clone(),
            ]);
        }
        let top = match images {
            [image] => image.manifest.clone(),
            _ => {
                let manifests = images
                    .iter()
                    .map(Image::platform_descriptor)
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let index = ImageIndexBuilder::default()
                    .schema_version(2u32)
                    .media_type(MediaType::ImageIndex)
                    .manifests(manifests)
                    .build()?;
                let index = Blob::new(MediaType::ImageIndex, document(&index)?)?;
                blobs.push(index.clone());
                index
            }
        };
        let annotations = HashMap::from([
            (ANNOTATION_REF_NAME.to_owned(), reference.tag.clone()),
            (CONTAINERD_NAME.to_owned(), reference.canonical()),
        ]);
        let mut top_descriptor = top.descriptor()?.annotations(annotations);
        if let [image] = images {
            top_descriptor = top_descriptor.platform(
                PlatformBuilder::default()
                    .architecture(oci_arch(image.arch)?)
                    .os(Os::Linux)
                    .build()?,
            );
        }
        let index_json = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![top_descriptor.build()?])
            .build()?;
        let index_json = document(&index_json)?;
        // Docker's store holds one architecture per name: with several, the
        // first (amd64) takes the name and the others `TAG-ARCH`.
        // `manifest.json`'s entries, as `docker save` writes them.
        let entries: Vec<serde_json::Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| {
                let tag = if i == 0 {
                    reference.to_string()
                } else {
                    format!("{}:{}-{}", reference.name, reference.tag, image.arch)
                };
                serde_json::json!({
                    "Config": image.config.path(),
                    "RepoTags": [tag],
                    "Layers": [image.layer.path()],
                })
            })
            .collect();
        Ok(Layout {
            blobs,
            index_json,
            docker_manifest: serde_json::to_vec(&entries)?,
            top,
        })
    }

    /// The files of the layout, path and content, in a fixed order.
    fn files(&self) -> Vec<(String, &[u8])> {
        let mut files = vec![
            ("oci-layout".to_owned(), OCI_LAYOUT.as_bytes()),
            ("index.json".to_owned(), &self.index_json[..]),
            ("manifest.json".to_owned(), &self.docker_manifest[..]),
        ];
        files.extend(self.blobs.iter().map(|b| (b.path(), &b.bytes[..])));
        files
    }

    /// The bytes a registry stores for the image: every blob once.
    pub fn compressed_size(&self) -> u64 {
        self.blobs.iter().map(|b| b.bytes.len() as u64).sum()
    }

    /// Writes the layout into `dir`, which must not exist or be a layout
    /// already (then it is replaced).
    pub fn write_dir(&self, dir: &Path) -> anyhow::Result<()> {
        if dir.exists() {
            anyhow::ensure!(
                dir.join("oci-layout").is_file(),
                "{} exists and is not an OCI image layout; it is left alone\n\
                 help: choose another directory with --layout DIR",
                dir.display()
            );
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("could not replace {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("blobs/sha256"))
            .with_context(|| format!("could not create {}", dir.display()))?;
        for (path, bytes) in self.files() {
            std::fs::write(dir.join(&path), bytes)
                .with_context(|| format!("could not write {}", dir.join(&path).display()))?;
        }
        Ok(())
    }

    /// The layout as one tar (`oci-archive:` and `docker load`), with fixed
    /// metadata so the same image always gives the same bytes.
    pub fn to_tar(&self) -> anyhow::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        for dir in ["blobs/", "blobs/sha256/"] {
            let mut header = fixed_header(tar::EntryType::Directory, 0, 0o755);
            tar.append_data(&mut header, dir, std::io::empty())?;
        }
        for (path, bytes) in self.files() {
            let mut header = fixed_header(tar::EntryType::Regular, bytes.len() as u64, 0o644);
            tar.append_data(&mut header, path, bytes)?;
        }
        Ok(tar.into_inner()?)
    }
}

/// A tar header owned by root, at the epoch.
fn fixed_header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

/// The `oci-layout` file, as oci-spec writes it.
static OCI_LAYOUT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    OciLayoutBuilder::default()
        .image_layout_version("1.0.0")
        .build()
        .map(|layout| serde_json::to_string(&layout).unwrap_or_default())
        .unwrap_or_default()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_binary_gives_the_same_image() {
        let a = Image::new(b"\x7fELF binary", "hello", "amd64").unwrap();
        let b = Image::new(b"\x7fELF binary", "hello", "amd64").unwrap();
        assert_eq!(a.manifest.digest, b.manifest.digest);
        let c = Image::new(b"\x7fELF other", "hello", "amd64").unwrap();
        assert_ne!(a.manifest.digest, c.manifest.digest);
        let reference = Reference::parse("hello").unwrap();
        let (la, lb) = (
            Layout::new(&[a], &reference).unwrap(),
            Layout::new(&[b], &reference).unwrap(),
        );
        assert_eq!(la.to_tar().unwrap(), lb.to_tar().unwrap());
    }

    #[test]
    fn references() {
        let r = Reference::parse("hello").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_str()), ("hello", "latest"));
        assert_eq!(r.canonical(), "docker.io/library/hello:latest");
        let r = Reference::parse("localhost:5000/me/hello:v1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/me/hello", "v1")
        );
        assert_eq!(r.canonical(), "localhost:5000/me/hello:v1");
        assert_eq!(
            Reference::parse("me/hello:v1").unwrap().canonical(),
            "docker.io/me/hello:v1"
        );
        for bad in ["", "Hello", "hello:", "hello:-x", "a//b", "hello:a b"] {
            assert!(Reference::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! `cargo whisk image`: the action's OCI image, built without a Docker
//! daemon or any external tool (see [`crate::oci`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::build::{self, Target, human_size};
use crate::oci::{Image, Layout, Reference};
use crate::ui;

/// Options of `cargo whisk image`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    build: build::BuildArgs,
    /// Build for amd64 and arm64 and write an image index naming both.
    #[arg(long, conflicts_with = "arm64")]
    all_arch: bool,
    /// The image's name and tag (default: NAME:latest, after the binary).
    #[arg(short, long, value_name = "NAME[:TAG]")]
    tag: Option<String>,
    /// Where to write the image as one tar for `docker load` and
    /// `oci-archive:` (default: NAME.tar).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Where to write the image as an OCI image layout directory
    /// (default: FILE without `.tar`, plus `.oci`).
    #[arg(long, value_name = "DIR")]
    layout: Option<PathBuf>,
}

/// Runs `cargo whisk image`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let targets = if args.all_arch {
        vec![Target::X86_64Musl, Target::Aarch64Musl]
    } else {
        vec![Target::musl(args.build.arm64)]
    };
    let mut images = Vec::new();
    let mut name = String::new();
    for target in targets {
        let artifact = build::cargo_build(&args.build.options(target))?;
        build::report(&artifact);
        let binary = std::fs::read(&artifact.path)
            .with_context(|| format!("could not read {}", artifact.path.display()))?;
        if crate::pack::exec_kind(&binary)? != crate::pack::ExecKind::StaticElf {
            anyhow::bail!(
                "{} is not a static executable, so it cannot run in a FROM scratch image\n\
                 help: a crate with C dependencies needs them built for musl too",
                artifact.path.display()
            );
        }
        let arch = target.oci_arch().expect("a musl target");
        let step = ui::step("Compressing", &format!("the {arch} layer"));
        let image = Image::new(&binary, &artifact.name, arch)?;
        step.done(format_args!(
            "{arch} layer: {} -> {}",
            human_size(binary.len() as u64),
            human_size(image.layer.bytes.len() as u64)
        ));
        name = artifact.name;
        images.push(image);
    }
    let reference = Reference::parse(args.tag.as_deref().unwrap_or(&name.to_lowercase()))?;
    let layout = Layout::new(&images, &reference)?;
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{name}.tar")));
    let layout_dir = args.layout.unwrap_or_else(|| {
        let stem = output.file_stem().unwrap_or(output.as_os_str());
        output.with_file_name(format!("{}.oci", stem.to_string_lossy()))
    });

    let step = ui::step("Writing", &output.display().to_string());
    // The layout first: it refuses a directory that is not one, before
    // anything is written.
    layout.write_dir(&layout_dir)?;
    let tar = layout.to_tar()?;
    std::fs::write(&output, &tar)
        .with_context(|| format!("could not write {}", output.display()))?;
    step.done(format_args!(
        "{} ({}) and the OCI layout {}",
        output.display(),
        human_size(tar.len() as u64),
        layout_dir.display()
    ));
    let kind = if images.len() > 1 {
        "image index (amd64, arm64)"
    } else {
        images[0].arch
    };
    println!("{reference} {}", layout.top.digest);
    eprintln!(
        "\n   Image {reference} ({kind})\n  Digest {}\n    Size {} compressed\n",
        layout.top.digest,
        human_size(layout.compressed_size())
    );
    let out = output.display();
    let user_image = format!("USER/{}:{}", reference.name, reference.tag);
    if images.len() > 1 {
        // Docker's own store keeps one architecture per name.
        eprintln!("Push both architectures under one name with no daemon:");
        eprintln!("  skopeo copy --all oci-archive:{out} docker://{user_image}");
        eprintln!("Or load them into Docker ({reference}, and {reference}-arm64):");
        eprintln!("  docker load -i {out}");
    } else {
        eprintln!("Load it into Docker, push it, and create the action:");
        eprintln!("  docker load -i {out}");
        eprintln!("  docker tag {reference} {user_image} && docker push {user_image}");
        eprintln!("Or push it with no daemon:");
        eprintln!("  skopeo copy oci-archive:{out} docker://{user_image}");
    }
    eprintln!("Then:");
    eprintln!("  wsk action create {name} --docker {user_image}");
    Ok(ExitCode::SUCCESS)
}

#!/usr/bin/env bash
# Installs what the tests and the demo need beyond the Rust toolchain, and
# only what is missing:
#   - the musl targets, x86_64 and arm64 (rustup target add): the static
#     binaries of tests/it/static_binary.rs and docker/;
#   - Debian packages (apt-get): qemu-user-static, which runs the arm64
#     builds on an x86_64 machine; skopeo, umoci and unzip, which read
#     what `cargo whisk image` and `cargo whisk pack` write; chromium, which
#     renders a page `cargo whisk serve` serves (cargo-whisk/tests/browser.rs).
# Safe to run again. `bash scripts/setup.sh && cargo test --workspace` is
# the README's test command.
set -euo pipefail

targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
missing=()
installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    grep -qx "$target" <<<"$installed" || missing+=("$target")
done
if ((${#missing[@]})); then
    echo "setup: rustup target add ${missing[*]}" >&2
    rustup target add "${missing[@]}"
fi

# Debian packages, for the tools the tests run: the arm64 binaries run
# under qemu (tests/it/static_binary.rs, cargo-whisk/tests/artifacts.rs),
# cargo whisk image's output is read by skopeo and umoci, its zips are
# listed by unzip.
packages=()
for tool in qemu-aarch64-static:qemu-user-static skopeo:skopeo umoci:umoci unzip:unzip chromium:chromium; do
    command -v "${tool%%:*}" >/dev/null || packages+=("${tool#*:}")
done
if ((${#packages[@]})); then
    if ! command -v apt-get >/dev/null; then
        echo "setup: install ${packages[*]} with your package manager" >&2
        exit 1
    fi
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || {
            echo "setup: ${packages[*]} missing: run \`apt-get install -y ${packages[*]}\` as root" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    echo "setup: apt-get install -y ${packages[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi
echo "setup: ready (targets: ${targets[*]}; qemu, skopeo, umoci, unzip, chromium)" >&2

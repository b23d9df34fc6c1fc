#!/usr/bin/env bash
# Installs what the tests and the demo need beyond the Rust toolchain, and
# only what is missing:
#   - the musl targets, x86_64 and arm64 (rustup target add): the static
#     binaries of tests/it/static_binary.rs and docker/;
#   - qemu-user-static (Debian/Ubuntu: apt-get), which runs the arm64 build
#     on an x86_64 machine in that test.
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

if ! command -v qemu-aarch64-static >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "setup: install qemu-user-static (qemu-aarch64-static) with your package manager" >&2
        exit 1
    fi
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || {
            echo "setup: qemu-user-static is missing: run \`apt-get install -y qemu-user-static\` as root" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    echo "setup: apt-get install -y qemu-user-static" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq qemu-user-static >/dev/null
fi
echo "setup: ready (targets: ${targets[*]}; $(command -v qemu-aarch64-static))" >&2

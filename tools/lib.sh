# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared shell helpers of the svmgpu tools. Sourced, never executed.
#
# SVMGPU_CACHE   where fetched sources and heavy builds live (default ~/.cache/svmgpu);
#                shared by every clone on the machine, each tree guarded by
#                its own lock.

SVMGPU_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SVMGPU_CACHE=${SVMGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svmgpu}
# shellcheck source=../configs/sources.conf
. "$SVMGPU_TOP/configs/sources.conf"

# The interpreter QEMU's configure and meson must use: Debian's, which sees the
# Debian python3 packages (a pyenv shim earlier on PATH does not).
SVMGPU_PYTHON=/usr/bin/python3

log()  { printf 'svmgpu: %s\n' "$*" >&2; }
die()  { printf 'svmgpu: error: %s\n' "$*" >&2; exit 1; }

# with_lock NAME CMD...: run CMD holding the cache lock NAME, so that two
# clones never build into the same tree at once (and wait for each other).
with_lock() {
    local name=$1 lock
    shift
    mkdir -p "$SVMGPU_CACHE/locks"
    lock=$SVMGPU_CACHE/locks/$name.lock
    (
        if ! flock -n 9; then
            log "waiting for another build of $name ($lock)"
            flock 9 || die "cannot lock $lock"
        fi
        "$@"
    ) 9>"$lock"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE SHA256 WHAT: a mismatching download is an error naming it.
verify_sha256() {
    local got
    got=$(sha256_of "$1")
    if [ "$got" != "$2" ]; then
        die "$3: $(basename "$1") has sha256 $got, expected $2 (pinned in configs/sources.conf); remove it and retry, or update the pin deliberately"
    fi
}

# The project's patches to the guest kernel, applied in order on top of the
# pinned source (patches/linux/README.md says why each one is there).
linux_patches() {
    local f
    for f in "$SVMGPU_TOP"/patches/linux/*.patch; do
        [ -e "$f" ] && echo "$f"
    done
}

# The project's patches to QEMU (patches/qemu/README.md), applied after
# Debian's; qemu_series_key names the series, so that a tree unpacked with
# another series is unpacked again.
qemu_patches() {
    local f
    for f in "$SVMGPU_TOP"/patches/qemu/*.patch; do
        [ -e "$f" ] && echo "$f"
    done
}
qemu_series_key() {
    qemu_patches | while IFS= read -r f; do cat "$f"; done | sha256sum | cut -c1-12
}

# The tree the guest kernel is built from: the pristine unpacked source
# plus linux_patches, in a directory named by a digest of the series, so
# clones with different series never build from the same tree. The
# pristine tree (kselftest headers, hmm-tests, checkpatch) stays as it is.
linux_build_src() {
    local key
    key=$(linux_patches | while IFS= read -r f; do cat "$f"; done | sha256sum | cut -c1-12)
    echo "$SVMGPU_CACHE/src/linux-$LINUX_VERSION-patched-$key"
}

# Paths of the unpacked meson (bookworm-backports) used by QEMU and by us.
meson_root() { echo "$SVMGPU_CACHE/tools/meson"; }
run_meson() {
    PYTHONPATH="$(meson_root)/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}" \
        "$SVMGPU_PYTHON" "$(meson_root)/usr/bin/meson" "$@"
}

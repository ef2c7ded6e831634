#!/usr/bin/env bash
# A newcomer's first hour, measured: makes a fresh Debian bookworm root with
# debootstrap (git, apt and nothing else of pyconc's), lays out its apt sources as
# LAYOUT says, clones this repository into it and runs the README's two commands there,
# timing each. Needs root, debootstrap and Debian's archive; takes 20-40 minutes on
# 2 cores, so it is not part of .ci/run (which checks the apt layouts offline in
# //tests/tools:apt_sources_test).
#
#   tools/fresh_root/run.sh DIR [LAYOUT]
#
# LAYOUT: both (default: debootstrap's sources.list plus a deb822 debian.sources with
# Signed-By, the layout that once failed), one-line, or deb822.
set -euo pipefail

root=$1
layout=${2:-both}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

say() { echo "fresh_root: $*" >&2; }

if [[ ! -x "${root}/usr/bin/apt-get" ]]; then
  say "debootstrap bookworm into ${root}"
  debootstrap --include=git,ca-certificates bookworm "${root}" "${mirror}" > "${root}.debootstrap.log" 2>&1 ||
    { tail -n 5 "${root}.debootstrap.log"; exit 1; }
fi

case "${layout}" in
  both)
    echo "deb ${mirror} bookworm main" > "${root}/etc/apt/sources.list"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: %s\n' \
      "${mirror}" "${keyring}" > "${root}/etc/apt/sources.list.d/debian.sources"
    ;;
  one-line)
    echo "deb ${mirror} bookworm main" > "${root}/etc/apt/sources.list"
    rm -f "${root}/etc/apt/sources.list.d/debian.sources"
    ;;
  deb822)
    rm -f "${root}/etc/apt/sources.list"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: %s\n' \
      "${mirror}" "${keyring}" > "${root}/etc/apt/sources.list.d/debian.sources"
    ;;
  *) say "unknown layout '${layout}'"; exit 2 ;;
esac
cp /etc/resolv.conf "${root}/etc/resolv.conf"

if [[ -x "${root}/usr/bin/bazel-4" && -d "${root}/src/pyconc" ]]; then
  chroot "${root}" bash -c 'cd /src/pyconc && /usr/bin/bazel-4 shutdown' > /dev/null 2>&1 || true
fi
rm -rf "${root}/src/pyconc"
mkdir -p "${root}/src"
git clone -q "${repo}" "${root}/src/pyconc"

mount -t proc proc "${root}/proc"
mount --rbind /sys "${root}/sys"
mount --rbind /dev "${root}/dev"
cleanup() {
  chroot "${root}" bash -c 'cd /src/pyconc && /usr/bin/bazel-4 shutdown' > /dev/null 2>&1 || true
  umount -R "${root}/dev" "${root}/sys" "${root}/proc" 2> /dev/null || true
}
trap cleanup EXIT

# run NAME COMMAND...: runs COMMAND in the root's clone, its output in ROOT.NAME.log.
run() {
  local name=$1 started=${SECONDS}
  shift
  if chroot "${root}" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
      bash -c "cd /src/pyconc && $*" > "${root}.${name}.log" 2>&1; then
    echo "ok     $* in $((SECONDS - started)) s"
  else
    echo "FAILED $* after $((SECONDS - started)) s (log: ${root}.${name}.log)"
    tail -n 20 "${root}.${name}.log"
    return 1
  fi
}

# A root used before keeps its packages and its disk cache, but must fetch Abseil's
# source package again through this layout's apt sources.
rm -rf "${root}/root/.cache/pyconc/debian-src"
chroot "${root}" bash -c 'cd /src && for d in /root/.cache/bazel/_bazel_root/*/; do
  [ -d "$d" ] && rm -rf "$d"; done' 2> /dev/null || true

say "layout ${layout}; running the README's commands in ${root}"
run tour tools/bazel run //tools/tour
run test tools/bazel test //...

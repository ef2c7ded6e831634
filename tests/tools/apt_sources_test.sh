#!/usr/bin/env bash
# fetch_debian_source.sh turns the machine's apt sources into deb-src entries that apt
# accepts, for every layout apt itself accepts: one-line only, deb822 only, both (as a
# debootstrap root with a debian.sources has), with and without signed-by. Each layout is
# a fake /etc/apt; apt parses the result offline (`apt-get indextargets`), so a conflict
# such as "Conflicting values set for option Signed-By" fails the test without network.
set -euo pipefail

script="$1"
work="${TEST_TMPDIR:-$(mktemp -d)}/apt"
failures=0

# layout NAME: starts a fake /etc/apt called NAME (bookworm) and echoes its folder.
layout() {
  local root="${work}/$1"
  rm -rf "${root}"
  mkdir -p "${root}/etc/sources.list.d" "${root}/parts" "${root}/lists/partial"
  printf 'ID=debian\nVERSION_CODENAME=%s\n' "${2:-bookworm}" > "${root}/os-release"
  echo "${root}"
}

# expect ROOT SUITE...: the generated entries parse and name each SUITE's Sources once.
expect() {
  local root=$1 name
  name=$(basename "${root}")
  shift
  PYCONC_APT_ETC="${root}/etc" PYCONC_OS_RELEASE="${root}/os-release" \
    bash "${script}" --print-sources > "${root}/parts/deb-src.sources"
  local out
  out=$(apt-get -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=${root}/parts" \
    -o "Dir::State::Lists=${root}/lists" -o Debug::NoLocking=1 \
    indextargets --no-release-info 2>&1) || true
  if grep -q '^E:' <<< "${out}"; then
    echo "FAIL ${name}: apt rejects the generated sources:"
    grep '^E:' <<< "${out}" | head -n 3
    sed 's/^/    /' "${root}/parts/deb-src.sources"
    failures=$((failures + 1))
    return
  fi
  local suite count
  for suite in "$@"; do
    count=$(grep -c "^URI: .*/dists/${suite}/main/source/Sources$" <<< "${out}" || true)
    if [[ "${count}" != 1 ]]; then
      echo "FAIL ${name}: ${suite}'s main Sources listed ${count} times, not once"
      sed 's/^/    /' "${root}/parts/deb-src.sources"
      failures=$((failures + 1))
      return
    fi
  done
  local total
  total=$(grep -c '^URI: ' <<< "${out}" || true)
  echo "ok   ${name}: ${total} Sources indexes for $*"
}

keyring=/usr/share/keyrings/debian-archive-keyring.gpg

root=$(layout one-line-only)
cat > "${root}/etc/sources.list" <<LIST
# debootstrap's
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian bookworm main
LIST
expect "${root}" bookworm bookworm-security

root=$(layout deb822-only)
cat > "${root}/etc/sources.list.d/debian.sources" <<SOURCES
Types: deb
# a comment inside the stanza
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: ${keyring}

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: ${keyring}
SOURCES
expect "${root}" bookworm bookworm-updates bookworm-security

# The layout that failed: debootstrap's one-line entry without signed-by, plus a
# deb822 file naming the same URI and suite with Signed-By.
root=$(layout both-signed-and-not)
echo "deb http://deb.debian.org/debian bookworm main" > "${root}/etc/sources.list"
cat > "${root}/etc/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: ${keyring}
SOURCES
expect "${root}" bookworm bookworm-updates

root=$(layout both-signed-by-everywhere)
cat > "${root}/etc/sources.list" <<LIST
deb [arch=amd64 signed-by=${keyring}] http://deb.debian.org/debian bookworm main
deb [ signed-by=${keyring} ] http://deb.debian.org/debian-security bookworm-security main
LIST
cat > "${root}/etc/sources.list.d/debian.sources" <<SOURCES
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: ${keyring}
SOURCES
expect "${root}" bookworm bookworm-security

root=$(layout other-repositories-and-disabled-stanzas)
cat > "${root}/etc/sources.list" <<LIST
deb http://deb.debian.org/debian bookworm main
deb https://packages.example.invalid/apt cloud-sdk-bookworm main
deb http://deb.debian.org/debian bullseye main
LIST
cat > "${root}/etc/sources.list.d/vendor.sources" <<SOURCES
Types: deb
URIs: https://vendor.example.invalid/node
Suites: nodistro
Components: main

Enabled: no
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
SOURCES
expect "${root}" bookworm

root=$(layout ubuntu-inline-key noble)
cat > "${root}/etc/sources.list.d/ubuntu.sources" <<SOURCES
Types: deb
URIs: http://archive.ubuntu.com/ubuntu/
Suites: noble noble-updates
Components: main universe
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBFufwdoBEADv/Gxytx/LcSXYuM0MwKojbBye81s0G1nEx+lz6VAUpIUZnbkq
 -----END PGP PUBLIC KEY BLOCK-----
SOURCES
expect "${root}" noble noble-updates

if (( failures > 0 )); then
  echo "${failures} layout(s) failed"
  exit 1
fi
echo "all layouts accepted"

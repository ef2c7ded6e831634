#!/usr/bin/env bash
# Unpacks the upstream tarball of a Debian source package into a directory, with
# Debian's security patches (debian/patches/CVE-*) applied.
#
#   fetch_debian_source.sh PACKAGE DEST
#
# The package is downloaded once with `apt-get source --download-only` into
# ${XDG_CACHE_HOME:-~/.cache}/pyconc/debian-src/PACKAGE. apt needs deb-src entries,
# which a machine usually lacks: a private apt configuration copies the machine's own
# Debian/Ubuntu sources (those of its release) as deb-src, and leaves the system's
# apt state untouched.
set -euo pipefail
shopt -s nullglob

package=$1
dest=$2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pyconc/debian-src/${package}"

say() { echo "pyconc: $*" >&2; }

# Prints the machine's apt sources for its own release as deb-src, in deb822 form.
deb_src_sources() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n "${codename}" ]] || { say "no VERSION_CODENAME in /etc/os-release"; return 1; }
  # deb822 files: keep stanzas of type deb, with only the suites of this release.
  local files
  files=(/etc/apt/sources.list.d/*.sources)
  (( ${#files[@]} == 0 )) || awk -v cn="${codename}" '
    BEGIN { RS = ""; FS = "\n" }
    {
      keep = 0; out = ""
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^#/) continue
        if (line ~ /^Types:/) { keep = (line ~ /[ \t]deb([ \t]|$)/); line = "Types: deb-src" }
        if (line ~ /^Suites:/) {
          n = split(substr(line, 8), s, " "); kept = ""
          for (j = 1; j <= n; j++) if (s[j] == cn || index(s[j], cn "-") == 1) kept = kept " " s[j]
          if (kept == "") keep = 0
          line = "Suites:" kept
        }
        out = out line "\n"
      }
      if (keep) printf "%s\n", out
    }' "${files[@]}"
  # One-line sources.list entries: "deb [options] URI SUITE COMPONENTS...".
  files=(/etc/apt/sources.list.d/*.list)
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  (( ${#files[@]} == 0 )) || awk -v cn="${codename}" '
    $1 == "deb" {
      i = 2; opts = ""
      if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
      uri = $i; suite = $(i + 1); comps = ""
      for (j = i + 2; j <= NF; j++) comps = comps " " $j
      if (suite != cn && index(suite, cn "-") != 1) next
      signed = ""
      if (match(opts, /signed-by=[^] ]+/)) signed = "Signed-By: " substr(opts, RSTART + 10, RLENGTH - 10) "\n"
      printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n%s\n", uri, suite, comps, signed
    }' "${files[@]}"
}

download() {
  local apt_dir
  apt_dir=$(mktemp -d)
  trap 'rm -rf "${apt_dir}"' RETURN
  mkdir -p "${apt_dir}/parts" "${apt_dir}/lists/partial" "${apt_dir}/archives/partial"
  deb_src_sources > "${apt_dir}/parts/deb-src.sources"
  [[ -s "${apt_dir}/parts/deb-src.sources" ]] || { say "no Debian/Ubuntu apt sources found"; return 1; }
  local opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=${apt_dir}/parts"
    -o "Dir::State::Lists=${apt_dir}/lists"
    -o "Dir::Cache::Archives=${apt_dir}/archives"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=$(id -un)"
  )
  say "downloading Debian's source package '${package}' (once, into ${cache})"
  apt-get -qq "${opts[@]}" update
  mkdir -p "${cache}.partial"
  (cd "${cache}.partial" && apt-get -qq "${opts[@]}" source --download-only "${package}")
  rm -rf "${cache}"
  mv "${cache}.partial" "${cache}"
}

if ! compgen -G "${cache}/*.orig.tar.*" > /dev/null; then
  download
fi

tarball=$(ls "${cache}"/*.orig.tar.* | head -n 1)
tar -xf "${tarball}" -C "${dest}" --strip-components=1
debian=$(ls "${cache}"/*.debian.tar.* 2>/dev/null | head -n 1 || true)
if [[ -n "${debian}" ]]; then
  patches=$(mktemp -d)
  tar -xf "${debian}" -C "${patches}"
  for patch in $(grep -E '^CVE-' "${patches}/debian/patches/series" 2>/dev/null || true); do
    patch -s -d "${dest}" -p1 < "${patches}/debian/patches/${patch}"
  done
  rm -rf "${patches}"
fi

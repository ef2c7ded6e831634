#!/usr/bin/env bash
# Unpacks the upstream tarball of a Debian source package into a directory, with
# Debian's security patches (debian/patches/CVE-*) applied.
#
#   fetch_debian_source.sh PACKAGE DEST
#   fetch_debian_source.sh --print-sources    # the deb-src entries it would use
#
# The package is downloaded once with `apt-get source --download-only` into
# ${XDG_CACHE_HOME:-~/.cache}/pyconc/debian-src/PACKAGE. apt needs deb-src entries,
# which a machine usually lacks: a private apt configuration copies the machine's own
# Debian/Ubuntu sources (those of its release) as deb-src, and leaves the system's
# apt state untouched.
set -euo pipefail
shopt -s nullglob

say() { echo "pyconc: $*" >&2; }

# Where the machine's apt configuration and release name are read from; tests point
# these at a fake layout (tests/tools/apt_sources_test.sh).
apt_etc="${PYCONC_APT_ETC:-/etc/apt}"
os_release="${PYCONC_OS_RELEASE:-/etc/os-release}"

# Prints one record per (URI, suite) of the machine's binary ("deb") entries for its
# own release, from both formats apt reads (one-line *.list and deb822 *.sources):
#   URI<TAB>SUITE<TAB>SIGNED-BY or -<TAB>COMPONENTS
# An entry may be listed twice (debootstrap's sources.list plus a debian.sources); the
# merge below makes one entry of them, as apt itself requires.
deb_records() {
  local codename
  codename=$(. "${os_release}" && echo "${VERSION_CODENAME:-}")
  [[ -n "${codename}" ]] || { say "no VERSION_CODENAME in ${os_release}"; return 1; }
  local files
  files=("${apt_etc}"/sources.list.d/*.sources)
  (( ${#files[@]} == 0 )) || awk -v cn="${codename}" '
    function ours(suite) { return suite == cn || index(suite, cn "-") == 1 }
    BEGIN { RS = ""; FS = "\n" }
    {
      types = ""; uris = ""; suites = ""; comps = ""; signed = "-"; enabled = 1
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^#/ || line ~ /^[ \t]/) continue   # comments, continuation lines
        colon = index(line, ":")
        if (colon == 0) continue
        field = tolower(substr(line, 1, colon - 1))
        value = substr(line, colon + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", value)
        if (field == "types") types = value
        else if (field == "uris") uris = value
        else if (field == "suites") suites = value
        else if (field == "components") comps = value
        else if (field == "enabled") enabled = (tolower(value) != "no")
        else if (field == "signed-by" && value != "") signed = value  # not an inline key
      }
      if (!enabled || (" " types " ") !~ /[ \t]deb[ \t]/) next
      nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
      for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
        if (ours(s[b])) printf "%s\t%s\t%s\t%s\n", u[a], s[b], signed, comps
    }' "${files[@]}"
  files=("${apt_etc}"/sources.list.d/*.list)
  [[ -f "${apt_etc}/sources.list" ]] && files+=("${apt_etc}/sources.list")
  (( ${#files[@]} == 0 )) || awk -v cn="${codename}" '
    $1 == "deb" {
      i = 2; opts = ""
      if ($2 ~ /^\[/) {
        while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
        opts = opts " " $i; i++
      }
      uri = $i; suite = $(i + 1); comps = $(i + 2)
      for (j = i + 3; j <= NF; j++) comps = comps " " $j
      if (suite != cn && index(suite, cn "-") != 1) next
      signed = "-"
      if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
      printf "%s\t%s\t%s\t%s\n", uri, suite, signed, comps
    }' "${files[@]}"
}

# Prints the deb-src entries for apt in deb822 form: one stanza per (URI, suite), with
# the union of the components and the first Signed-By any copy names.
deb_src_sources() {
  deb_records | awk -F '\t' '
    {
      uri = $1; sub(/\/+$/, "", uri)
      key = uri " " $2
      if (!(key in seen)) { seen[key] = 1; order[++n] = key; uris[key] = uri; suites[key] = $2 }
      if ((!(key in signed) || signed[key] == "-") && $3 != "-") signed[key] = $3
      nc = split($4, c, /[ \t]+/)
      for (k = 1; k <= nc; k++)
        if (c[k] != "" && index(" " comps[key] " ", " " c[k] " ") == 0) comps[key] = comps[key] " " c[k]
    }
    END {
      for (i = 1; i <= n; i++) {
        key = order[i]
        printf "Types: deb-src\nURIs: %s/\nSuites: %s\nComponents:%s\n", uris[key], suites[key], comps[key]
        if (key in signed && signed[key] != "-") printf "Signed-By: %s\n", signed[key]
        printf "\n"
      }
    }'
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
  # A source that lacks deb-src indexes makes `update` fail without harming the others;
  # its complaint is shown only if the package then cannot be found.
  apt-get -qq "${opts[@]}" update > "${apt_dir}/update.log" 2>&1 || true
  mkdir -p "${cache}.partial"
  if ! (cd "${cache}.partial" &&
        apt-get -qq "${opts[@]}" source --download-only "${package}" 2>&1); then
    grep -E '^(E|W):' "${apt_dir}/update.log" | head -n 5 >&2 || true
    say "apt could not download the source package '${package}' from:"
    sed -n 's/^URIs: /  /p' "${apt_dir}/parts/deb-src.sources" >&2
    return 1
  fi
  rm -rf "${cache}"
  mv "${cache}.partial" "${cache}"
}

if [[ "${1:-}" == "--print-sources" ]]; then
  deb_src_sources
  exit
fi
package=$1
dest=$2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pyconc/debian-src/${package}"

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

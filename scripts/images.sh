#!/usr/bin/env bash
# Builds the sallyport container images (coordinator, relay, agent) without any container registry:
#   1. a Debian root with mmdebstrap (minbase + ca-certificates, no docs), from this machine's own
#      Debian apt sources, with the user sallyport (uid/gid 10001) and /var/lib/sallyport; cached
#      as a tarball under the cache directory, keyed by everything that goes into it;
#   2. the package: `npm pack` of this checkout (or --package TGZ), installed with `npm ci
#      --omit=dev` against the repository's package-lock.json into /opt/sallyport; better-sqlite3's
#      native addon is the one this checkout built against the same Node, else rebuilt here;
#   3. Node: this machine's own `node` binary (>= 20.19; Debian 12's nodejs is 18), copied to
#      /usr/local/bin/node and checked to start inside the root (docs/images.md: provenance);
#   4. buildah assembles root + package into a base image (localhost/sallyport-base:VERSION) and
#      commits one image per role on top (docker format, for HEALTHCHECK) with the role's
#      entrypoint, environment, ports and healthcheck, into the local containers-storage as
#      localhost/sallyport-ROLE:VERSION, then copies them into an OCI layout (without HEALTHCHECK,
#      which the OCI image format lacks).
#
# usage: scripts/images.sh [--package TGZ] [--out DIR] [--cache DIR] [--roles "coordinator relay agent"]
#   --package TGZ   an `npm pack` tarball to install (default: npm pack of this checkout)
#   --out DIR       the OCI layout to write (default: CACHE/oci); tags sallyport-ROLE-VERSION
#   --cache DIR     the working and cache directory (default: .tmp/images in the checkout)
#   --roles LIST    the roles to build (default: coordinator relay agent)
# env: SALLYPORT_IMAGES_SUITE (default: this machine's Debian codename),
#      SALLYPORT_IMAGES_SOURCES (an apt .list/.sources file or mirror URL for mmdebstrap; default:
#      this machine's Debian sources), SALLYPORT_NODE (the node binary to ship; default: `node`).
# Re-running reuses the cached root and replaces the images under the same names.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

pkg=''
cache="$repo/.tmp/images"
out=''
roles='coordinator relay agent'
while [ $# -gt 0 ]; do
  case "$1" in
    --package) pkg=$(realpath "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --roles) roles=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "images.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$cache"
cache=$(realpath "$cache")
out=${out:-$cache/oci}

say() { echo "images: $*" >&2; }
die() { echo "images.sh: $*" >&2; exit 1; }

# Tools, each with the Debian package that provides it.
for t in mmdebstrap:mmdebstrap buildah:buildah tar:tar sha256sum:coreutils npm:npm; do
  command -v "${t%%:*}" >/dev/null 2>&1 || die "${t%%:*} is missing: apt-get install ${t#*:}"
done
[ "$(id -u)" = 0 ] || die "run as root (buildah writes the system containers-storage; mmdebstrap needs root or a subuid range)"

for r in $roles; do
  case "$r" in coordinator | relay | agent) ;; *) die "unknown role $r (coordinator, relay, agent)" ;; esac
done

# --- Node --------------------------------------------------------------------------------------
node_bin=$(command -v "${SALLYPORT_NODE:-node}") || die "no node binary (set SALLYPORT_NODE)"
node_bin=$(realpath "$node_bin")
node_ver=$("$node_bin" -p 'process.versions.node')
"$node_bin" -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  if (a < 20 || (a === 20 && b < 19)) process.exit(1);' ||
  die "node $node_ver at $node_bin is older than 20.19 (set SALLYPORT_NODE to a newer one)"
node_sha=$(sha256sum "$node_bin" | cut -d' ' -f1)
node_origin=$(dpkg -S "$node_bin" 2>/dev/null | cut -d: -f1 | head -1 || true)
[ -n "$node_origin" ] && node_origin="$node_origin $(dpkg-query -W -f='${Version}' "$node_origin" 2>/dev/null)"
node_origin=${node_origin:-unpackaged}

# --- 1. the Debian root (cached) ---------------------------------------------------------------
. /etc/os-release
suite=${SALLYPORT_IMAGES_SUITE:-${VERSION_CODENAME:-}}
[ -n "$suite" ] || die "cannot tell this machine's Debian release; set SALLYPORT_IMAGES_SUITE"
sources=${SALLYPORT_IMAGES_SOURCES:-}
if [ -z "$sources" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -qv '^\s*#' "$f"; then sources=$f; break; fi
  done
fi
# Without a sources file mmdebstrap picks its own default mirror for the suite.
include=ca-certificates
uid=10001
# shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook shell
hooks=(
  # merged /usr by symlinks (as debootstrap does), so usrmerge and its perl stay out of the root
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --customize-hook='chroot "$1" groupadd --system --gid '$uid' sallyport'
  --customize-hook='chroot "$1" useradd --system --uid '$uid' --gid '$uid' --home-dir /var/lib/sallyport --no-create-home --shell /usr/sbin/nologin sallyport'
  --customize-hook='install -d -m 0700 -o '$uid' -g '$uid' "$1/var/lib/sallyport"'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log "$1"/usr/share/info/*'
)
nodocs=(
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
)
key=$(printf '%s\n' "$suite" "$include" "${hooks[@]}" "${nodocs[@]}" "$(cat "$sources" 2>/dev/null || echo "$sources")" |
  sha256sum | cut -c1-16)
rootfs=$cache/rootfs-$suite-$key.tar
if [ -s "$rootfs" ]; then
  say "Debian root: reusing $(basename "$rootfs")"
else
  say "Debian root: mmdebstrap $suite (minbase, $include) from ${sources:-the default mirror}; this downloads ~40 MB"
  t0=$SECONDS
  mmdebstrap --quiet --variant=minbase --include="$include" --mode=root --format=tar \
    "${nodocs[@]}" "${hooks[@]}" "$suite" "$rootfs.part" ${sources:+"$sources"} </dev/null
  mv "$rootfs.part" "$rootfs"
  # Roots built with other inputs are stale now.
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$rootfs" -delete
  say "Debian root: built in $((SECONDS - t0)) s"
fi

# --- 2. the package ----------------------------------------------------------------------------
stage=$cache/stage
rm -rf "$stage" "$cache/app" && mkdir -p "$stage" "$cache/app"
if [ -z "$pkg" ]; then
  say "package: npm pack of this checkout"
  pkg=$cache/$(npm pack --silent --pack-destination "$cache" | tail -1)
fi
[ -s "$pkg" ] || die "no package tarball at $pkg"
app=$cache/app/opt/sallyport
mkdir -p "$app"
tar -xzf "$pkg" -C "$app" --strip-components=1 --no-same-owner
version=$("$node_bin" -p "require('$app/package.json').version")
[ -f "$app/package-lock.json" ] || cp package-lock.json "$app/"
say "package: sallyport $version, npm ci --omit=dev"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
if [ -d "$app/node_modules/better-sqlite3" ]; then
  want=$("$node_bin" -p "require('$app/node_modules/better-sqlite3/package.json').version")
  have=$("$node_bin" -p "try { require('$repo/node_modules/better-sqlite3/package.json').version } catch { '' }")
  if [ "$want" = "$have" ] && [ -f "$repo/$addon" ]; then
    say "package: better-sqlite3 $want addon from this checkout (built for node $node_ver)"
    mkdir -p "$(dirname "$app/$addon")" && cp "$repo/$addon" "$app/$addon"
  else
    say "package: building better-sqlite3 $want for node $node_ver"
    nodedir=$(dirname "$(dirname "$node_bin")")
    [ -d "$nodedir/include/node" ] || die "better-sqlite3 needs node headers ($nodedir/include/node) to build"
    (cd "$app" && npm_config_nodedir=$nodedir npm rebuild better-sqlite3 --loglevel=error >/dev/null) ||
      die "building better-sqlite3 failed (needs g++, make, python3)"
  fi
  # What the addon was built from is not needed at run time.
  rm -rf "$app/node_modules/better-sqlite3/deps" "$app/node_modules/better-sqlite3/src" \
    "$app/node_modules/better-sqlite3/build/Release/obj"* "$app/node_modules/better-sqlite3/build/Release/test_extension.node"
  "$node_bin" -e "new (require('$app/node_modules/better-sqlite3'))(':memory:').close()" ||
    die "the better-sqlite3 addon does not load with node $node_ver"
fi
rm -f "$app/package-lock.json"
# The healthcheck belongs to the images: always this checkout's.
install -D -m 0644 "$repo/deploy/images/healthcheck.mjs" "$app/deploy/images/healthcheck.mjs"
mkdir -p "$cache/app/usr/local/bin"
cp "$node_bin" "$cache/app/usr/local/bin/node"
ln -s ../../../opt/sallyport/bin/sallyport.js "$cache/app/usr/local/bin/sallyport"
chmod -R go-w,a+rX "$cache/app"
# Reproducible app layer: sorted names, fixed owner and time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' -C "$cache/app" -cf "$cache/app.tar" .

# --- 3. assemble -------------------------------------------------------------------------------
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
c=$(buildah from --quiet --format docker scratch)
trap 'buildah rm "$c" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$c" "$rootfs" / >/dev/null
buildah add --quiet "$c" "$cache/app.tar" / >/dev/null
# The copied node must run in this root (same glibc and libstdc++ as the build machine's).
mnt=$(buildah mount "$c")
chroot "$mnt" /usr/local/bin/node -e 0 ||
  die "the copied node ($node_bin) does not run in the $suite root: build on a $suite machine or set SALLYPORT_NODE"
chroot --userspec=$uid:$uid "$mnt" /usr/local/bin/sallyport version >/dev/null ||
  die "sallyport does not start in the image root"
buildah umount "$c" >/dev/null

common=(
  --user "$uid:$uid" --workingdir /var/lib/sallyport --volume /var/lib/sallyport
  --env PATH=/usr/local/bin:/usr/bin:/bin --env NODE_ENV=production
  --env SALLYPORT_DATA=/var/lib/sallyport --env SALLYPORT_STATE=/var/lib/sallyport
  --stop-signal SIGTERM --cmd ''
  --label org.opencontainers.image.title=sallyport
  --label org.opencontainers.image.version="$version"
  --label org.opencontainers.image.revision="$rev"
  --label org.opencontainers.image.licenses=Apache-2.0
  --label io.sallyport.node.version="$node_ver"
  --label io.sallyport.node.sha256="$node_sha"
  --label io.sallyport.node.origin="$node_origin"
  --label io.sallyport.debian.suite="$suite"
)
buildah config "${common[@]}" "$c"
# One base image holds the root and the package; each role is a config on top (shared layer).
base=localhost/sallyport-base:$version
# The image a name pointed to before this run, removed once the name moves (no dangling copies).
drop_old() { [ -n "$1" ] && [ "$1" != "$(buildah images -q --no-trunc "$2" 2>/dev/null)" ] && buildah rmi "$1" >/dev/null 2>&1 || true; }
old=$(buildah images -q --no-trunc "$base" 2>/dev/null || true)
buildah commit --quiet --format docker --rm "$c" "$base" >/dev/null
hc=(--healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 20s --healthcheck-retries 3)
# A fresh layout each run (an OCI index keeps untagged manifests otherwise).
if [ -e "$out" ]; then
  [ -f "$out/oci-layout" ] || die "$out exists and is not an OCI layout; pick another --out"
  rm -rf "$out"
fi
for role in $roles; do
  case "$role" in
    coordinator)
      cfg=(--entrypoint '["sallyport","coordinator"]' --env SALLYPORT_LISTEN=0.0.0.0:8443 --port 8443/tcp
        --healthcheck 'CMD node /opt/sallyport/deploy/images/healthcheck.mjs coordinator') ;;
    relay)
      cfg=(--entrypoint '["sallyport","relay"]' --env SALLYPORT_RELAY_LISTEN=0.0.0.0:8443 --port 8443/tcp --port 3478/udp
        --healthcheck 'CMD node /opt/sallyport/deploy/images/healthcheck.mjs relay') ;;
    agent)
      cfg=(--entrypoint '["sallyport","agent"]'
        --healthcheck 'CMD sallyport status --json') ;;
  esac
  c=$(buildah from --quiet --format docker "$base")
  buildah config "${hc[@]}" "${cfg[@]}" --label io.sallyport.role="$role" "$c"
  ref=localhost/sallyport-$role:$version
  old_role=$(buildah images -q --no-trunc "$ref" 2>/dev/null || true)
  id=$(buildah commit --quiet --format docker --rm "$c" "$ref")
  drop_old "$old_role" "$ref"
  buildah push --quiet "$ref" "oci:$out:sallyport-$role-$version" >/dev/null
  echo "built $ref ${id:0:12} (oci:$out:sallyport-$role-$version)"
done
drop_old "$old" "$base"

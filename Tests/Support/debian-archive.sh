# Debian packages for the tests, through a private apt state. Sourced by Tests/VM/prepare and
# Tests/InitramfsTests/prepare-module-tree.sh.
#
# The machine's own apt sources, lists, preferences and caches are never touched: the suites the tests need
# (bookworm with its security and updates suites and bookworm-backports; trixie likewise with trixie-backports;
# sid) are listed in $OOPSD_APT_STATE/sources.list, their indexes live under $OOPSD_APT_STATE/lists, and every apt
# call here passes those paths. Running the tests therefore never changes what this machine's own `apt upgrade`
# does. $OOPSD_APT_STATE/preferences pins every suite but bookworm's to 100, so a package named without a suite
# is bookworm's (the host's release); kernels of the other suites are always named with theirs
# (linux-image-amd64/trixie-backports).
# shellcheck shell=bash

: "${OOPSD_APT_STATE:=/var/cache/oopsd-apt}"
export OOPSD_APT_STATE

# Indexes older than this are refreshed before a kernel is resolved (the archive moves kernels on).
ARCHIVE_MAX_AGE_SECONDS=${ARCHIVE_MAX_AGE_SECONDS:-21600}

archive_log() { printf '[archive] %s\n' "$*" >&2; }

# archive_mirror KIND: the URI this machine uses for Debian (KIND main) or its security suites (KIND security),
# read from its deb822 or one-line sources; Debian's own hosts when it names none.
archive_mirror() {
    local kind=$1 uri=""
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        if [[ $kind == security ]]; then
            uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && /-security/ {print u; exit}' /etc/apt/sources.list.d/debian.sources)
        else
            uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / (bookworm|trixie)( |$)/ {print u; exit}' \
                /etc/apt/sources.list.d/debian.sources)
        fi
    fi
    if [[ -z $uri && -r /etc/apt/sources.list ]]; then
        if [[ $kind == security ]]; then
            uri=$(awk '$1 == "deb" && $0 ~ /-security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
                /etc/apt/sources.list)
        else
            uri=$(awk '$1 == "deb" && $0 ~ / (bookworm|trixie) / {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
                /etc/apt/sources.list)
        fi
    fi
    if [[ -z $uri ]]; then
        [[ $kind == security ]] && uri=http://deb.debian.org/debian-security || uri=http://deb.debian.org/debian
    fi
    echo "$uri"
}

# The apt options that point every apt call at the private state.
archive_apt_options() {
    ARCHIVE_APT=(
        -o "Dir::Etc::sourcelist=$OOPSD_APT_STATE/sources.list"
        -o "Dir::Etc::sourceparts=$OOPSD_APT_STATE/sources.list.d"
        -o "Dir::State::Lists=$OOPSD_APT_STATE/lists"
        -o "Dir::Cache=$OOPSD_APT_STATE/cache"
        -o "Dir::Etc::preferences=$OOPSD_APT_STATE/preferences"
        -o "Dir::Etc::preferencesparts=$OOPSD_APT_STATE/preferences.d"
        -o "APT::Sandbox::User=root"
    )
}

# archive_setup: the private sources.list (rewritten each time, so a changed mirror is followed).
archive_setup() {
    local main security keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    main=$(archive_mirror main)
    security=$(archive_mirror security)
    mkdir -p "$OOPSD_APT_STATE"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d}
    cat >"$OOPSD_APT_STATE/sources.list.tmp" <<SOURCES
deb [signed-by=$keyring] $main bookworm main
deb [signed-by=$keyring] $main bookworm-updates main
deb [signed-by=$keyring] $security bookworm-security main
deb [signed-by=$keyring] $main bookworm-backports main
deb [signed-by=$keyring] $main trixie main
deb [signed-by=$keyring] $main trixie-updates main
deb [signed-by=$keyring] $security trixie-security main
deb [signed-by=$keyring] $main trixie-backports main
deb [signed-by=$keyring] $main sid main
SOURCES
    cat >"$OOPSD_APT_STATE/preferences.tmp" <<PREFERENCES
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=trixie-security
Pin-Priority: 100

Package: *
Pin: release n=trixie-updates
Pin-Priority: 100

Package: *
Pin: release n=sid
Pin-Priority: 100
PREFERENCES
    mv "$OOPSD_APT_STATE/preferences.tmp" "$OOPSD_APT_STATE/preferences"
    if ! cmp -s "$OOPSD_APT_STATE/sources.list.tmp" "$OOPSD_APT_STATE/sources.list"; then
        rm -f "$OOPSD_APT_STATE/updated"  # new suites: their indexes are fetched at the next archive_update
    fi
    mv "$OOPSD_APT_STATE/sources.list.tmp" "$OOPSD_APT_STATE/sources.list"
    archive_apt_options
}

# archive_update [--force]: fetch the indexes into the private state when missing, stale or forced. Serialized
# with a lock: the unit tests may call this from several processes at once.
archive_update() {
    local force=${1:-} stamp=$OOPSD_APT_STATE/updated age
    archive_setup
    (
        flock 9
        if [[ $force != --force && -f $stamp ]]; then
            age=$(($(date +%s) - $(stat -c %Y "$stamp")))
            ((age < ARCHIVE_MAX_AGE_SECONDS)) && exit 0
        fi
        archive_log "apt-get update (private state $OOPSD_APT_STATE)"
        apt-get "${ARCHIVE_APT[@]}" -q update >"$OOPSD_APT_STATE/update.log" 2>&1 || {
            archive_log "apt-get update of the private state failed; its log:"
            tail -n 20 "$OOPSD_APT_STATE/update.log" >&2
            exit 1
        }
        touch "$stamp"
    ) 9>"$OOPSD_APT_STATE/update.lock"
}

# archive_depends PACKAGE[/SUITE] PATTERN: the dependencies of PACKAGE whose names match the extended regular
# expression PATTERN, one a line, in apt's order (e.g. the ABI-named image package of linux-image-amd64). The
# indexes are fetched again once when nothing matches (the archive may have moved on).
archive_depends() {
    local spec=$1 pattern=$2 found attempt
    for attempt in cached forced; do
        if [[ $attempt == cached ]]; then archive_update || return 1; else archive_update --force || return 1; fi
        found=$(apt-cache "${ARCHIVE_APT[@]}" depends "$spec" 2>/dev/null |
            awk -v re="^$pattern\$" '$1 == "Depends:" && $2 ~ re {print $2}')
        [[ -n $found ]] && { echo "$found"; return 0; }
    done
    archive_log "no dependency of $spec matches /$pattern/ in the archive"
    return 1
}

# archive_kernel_package SUITE: the ABI-named image package that linux-image-amd64 depends on in SUITE
# ("bookworm" is the candidate of bookworm and its security suite; any other suite only when named: trixie is the
# candidate of trixie/trixie-security only through the name, so "trixie" asks for linux-image-amd64/trixie).
archive_kernel_package() {
    local spec=linux-image-amd64 found
    [[ $1 == bookworm ]] || spec=linux-image-amd64/$1
    found=$(archive_depends "$spec" 'linux-image-[0-9][^ ]*') || return 1
    echo "${found%%$'\n'*}"
}

# archive_kernel_parts PACKAGE: the packages an image package splits the kernel into (Debian 7.x:
# linux-binary-<release> with the image, linux-modules-<release>, linux-base-<release>), one a line; nothing for an
# image package that holds the kernel itself (6.x). Reads the indexes archive_kernel_package just used.
archive_kernel_parts() {
    local rel=${1#linux-image-}
    archive_update || return 1
    apt-cache "${ARCHIVE_APT[@]}" depends "$1" 2>/dev/null |
        awk -v re="^linux-(binary|modules|base)-${rel//+/[+]}\$" '$1 == "Depends:" && $2 ~ re {print $2}'
}

# archive_download DIR PACKAGE...: the .debs of the packages into DIR (those already there are kept). Prints
# nothing; fails with apt's last lines.
archive_download() {
    local dir=$1 pkg missing=()
    shift
    mkdir -p "$dir"
    for pkg in "$@"; do
        compgen -G "$dir/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    archive_update || return 1
    archive_log "downloading ${missing[*]}"
    if ! (cd "$dir" && apt-get "${ARCHIVE_APT[@]}" -q download "${missing[@]}" >"$dir/download.log" 2>&1); then
        archive_update --force || return 1
        (cd "$dir" && apt-get "${ARCHIVE_APT[@]}" -q download "${missing[@]}" >"$dir/download.log" 2>&1) || {
            archive_log "apt-get download ${missing[*]} failed:"
            tail -n 5 "$dir/download.log" >&2
            return 1
        }
    fi
}

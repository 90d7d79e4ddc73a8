# Guest hook of the package scenario (bash, run by the systemd guest's driver after multi-user.target).
# shellcheck shell=bash
. /etc/oopsd-vm/package.env

# armed_seconds UNIT REGEX LIMIT: waits up to LIMIT seconds for a journal line of UNIT (this boot, since the unit last
# started) matching the extended REGEX; prints the seconds from the unit's start (InactiveExitTimestampMonotonic, the
# monotonic clock the journal's short-monotonic lines use) to that line.
armed_seconds() {
    local unit=$1 regex=$2 limit=$3 start seconds i
    for ((i = 0; i < limit; i++)); do
        start=$(systemctl show -P InactiveExitTimestampMonotonic "$unit")
        seconds=$(journalctl -b -u "$unit" -o short-monotonic --no-pager 2>/dev/null |
            awk -v start="${start:-0}" -v re="$regex" '{
                t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
                if (t * 1000000 >= start && $0 ~ re) { printf "%.3f", t - start / 1000000; exit }
            }')
        [[ -n $seconds ]] && { echo "$seconds"; return 0; }
        sleep 1
    done
    return 1
}

dump_sums() { find /var/crash -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-16; }

oopsd_armed_marker() {
    local seconds
    if seconds=$(armed_seconds oopsd.service ': armed [(]' 300); then
        vm_mark "oopsd armed in ${seconds}s: $(oopsctl status 2>&1 | grep -m 1 '^Why:' | tr -s ' ')"
        vm_mark "oopsd arming phases: $(journalctl -b -u oopsd -o json --no-pager \
            --output-fields=OOPSD_INITRAMFS_SECONDS,OOPSD_INITRAMFS_REUSED,OOPSD_LOAD_SECONDS 2>/dev/null |
            grep -o '"OOPSD_[A-Z_]*" *: *"[^"]*"' | tail -n 3 | tr -d '" ' | tr '\n' ' ')"
    else
        vm_mark "oopsd not armed after 300s: $(oopsctl status 2>&1 | tr '\n' ' ')"
        journalctl -b -u oopsd --no-pager | tail -n 20 >/dev/console
        return 1
    fi
}

crash_now() {
    vm_workload 192 192 10000 4 4 || return 1
    vm_meminfo
    vm_crash_sysrq
}

# install_package [MORE.deb...]: apt install of oopsd (and the other files), its output on the console.
install_package() {
    # Removing kdump-tools triggers initramfs-tools (its hook goes), and mkinitramfs takes minutes under TCG; the
    # host boots its own copy of the initrd, so the guest need not rebuild it.
    sed -i 's/^update_initramfs=.*/update_initramfs=no/' /etc/initramfs-tools/update-initramfs.conf 2>/dev/null
    vm_mark "install: apt install $DEB $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB" "$@" >/tmp/apt.log 2>&1
    local status=$?
    cat /tmp/apt.log >/dev/console
    vm_mark "install: apt exit $status"
    return $status
}

kdump_tools_marker() {
    local seconds
    if seconds=$(armed_seconds kdump-tools.service 'loaded kdump kernel' 600); then
        vm_mark "kdump-tools armed in ${seconds}s"
    else
        vm_mark "kdump-tools not armed: $(journalctl -b -u kdump-tools --no-pager | tail -n 5 | tr '\n' ' ')"
        return 1
    fi
}

collect_and_lifecycle() {
    oopsd_armed_marker || return 1
    local dump i sums
    for ((i = 0; i < 180; i++)); do
        dump=$(ls /var/crash | grep -E '^[0-9]+T[0-9]+Z-[0-9a-f]+$' | head -n 1)
        [[ -n $dump && -f /var/crash/$dump/report.json ]] && break
        sleep 1
    done
    vm_mark "collect: dump $dump"
    vm_mark "collect: list: $(oopsctl list --json | tr -s ' \n' ' ')"
    oopsctl info -1 >/tmp/info.txt 2>&1
    cat /tmp/info.txt >/dev/console
    grep -q 'sysrq_handle_crash' /tmp/info.txt && vm_mark "collect: report names sysrq_handle_crash"
    vm_mark "collect: journal: $(journalctl -b MESSAGE_ID=e68bae3ec1404f71bfa4518e0160043f -o cat --no-pager | head -n 1)"
    vm_mark "collect: journal -x: $(journalctl -b -x MESSAGE_ID=e68bae3ec1404f71bfa4518e0160043f --no-pager |
        grep -m 1 -o 'Crashes with the same signature.*')"
    vm_mark "collect: is-failed: $(systemctl is-failed oopsd)"
    # The unit's sandbox, as this systemd scores it, and any call it refused: an EPERM (system call filter,
    # capabilities) or EROFS (ProtectSystem=strict) in oopsd's journal of this boot.
    vm_mark "collect: security: $(systemd-analyze security oopsd.service 2>&1 | grep -o 'Overall exposure level.*')"
    vm_mark "collect: sandbox refusals: $(journalctl -b -u oopsd -o cat --no-pager |
        grep -ciE 'operation not permitted|EPERM|read-only file system|EROFS|permission denied|EACCES') lines"
    # Where a warm arming's time goes: oopsd's journal from its start, and the boot's critical chain to it.
    journalctl -b -u oopsd -o short-monotonic --no-pager | head -n 30 >/dev/console
    systemd-analyze critical-chain oopsd.service --no-pager 2>&1 | head -n 15 >/dev/console
    systemd-analyze blame --no-pager 2>&1 | head -n 12 >/dev/console

    sums=$(dump_sums)
    local since
    since=$(date +%s)
    sleep 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB_NEXT" >/tmp/apt-upgrade.log 2>&1
    vm_mark "upgrade: apt exit $?"
    for ((i = 0; i < 300; i++)); do
        journalctl -u oopsd --since "@$since" -o cat --no-pager | grep -q '^armed (' && break
        sleep 1
    done
    if journalctl -u oopsd --since "@$since" -o cat --no-pager | grep -q '^armed (' && oopsctl status >/dev/null; then
        vm_mark "upgrade: version $(dpkg-query -W -f '${Version}' oopsd), armed"
    else
        vm_mark "upgrade: not armed after the upgrade: $(oopsctl status 2>&1 | tr '\n' ' ')"
    fi
    [[ $(dump_sums) == "$sums" ]] && vm_mark "upgrade: dumps unchanged"

    DEBIAN_FRONTEND=noninteractive apt-get purge -y oopsd >/tmp/apt-purge.log 2>&1
    vm_mark "purge: apt exit $?; kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
    [[ ! -e /etc/oopsd && $(dump_sums) == "$sums" ]] && vm_mark "purge: /etc/oopsd gone, dumps unchanged"
    return 0
}

guest_main() {
    case $SUITE:$OOPSD_VM_BOOT in
    bookworm:1)
        kdump_tools_marker
        ;;
    bookworm:2)
        kdump_tools_marker
        install_package || return 1
        dpkg-query -W -f '${Status}' kdump-tools 2>/dev/null | grep -q 'install ok installed' ||
            vm_mark "install: kdump-tools removed"
        oopsd_armed_marker || return 1
        crash_now
        ;;
    trixie:1)
        install_package "$DKMS_DEB" || return 1
        vm_mark "install: dkms: $(dkms status oopsd 2>&1 | head -n 1)"
        modprobe oopsd && grep -q '^oopsd ' /proc/modules && vm_mark "install: modprobe oopsd: loaded"
        oopsctl status >/tmp/status.txt 2>&1
        vm_mark "install: oopsctl status exit $?: $(grep -m 1 '^Why:' /tmp/status.txt | sed 's/^Why: *//')"
        vm_mark "install: oopsd.service $(systemctl is-active oopsd)"
        ;;
    trixie:2)
        oopsd_armed_marker || return 1
        crash_now
        ;;
    *:3 | bookworm:3)
        collect_and_lifecycle
        ;;
    *)
        vm_mark "package: unexpected boot $OOPSD_VM_BOOT"
        return 1
        ;;
    esac
}

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

# oopsd_phases: where oopsd's last arming in this boot spent the time from the unit's start (systemd's monotonic
# clock, as oopsd's fields): to its main code (fork, sandbox, exec, loader), to the arming's start (configuration),
# the initramfs step (and its parts), kexec_file_load, and the rest up to the journal line.
oopsd_phases() {
    local line start field
    line=$(journalctl -b -u oopsd -o json --no-pager 2>/dev/null | grep '"OOPSD_LOAD_SECONDS"' | tail -n 1)
    field() { grep -o "\"$1\" *: *\"[^\"]*\"" <<<"$line" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }
    start=$(systemctl show -P InactiveExitTimestampMonotonic oopsd.service)
    awk -v start="$start" -v launched="$(field OOPSD_LAUNCHED_USEC)" -v arm="$(field OOPSD_ARM_STARTED_USEC)" \
        -v image="$(field OOPSD_INITRAMFS_SECONDS)" -v load="$(field OOPSD_LOAD_SECONDS)" \
        -v logged="$(field __MONOTONIC_TIMESTAMP)" -v reused="$(field OOPSD_INITRAMFS_REUSED)" \
        -v parts="$(field OOPSD_INITRAMFS_PHASES)" 'BEGIN {
            if (launched == "" || arm == "") {
                printf "initramfs %.3fs load %.3fs reused %s", image, load, reused; exit
            }
            printf "to main %.3fs, to arming %.3fs, initramfs %.3fs (%s), load %.3fs, rest %.3fs; reused %s",
                (launched - start) / 1e6, (arm - launched) / 1e6, image, parts, load,
                (logged - arm) / 1e6 - image - load, reused
        }'
}

dump_sums() { find /var/crash -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-16; }

oopsd_armed_marker() {
    local seconds
    if seconds=$(armed_seconds oopsd.service ': armed [(]' 300); then
        vm_mark "oopsd armed in ${seconds}s: $(oopsctl status 2>&1 | grep -m 1 '^Why:' | tr -s ' ')"
        vm_mark "oopsd arming phases: $(oopsd_phases)"
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

# kexec_time KERNEL INITRD CMDLINE: one kexec_file_load(KEXEC_FILE_ON_CRASH) by hand, its seconds on stdout (the
# system call alone, CLOCK_MONOTONIC around it). INITRD "-": KEXEC_FILE_NO_INITRAMFS; KERNEL "-": KEXEC_FILE_UNLOAD.
# perl-base is in every Debian system, so both guests can make the call without kexec-tools.
kexec_time() {
    perl -e '
        use strict;
        sub now { my $ts = "\0" x 16; syscall(228, 1, $ts) == 0 or die "clock_gettime: $!\n";
                  my ($s, $ns) = unpack("q q", $ts); return $s + $ns / 1e9 }
        my ($kernel, $initrd, $cmdline) = @ARGV;
        my ($flags, $k, $i) = (2, -1, -1);   # KEXEC_FILE_ON_CRASH
        if ($kernel eq "-") { $flags |= 1 } else { open(my $f, "<", $kernel) or die "$kernel: $!\n"; $k = fileno($f); push @main::keep, $f }
        if ($initrd eq "-") { $flags |= 4 } else { open(my $f, "<", $initrd) or die "$initrd: $!\n"; $i = fileno($f); push @main::keep, $f }
        my $cmd = "$cmdline\0";
        my $t0 = now();
        syscall(320, $k + 0, $i + 0, length($cmd), $cmd, $flags) == 0 or die "kexec_file_load: $!\n";
        printf "%.3f\n", now() - $t0;
    ' "$@"
}

# The functions of kexec_file_load that ftrace shows with their durations (those this kernel has). Not the shash
# calls: the whole system makes them (ext4's checksums), and they filled the trace.
KEXEC_TRACED='__x64_sys_kexec_file_load kimage_file_alloc_init kimage_file_prepare_segments kernel_read_file_from_fd
kernel_read_file arch_kexec_kernel_image_probe kexec_image_verify_sig kimage_validate_signature arch_kexec_kernel_verify_sig
kexec_bzImage64_verify_sig verify_pefile_signature pefile_digest_pe pkcs7_verify verify_pkcs7_message_sig
verify_pkcs7_signature pkcs7_validate_trust arch_kexec_kernel_image_load bzImage64_load kexec_load_purgatory
crash_load_segments crash_setup_memmap_entries prepare_elf_headers machine_kexec_prepare kimage_crash_copy_vmcoreinfo
kexec_calculate_store_digests kimage_load_segment kimage_load_crash_segment machine_kexec_post_load
kimage_file_post_load_cleanup arch_kexec_protect_crashkres arch_kexec_unprotect_crashkres kimage_free
ima_kexec_cmdline ima_add_kexec_buffer ima_post_read_file security_kernel_post_read_file'

# kexec_floor: what the kernel itself spends in kexec_file_load(KEXEC_FILE_ON_CRASH) of the kernel oopsd arms, in
# this boot: with no initramfs and with oopsd's cached one, each on a dropped page cache (as at boot: the files come
# from the disk) and again with the files cached; then, with the timing comparison (BENCH=1), once more under
# ftrace's function_graph to show where the time goes. Not by default: under multi-threaded TCG, switching the
# tracer back (live code patching with int3) once made another CPU hit a stray int3 in __schedule, an oops that
# crashed the guest into its capture kernel (package [6.12], 2026-12-05). oopsd is stopped meanwhile (disarmed) and
# started again after: its re-arm on a warm page cache.
kexec_floor() {
    local kernel image cmdline bare_cold bare_warm own_cold own_warm tracing=/sys/kernel/tracing
    kernel=/boot/vmlinuz-$(uname -r)
    [[ -f $kernel ]] || kernel=/usr/lib/modules/$(uname -r)/vmlinuz
    image=$(find /var/lib/oopsd -maxdepth 1 -name 'initramfs-*.img' | head -n 1)
    cmdline="$(cat /proc/cmdline) irqpoll nr_cpus=1 reset_devices"
    systemctl stop oopsd
    sync
    echo 3 >/proc/sys/vm/drop_caches
    bare_cold=$(kexec_time "$kernel" - "$cmdline" 2>&1)
    bare_warm=$(kexec_time "$kernel" - "$cmdline" 2>&1)
    echo 3 >/proc/sys/vm/drop_caches
    own_cold=$(kexec_time "$kernel" "$image" "$cmdline" 2>&1)
    own_warm=$(kexec_time "$kernel" "$image" "$cmdline" 2>&1)
    vm_mark "kexec floor: bare kernel (no initramfs) cold/warm page cache ${bare_cold}s / ${bare_warm}s;" \
        "with oopsd's initramfs ($(stat -c %s "$image") bytes) ${own_cold}s / ${own_warm}s;" \
        "kernel $(stat -c %s "$kernel") bytes"
    vm_mark "kexec floor: sha256 drivers: $(awk '/^name/ { n = $3 } /^driver/ { d = $3 } /^priority/ {
        if (n == "sha256") printf "%s(%s) ", d, $3 }' /proc/crypto)"
    [[ -d $tracing/events ]] || mount -t tracefs tracefs "$tracing" 2>/dev/null
    if [[ $BENCH == 1 && -w $tracing/set_ftrace_filter ]]; then
        tr -s ' ' '\n' <<<"$KEXEC_TRACED" | grep -xF -f - "$tracing/available_filter_functions" \
            >"$tracing/set_ftrace_filter" 2>/dev/null
        echo function_graph >"$tracing/current_tracer"
        echo >"$tracing/trace"
        echo 3 >/proc/sys/vm/drop_caches
        vm_mark "kexec floor: traced load (cold page cache, oopsd's initramfs) $(kexec_time "$kernel" "$image" "$cmdline" 2>&1)s"
        # Read before the tracer changes: switching it empties the buffer.
        echo 0 >"$tracing/tracing_on"
        vm_mark "kexec floor: $(wc -l <"$tracing/set_ftrace_filter") functions traced"
        grep -v '^#' "$tracing/trace" | grep -E ' us ' | head -n 80 | sed 's/^/kexec trace: /' >/dev/console
        echo nop >"$tracing/current_tracer"
        echo 1 >"$tracing/tracing_on"
        echo >"$tracing/set_ftrace_filter"
    fi
    kexec_time - - "" >/dev/null
    vm_mark "kexec floor: unloaded, kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
    systemctl start oopsd
    local seconds
    if seconds=$(armed_seconds oopsd.service ': armed [(]' 300); then
        vm_mark "oopsd re-armed (warm page cache) in ${seconds}s: $(oopsd_phases)"
    else
        vm_mark "oopsd not re-armed after the floor: $(oopsctl status 2>&1 | tr '\n' ' ')"
    fi
}

# collect: the boot after the capture: oopsd armed again (warm), the dump collected and listed, its report, journal
# entry and catalog text, the unit's state and sandbox, and where a warm arming's time goes (kexec_floor).
collect() {
    oopsd_armed_marker || return 1
    local dump i
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
    kexec_floor
    echo "$dump" >/var/lib/oopsd-vm/dump-id
}

# upgrade_and_purge: the package upgraded to a rebuilt one of a higher version (re-armed, dumps untouched), then
# purged (configuration gone, dumps untouched).
upgrade_and_purge() {
    local sums since i
    sums=$(dump_sums)
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

# kernel_upgrade: a kernel upgrade while oopsd is armed, as an operator makes it. kdump-tools' leftovers go first
# (oopsd's install said its kernel hook builds an unused initramfs at every kernel install; the reservation stays in
# oopsd's drop-in), then `apt install` of the newer kernel's package, whose postinst runs update-initramfs. The
# running kernel is still the old one and oopsd must stay armed for it: the install writes /boot for minutes, and
# oopsd re-arms once /boot has been quiet for 30 s (kexec_crash_loaded is sampled meanwhile). The host then boots
# the new kernel and the initrd this made, as GRUB would.
kernel_upgrade() {
    local since t0 status newest line i loaded samples
    DEBIAN_FRONTEND=noninteractive apt-get purge -y kdump-tools >/tmp/apt-kdump-purge.log 2>&1
    status=$?
    vm_mark "kernel: apt purge kdump-tools exit $status, its hook $([[ -e /etc/kernel/postinst.d/kdump-tools ]] &&
        echo stays || echo gone), oopsd.cfg $(grep -o 'crashkernel=[0-9][^ "]*' /etc/default/grub.d/oopsd.cfg 2>/dev/null | head -n 1)"
    # MODULES=most copies most of the new kernel's modules into its initrd, minutes under TCG; MODULES=dep takes
    # those this machine uses (virtio_blk, ext4), as many a server is configured.
    echo MODULES=dep >/etc/initramfs-tools/conf.d/oopsd-vm-modules
    touch /tmp/sampling
    (while [[ -e /tmp/sampling ]]; do cat /sys/kernel/kexec_crash_loaded; sleep 0.5; done >/tmp/kexec-samples) &
    since=$(date +%s)
    t0=$(date +%s.%N)
    vm_mark "kernel: apt install $KERNEL_DEB"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$KERNEL_DEB" >/tmp/apt-kernel.log 2>&1
    status=$?
    tail -n 12 /tmp/apt-kernel.log >/dev/console
    # Where the install's time went: dpkg's own log (seconds) of the kernel package's steps.
    grep " linux-image-$KERNEL_RELEASE:" /var/log/dpkg.log | sed 's/^/dpkg.log: /' >/dev/console
    vm_mark "kernel: apt install exit $status in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
    vm_mark "kernel: initrd.img-$KERNEL_RELEASE $(stat -c %s "/boot/initrd.img-$KERNEL_RELEASE" 2>&1) bytes, has" \
        "$(lsinitramfs "/boot/initrd.img-$KERNEL_RELEASE" 2>/dev/null | grep -oE '/(virtio_blk|ext4)[.]ko' | sort -u |
            tr -d / | tr '\n' ' ')"
    # Until oopsd logged a re-arm at least 29 s after /boot last changed (it re-arms after 30 s of quiet).
    for ((i = 0; i < 300; i++)); do
        newest=$(find /boot -maxdepth 1 -printf '%C@\n' | sort -n | tail -n 1)
        line=$(journalctl -u oopsd --since "@$since" -o short-unix --no-pager | awk -v n="$newest" '{
            m = $0; sub(/^[^:]*: /, "", m)
            if ($1 > n + 29 && m ~ /^(armed|unchanged|arming failed) [(]/) l = m
        } END { print l }')
        [[ -n $line ]] && break
        sleep 1
    done
    rm -f /tmp/sampling
    wait
    loaded=$(cat /sys/kernel/kexec_crash_loaded)
    samples=$(wc -l </tmp/kexec-samples)
    vm_mark "kernel: oopsd after the install: ${line:-no re-arm logged}"
    vm_mark "kernel: kexec_crash_loaded sampled every 0.5 s from the install on: $(grep -c '^0' /tmp/kexec-samples) of" \
        "$samples samples unloaded"
    oopsctl status >/tmp/status.txt 2>&1
    status=$?
    vm_mark "kernel: still running $(uname -r): kexec_crash_loaded=$loaded, oopsctl status exit $status," \
        "$(grep -m 1 '^Kernel' /tmp/status.txt | tr -s ' ')"
}

# new_kernel: the first boot of the new kernel, nobody having run anything since its install: oopsd armed for it
# (cold: its capture initramfs from the new kernel's modules), the dump of the old kernel still listed.
new_kernel() {
    oopsd_armed_marker || return 1
    oopsctl status >/tmp/status.txt 2>&1
    vm_mark "kernel: new $(uname -r): kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded), oopsctl status exit" \
        "$?, $(grep -m 1 '^Kernel' /tmp/status.txt | tr -s ' ')"
    local dump
    dump=$(cat /var/lib/oopsd-vm/dump-id)
    vm_mark "kernel: listed: $(oopsctl list | grep "^$dump " | tr -s ' ')"
}

# The boots, named in the order of BOOTS (package.env): OOPSD_VM_BOOT counts them.
guest_main() {
    local role
    role=$(tr -s ' ' '\n' <<<"$BOOTS" | sed -n "${OOPSD_VM_BOOT}p")
    # Debian 12 (bookworm) has boots of its own; trixie, trixie-backports (Debian 13 with the backports kernel) and
    # sid (Debian's next release) all have trixie's.
    local family=trixie
    [[ $SUITE == bookworm ]] && family=bookworm
    case $family:$role in
    bookworm:kdump-cold)
        kdump_tools_marker
        ;;
    bookworm:install)
        # With the timing comparison (OOPSD_VM_BENCH=1) kdump-tools arms on this boot too (warm); without, its unit
        # is masked: installed but never armed, it spares the minutes of its mkinitramfs.
        [[ $BENCH == 1 ]] && kdump_tools_marker
        install_package || return 1
        dpkg-query -W -f '${Status}' kdump-tools 2>/dev/null | grep -q 'install ok installed' ||
            vm_mark "install: kdump-tools removed"
        oopsd_armed_marker || return 1
        crash_now
        ;;
    bookworm:collect)
        collect || return 1
        kernel_upgrade
        ;;
    bookworm:kernel)
        new_kernel
        upgrade_and_purge
        ;;
    trixie:install)
        install_package "$DKMS_DEB" || return 1
        vm_mark "install: dkms: $(dkms status oopsd 2>&1 | head -n 1)"
        modprobe oopsd && grep -q '^oopsd ' /proc/modules && vm_mark "install: modprobe oopsd: loaded"
        oopsctl status >/tmp/status.txt 2>&1
        vm_mark "install: oopsctl status exit $?: $(grep -m 1 '^Why:' /tmp/status.txt | sed 's/^Why: *//')"
        vm_mark "install: oopsd.service $(systemctl is-active oopsd)"
        ;;
    trixie:crash)
        oopsd_armed_marker || return 1
        oopsctl status >/tmp/status.txt 2>&1
        vm_mark "crash: oopsctl status exit $?, $(grep -m 1 '^Kernel' /tmp/status.txt | tr -s ' ')"
        crash_now
        ;;
    trixie:collect)
        collect || return 1
        upgrade_and_purge
        ;;
    *)
        vm_mark "package: unexpected boot $OOPSD_VM_BOOT ($role)"
        return 1
        ;;
    esac
}

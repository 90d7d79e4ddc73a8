# package: the Debian package on a real Debian system booting systemd (6.1: Debian 12 bookworm, 6.12: Debian 13
# trixie, 7.2: sid, whose split 7.x packages put the image in /usr/lib/modules/<release>/vmlinuz and linux-base's
# hook links it into /boot, 7.3: Debian 13 with trixie-backports' kernel and that hook overridden, no image in /boot;
# see kernel_suite), installed with apt inside the guest, never by copying files.
#   Debian 12: kdump-tools is installed (crashkernel=256M) and `apt install ./oopsd_*.deb` replaces it (Conflicts:):
#     the service starts at once and arms cold, timed from the unit's start to the journal's "armed" line. The install
#     says that kdump-tools' kernel hook stays (a conffile) and keeps its crashkernel= in oopsd's own drop-in.
#     kdump-tools' unit is masked, so it never arms (its first arming is minutes of mkinitramfs); with
#     OOPSD_VM_BENCH=1 it arms instead and is timed on a first boot (cold: mkinitramfs) and on the install's boot
#     (warm), for the arming ratios oopsd / kdump-tools in the same guest and run.
#   Debian 13 and sid: no crashkernel= at all: the install writes /etc/default/grub.d/oopsd.cfg with the value oopsctl
#     estimate recommends and says a reboot is needed; the service runs unarmed and oopsctl status exits 3. The host
#     stands in for GRUB (no boot loader in the guest): the next boot gets that file's crashkernel=, and oopsd arms
#     at boot, cold, the image where the kernel's package put it (oopsctl status's Kernel: line).
#   Both: a busy workload, a sysrq crash, oopsd-capture saves the dump, the machine reboots; oopsd arms again (warm,
#     the initramfs from its cache, timed) and collects: `oopsctl list --json` shows the dump complete, the report
#     names sysrq_handle_crash, `journalctl -x` shows the entry with the catalog text, `systemctl is-failed oopsd`
#     says active, and oopsd's journal has no EPERM, EACCES or EROFS (the unit's sandbox allows all it did).
#   Debian 12, the kernel upgrade: in the same boot, `apt purge kdump-tools` (its hook goes, the reservation stays
#     in oopsd's drop-in) and `apt install ./linux-image-6.12...deb` (bookworm-backports, the 6.12 tag's package;
#     MODULES=dep for its initrd); oopsd stays armed for the running 6.1 (it re-arms once /boot is quiet). The host
#     boots the guest's new /boot/vmlinuz and initrd (standing in for GRUB), and there, with nobody running
#     anything, oopsd arms for the new release (cold) and lists the old kernel's dump.
#   Both, last: an upgrade to a rebuilt package of a higher version (still armed, dumps untouched) and a purge
#     (configuration gone, dumps untouched). The host checks the dump with vmcore-dmesg, makedumpfile and drgn.
# Figures: arming times (and, with OOPSD_VM_BENCH=1, oopsd vs kdump-tools on Debian 12: ratios, same guest and run),
# boot and capture times, the kernel install.

SCENARIO_KERNELS="6.1 6.12 7.2 7.3"
# Minutes of apt and a kernel install under TCG: Tests/VM/run starts it first.
SCENARIO_SLOW=1

# package_debs: the .debs of this build (scripts/package, reused when newer than the release binaries) and a copy
# of oopsd's with a higher version for the upgrade; sets PKG_DEB, PKG_DEB_NEXT, PKG_VERSION, PKG_DEPENDS.
package_debs() {
    local dir=${OOPSD_DEB_DIR:-$OOPSD_REPO/.build-debs} version bin=${OOPSD_VM_BIN_DIR:-$OOPSD_REPO/.build/release}
    version=$(dpkg-parsechangelog -l "$OOPSD_REPO/debian/changelog" -S Version)
    PKG_DEB=$dir/oopsd_${version}_amd64.deb
    # One build at a time: the package scenarios of two kernels may start together (Tests/VM/run's lanes).
    mkdir -p "$dir"
    (
        flock 9
        if [[ ! -f $PKG_DEB || $bin/oopsd -nt $PKG_DEB || $bin/oopsctl -nt $PKG_DEB || $bin/oopsd-capture -nt $PKG_DEB ]]
        then
            "$OOPSD_REPO/scripts/install-deps" --package && OOPSD_DEB_DIR=$dir "$OOPSD_REPO/scripts/package"
        fi
    ) 9>"$dir/.lock" >"$VM_RUN_DIR/package.log" 2>&1 ||
        vm_fail "scripts/package failed: $(tail -n 2 "$VM_RUN_DIR/package.log" | tr '\n' ' ')" || return 1
    PKG_VERSION=$version
    # The upgrade: the same files under a higher version, as a rebuilt package would carry.
    local unpacked=$VM_RUN_DIR/next
    rm -rf "$unpacked"
    dpkg-deb -R "$PKG_DEB" "$unpacked" || vm_fail "dpkg-deb -R $PKG_DEB failed" || return 1
    sed -i "s/^Version: .*/Version: ${version}+vmtest1/" "$unpacked/DEBIAN/control"
    PKG_DEB_NEXT=$VM_RUN_DIR/oopsd_${version}+vmtest1_amd64.deb
    dpkg-deb -Zgzip -b "$unpacked" "$PKG_DEB_NEXT" >/dev/null || vm_fail "dpkg-deb -b of the upgrade failed" || return 1
    rm -rf "$unpacked"
    # The libraries oopsd needs, preinstalled in the rootfs (the guest has no network): Depends: without versions.
    PKG_DEPENDS=$(dpkg-deb -f "$PKG_DEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//' | tr -d ' ' | sort -u | tr '\n' ' ')
}

# package_arm_seconds BOOT: the "oopsd armed in Ns" marker of that boot's console, in seconds.
package_marker_value() {
    grep -o "OOPSD-VM: $1 [0-9.]*s" "$VM_CONSOLE" | head -n 1 | sed 's/.* \([0-9.]*\)s$/\1/'
}

# package_kernel_deb: the newer kernel's package for the upgrade on Debian 12: the 6.12 tag's image package
# (bookworm-backports, made for Debian 12), prepared (Tests/VM/prepare --kernel 6.12) when it is not yet; sets
# PKG_KERNEL_DEB and PKG_KERNEL_RELEASE.
package_kernel_deb() {
    local dir
    dir=$(kernel_dir 6.12)
    if [[ ! -f $dir/.complete ]]; then
        "$OOPSD_VM_DIR/prepare" --kernel 6.12 --no-headers >"$VM_RUN_DIR/prepare-6.12.log" 2>&1 ||
            vm_fail "Tests/VM/prepare --kernel 6.12 failed: $(tail -n 2 "$VM_RUN_DIR/prepare-6.12.log" | tr '\n' ' ')" ||
            return 1
    fi
    PKG_KERNEL_RELEASE=$(cat "$dir/release")
    PKG_KERNEL_DEB=$(ls "$OOPSD_VM_CACHE/debs/linux-image-${PKG_KERNEL_RELEASE}_"*.deb 2>/dev/null | head -n 1)
    [[ -n $PKG_KERNEL_DEB ]] || vm_fail "no linux-image-${PKG_KERNEL_RELEASE}_*.deb in $OOPSD_VM_CACHE/debs" || return 1
}

scenario_main() {
    local suite extras=() release t_crash boots bench=${OOPSD_VM_BENCH:-0}
    suite=$(kernel_suite "$VM_KERNEL")
    package_debs || return 1
    PKG_DKMS_DEB=$(dirname "$PKG_DEB")/oopsd-dkms_${PKG_VERSION}_all.deb
    assert_file "$PKG_DKMS_DEB" "the oopsd-dkms package" || return 1
    # Debian 12 starts with kdump-tools, to install oopsd over it (and with OOPSD_VM_BENCH=1, to time its arming in
    # the same guest); Debian 13 installs oopsd-dkms too, which DKMS builds there against the running kernel's headers.
    if [[ $suite == bookworm ]]; then
        extras=(kdump-tools)
        package_kernel_deb || return 1
        boots="install collect kernel"
        [[ $bench == 1 ]] && boots="kdump-cold $boots"
    else
        extras=(dkms linux-headers-amd64)
        boots="install crash collect"
    fi
    # shellcheck disable=SC2086
    vm_systemd_guest "$suite" $PKG_DEPENDS "${extras[@]}" || return 1
    release=$(vm_regex_quote "$VM_RELEASE")
    vm_add_file "$PKG_DEB" "/root/$(basename "$PKG_DEB")"
    vm_add_file "$PKG_DEB_NEXT" "/root/$(basename "$PKG_DEB_NEXT")"
    vm_add_file "$PKG_DKMS_DEB" "/root/$(basename "$PKG_DKMS_DEB")"
    printf 'SUITE=%s\nDEB=/root/%s\nDEB_NEXT=/root/%s\nDKMS_DEB=/root/%s\nBOOTS="%s"\nBENCH=%s\n' "$suite" \
        "$(basename "$PKG_DEB")" "$(basename "$PKG_DEB_NEXT")" "$(basename "$PKG_DKMS_DEB")" "$boots" "$bench" \
        >"$VM_STAGE/etc/oopsd-vm/package.env"
    if [[ $suite == bookworm ]]; then
        vm_add_file "$PKG_KERNEL_DEB" "/root/$(basename "$PKG_KERNEL_DEB")"
        printf 'KERNEL_DEB=/root/%s\nKERNEL_RELEASE=%s\n' "$(basename "$PKG_KERNEL_DEB")" "$PKG_KERNEL_RELEASE" \
            >>"$VM_STAGE/etc/oopsd-vm/package.env"
        [[ $bench == 1 ]] || ln -sfn /dev/null "$VM_STAGE/etc/systemd/system/kdump-tools.service"
    fi
    vm_guest_hook "$OOPSD_VM_DIR/scenarios/package.guest.sh"
    vm_build_disk || return 1

    # The install boots do most: apt, arming, a workload, the crash and the capture (TCG on a busy host: up to 15 min).
    VM_SYSTEMD_BOOT_TIMEOUT=900
    ((VM_BOOT_TIMEOUT >= VM_SYSTEMD_BOOT_TIMEOUT)) || VM_BOOT_TIMEOUT=$VM_SYSTEMD_BOOT_TIMEOUT
    if [[ $suite == bookworm ]]; then
        VM_CRASHKERNEL=256M
        if [[ $bench == 1 ]]; then
            vm_boot kdump-cold || return 1
            vm_expect_console 'OOPSD-VM: kdump-tools armed in' "kdump-tools arming on its first boot" || return 1
        fi
        vm_boot install || return 1
        if [[ $bench == 1 ]]; then
            vm_expect_console 'OOPSD-VM: kdump-tools armed in' "kdump-tools arming on its second boot" || return 1
        fi
        vm_expect_console 'OOPSD-VM: install: kdump-tools removed' "apt removing kdump-tools for oopsd" || return 1
        vm_expect_console 'oopsd: kdump-tools was removed but its /etc/kernel/postinst.d/kdump-tools stays and builds' \
            "the install's line about the kernel hook kdump-tools left" || return 1
        vm_expect_console 'oopsd: kept crashkernel=256M from /etc/default/grub.d/kdump-tools.cfg in /etc/default/grub.d/oopsd.cfg' \
            "kdump-tools' reservation kept in oopsd's drop-in" || return 1
    else
        VM_CRASHKERNEL=
        vm_boot install || return 1
        vm_expect_console 'oopsd: added crashkernel=[0-9]+M to the kernel command line .*reboot' \
            "the install's one line about the reservation" || return 1
        vm_expect_console 'OOPSD-VM: install: oopsctl status exit 3: not armed' "oopsctl status without a reservation" ||
            return 1
        vm_expect_console 'OOPSD-VM: install: oopsd.service active' "the unit running unarmed" || return 1
        vm_expect_console "OOPSD-VM: install: dkms: oopsd/0[.]1, $release, x86_64: installed" \
            "DKMS building oopsd.ko for the running kernel" || return 1
        vm_expect_console 'OOPSD-VM: install: modprobe oopsd: loaded' "the DKMS-built module loading" || return 1
        vm_extract /etc/default/grub.d/oopsd.cfg "$VM_RUN_DIR/oopsd.cfg" || return 1
        VM_CRASHKERNEL=$(grep -o 'crashkernel=[0-9]*[MG]' "$VM_RUN_DIR/oopsd.cfg" | head -n 1 | cut -d= -f2)
        [[ -n $VM_CRASHKERNEL ]] || vm_fail "no crashkernel= in the package's grub.d drop-in: $(cat "$VM_RUN_DIR/oopsd.cfg")" ||
            return 1
        vm_figure "reservation the package configured" "crashkernel=$VM_CRASHKERNEL"
        vm_boot crash || return 1
        vm_expect_console "OOPSD-VM: crash: oopsctl status exit 0, Kernel: $(vm_regex_quote "$VM_GUEST_IMAGE") " \
            "oopsd arming the image where the kernel's package put it ($VM_GUEST_IMAGE)" || return 1
    fi
    vm_expect_console "OOPSD-VM: oopsd armed in [0-9.]+s" "oopsd armed (cold)" || return 1
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'oopsd-capture: .*complete' "oopsd-capture saving a complete dump" || return 1
    t_crash=$(vm_console_time 'Kernel panic - not syncing')
    vm_figure "panic to reboot (capture kernel, oopsd-capture)" \
        "$(awk -v a="$t_crash" -v b="$VM_BOOT_SECONDS" 'BEGIN { printf "%.1f", b - a }')s"
    local cold
    cold=$(package_marker_value 'oopsd armed in')

    vm_boot collect || return 1
    local collected=$VM_CONSOLE
    vm_expect_console "OOPSD-VM: boot [0-9]+ kernel $release\$" "the production kernel after the capture" || return 1
    vm_expect_console "OOPSD-VM: oopsd armed in [0-9.]+s" "oopsd armed again after the crash (warm)" || return 1
    local warm
    warm=$(package_marker_value 'oopsd armed in')
    vm_expect_console 'OOPSD-VM: collect: list: .*"complete" ?: ?true' "oopsctl list --json shows a complete dump" ||
        return 1
    vm_expect_console 'OOPSD-VM: collect: report names sysrq_handle_crash' "the report" || return 1
    vm_expect_console 'OOPSD-VM: collect: journal: kernel crash dump [0-9]+T[0-9]+Z-[0-9a-f]+ collected, complete: Kernel panic' "the journal entry" || return 1
    vm_expect_console 'OOPSD-VM: collect: journal -x: .*Crashes with the same signature' "the catalog text" || return 1
    vm_expect_console 'OOPSD-VM: collect: is-failed: active' "systemctl is-failed oopsd" || return 1
    vm_expect_console 'OOPSD-VM: collect: sandbox refusals: 0 lines' \
        "no EPERM, EACCES or EROFS in oopsd's journal (the unit's sandbox allows arming and collection)" || return 1
    local dump
    dump=$(grep -o 'OOPSD-VM: collect: dump [^ ]*' "$VM_CONSOLE" | head -n 1 | awk '{ print $4 }')
    [[ -n $dump ]] || vm_fail "no 'collect: dump' marker" || return 1

    if [[ $suite == bookworm ]]; then
        package_kernel_upgrade "$dump" || return 1
    fi
    vm_expect_console 'OOPSD-VM: upgrade: version .*\+vmtest1, armed' "armed after the upgrade" || return 1
    vm_expect_console 'OOPSD-VM: upgrade: dumps unchanged' "dumps after the upgrade" || return 1
    vm_expect_console 'OOPSD-VM: purge: /etc/oopsd gone, dumps unchanged' "dumps after the purge" || return 1

    vm_extract "/var/crash/$dump/" "$VM_RUN_DIR/dump" || return 1
    vm_check_dump_readers "$VM_RUN_DIR/dump/vmcore" "$VM_RELEASE" || return 1

    vm_figure "oopsd arming: cold (unit start to armed) / warm (boot after the crash)" "${cold}s / ${warm}s"
    vm_figure "oopsd warm arming phases (initramfs from the cache, kexec_file_load)" \
        "$(grep -o 'OOPSD-VM: oopsd arming phases: .*' "$collected" | head -n 1 | sed 's/.*phases: //' | tr -d '\r')"
    # The kernel's own floor in the same boot: kexec_file_load of the same kernel by hand (package.guest.sh,
    # kexec_floor), and oopsd's re-arm once the files are in the page cache.
    local floor bare
    floor=$(grep -o 'OOPSD-VM: kexec floor: bare kernel.*' "$collected" | head -n 1 | tr -d '\r')
    bare=$(sed -n 's/.*cold\/warm page cache \([0-9.]*\)s.*/\1/p' <<<"$floor")
    # A figure, not a check: a floor that could not be measured says why, and the ratio below is left out.
    [[ -n $floor ]] || floor="kexec floor: not measured (no 'kexec floor' marker on the console)"
    vm_figure "kexec_file_load by hand, same kernel and boot (the kernel's floor)" "${floor#*floor: }"
    vm_figure "oopsd re-arm on a warm page cache" \
        "$(grep -o 'OOPSD-VM: oopsd re-armed (warm page cache) in .*' "$collected" | head -n 1 | sed 's/.* in //' | tr -d '\r')"
    vm_figure "systemd-analyze security oopsd.service (guest systemd)" \
        "$(grep -o 'OOPSD-VM: collect: security: .*' "$collected" | head -n 1 | sed 's/.*: //' | tr -d '\r')"
    if [[ $suite == bookworm && $bench == 1 ]]; then
        local kcold kwarm
        kcold=$(grep -o 'OOPSD-VM: kdump-tools armed in [0-9.]*s' "$VM_RUN_DIR/console-kdump-cold.log" | grep -o '[0-9.]*s$' | tr -d s)
        kwarm=$(grep -o 'OOPSD-VM: kdump-tools armed in [0-9.]*s' "$VM_RUN_DIR/console-install.log" | grep -o '[0-9.]*s$' | tr -d s)
        vm_figure "kdump-tools arming: cold (first boot, mkinitramfs) / warm" "${kcold}s / ${kwarm}s"
        vm_figure "arming ratios oopsd / kdump-tools, same guest and run: cold / warm" \
            "$(awk -v a="$cold" -v b="$kcold" -v c="$warm" -v d="$kwarm" 'BEGIN { printf "%.3f / %.3f", a / b, c / d }')"
        if [[ -n $bare ]]; then
            vm_figure "floor ratio: bare kexec_file_load (cold page cache) / kdump-tools warm" \
                "$(awk -v a="$bare" -v b="$kwarm" 'BEGIN { printf "%.3f (goal for oopsd warm: 0.1)", a / b }')"
        fi
    fi
}

# package_kernel_upgrade DUMP: Debian 12's kernel upgrade (package.guest.sh, kernel_upgrade and new_kernel): checks
# the end of the collect boot (still armed for the running kernel after the install), then boots the new kernel and
# initrd from the guest's /boot as GRUB would and checks that oopsd armed it by itself and still lists DUMP.
package_kernel_upgrade() {
    local dump=$1 old=$release new
    new=$(vm_regex_quote "$PKG_KERNEL_RELEASE")
    vm_expect_console 'OOPSD-VM: kernel: apt purge kdump-tools exit 0, its hook gone, oopsd.cfg crashkernel=256M' \
        "kdump-tools purged before the kernel upgrade, the reservation kept in oopsd's drop-in" || return 1
    vm_expect_console 'OOPSD-VM: kernel: apt install exit 0' "apt installing $(basename "$PKG_KERNEL_DEB")" || return 1
    vm_expect_console "OOPSD-VM: kernel: initrd[.]img-$new [0-9]+ bytes, has ext4[.]ko virtio_blk[.]ko" \
        "update-initramfs making the new kernel's initrd (with virtio_blk and ext4)" || return 1
    vm_expect_console 'OOPSD-VM: kernel: oopsd after the install: (armed|unchanged) [(]changed: ' \
        "oopsd re-arming after the kernel install wrote /boot" || return 1
    vm_expect_console "OOPSD-VM: kernel: still running $old: kexec_crash_loaded=1, oopsctl status exit 0, Kernel: /boot/vmlinuz-$old " \
        "oopsd still armed for the running $VM_RELEASE after the kernel install" || return 1
    vm_figure "kernel install in the guest (apt install ./linux-image-$PKG_KERNEL_RELEASE, MODULES=dep)" \
        "$(grep -o 'OOPSD-VM: kernel: apt install exit .*' "$VM_CONSOLE" | head -n 1 | sed 's/.* in //' | tr -d '\r')"
    vm_figure "oopsd during the kernel install" \
        "$(grep -o 'OOPSD-VM: kernel: oopsd after the install: .*' "$VM_CONSOLE" | head -n 1 | sed 's/.*install: //' |
            tr -d '\r'); $(grep -o 'OOPSD-VM: kernel: kexec_crash_loaded sampled .*' "$VM_CONSOLE" | head -n 1 |
            sed 's/.*kernel: //' | tr -d '\r')"

    # The host stands in for GRUB: the new kernel and the initrd the guest's update-initramfs made.
    vm_extract "/boot/vmlinuz-$PKG_KERNEL_RELEASE" "$VM_RUN_DIR/vmlinuz-$PKG_KERNEL_RELEASE" &&
        vm_extract "/boot/initrd.img-$PKG_KERNEL_RELEASE" "$VM_RUN_DIR/initrd.img-$PKG_KERNEL_RELEASE" || return 1
    VM_BOOT_KERNEL=$VM_RUN_DIR/vmlinuz-$PKG_KERNEL_RELEASE
    VM_BOOT_INITRD=$VM_RUN_DIR/initrd.img-$PKG_KERNEL_RELEASE
    vm_boot kernel || return 1
    vm_expect_console "OOPSD-VM: boot [0-9]+ kernel $new\$" "the new kernel booting" || return 1
    vm_expect_console "OOPSD-VM: oopsd armed in [0-9.]+s: Why: armed: $new, " \
        "oopsd arming the new kernel at boot, nobody running anything" || return 1
    vm_expect_console "OOPSD-VM: kernel: new $new: kexec_crash_loaded=1, oopsctl status exit 0, Kernel: /boot/vmlinuz-$new " \
        "oopsctl status on the new kernel" || return 1
    vm_expect_console "OOPSD-VM: kernel: listed: $dump .* $old yes " "the old kernel's dump listed on the new kernel" ||
        return 1
    vm_figure "oopsd arming on the new kernel's first boot (cold, its modules)" \
        "$(package_marker_value 'oopsd armed in')s"
}

# systemd-smoke: the systemd guest (real Debian of the tag's suite: 6.1 bookworm, 6.12 trixie, see kernel_suite)
# boots its own kernel and initramfs to multi-user.target twice from the same disk. Boot 1 marks systemd's state,
# the kernel release and whether the journal of the boot can be read, boot 2 marks itself and the journal's boots
# and runs a small vm_workload (lib-guest.sh and hugetlb-marker under bash and coreutils);
# the host checks both boots' markers, the boot counter on the disk (2) and that the guest ran the rootfs's kernel.
# Figures: qemu start to the multi-user marker of each boot, the guest's own split of it, rootfs and disk builds.

SCENARIO_KERNELS="6.1 6.12"

# smoke_multi_user BOOT: figures of one boot: host seconds from qemu's start to the driver's multi-user marker, and
# the guest's own kernel/initrd/userspace split of it.
smoke_multi_user() {
    local line t
    t=$(vm_console_time 'OOPSD-VM: systemd: multi-user.target reached')
    [[ -n $t ]] || vm_fail "boot $1: no 'systemd: multi-user.target reached' marker in $VM_CONSOLE" || return 1
    line=$(grep -o 'multi-user.target reached .*' "$VM_CONSOLE" | head -n 1)
    vm_figure "boot $1: qemu start to multi-user" \
        "${t}s (guest: ${line#multi-user.target reached }; qemu ran ${VM_BOOT_SECONDS}s)"
}

scenario_main() {
    local suite release
    suite=$(kernel_suite "$VM_KERNEL")
    vm_systemd_guest "$suite" || return 1
    release=$(vm_regex_quote "$VM_RELEASE")
    vm_guest_hook - <<'GUEST'
guest_main() {
    case $OOPSD_VM_BOOT in
    1)
        vm_mark "smoke boot 1: system $(systemctl is-system-running 2>&1); jobs: $(systemctl list-jobs --no-legend |
            awk '{ printf "%s ", $2 }')"
        vm_mark "smoke boot 1: kernel $(uname -r)"
        if n=$(journalctl -b --no-pager -q 2>/dev/null | wc -l) && [ "$n" -gt 0 ]; then
            vm_mark "smoke boot 1: journalctl -b works ($n lines)"
        else
            vm_mark "smoke boot 1: journalctl -b failed"
        fi
        ;;
    2)
        vm_mark "smoke boot 2: system $(systemctl is-system-running 2>&1); journal boots: $(journalctl --list-boots \
            --no-pager 2>/dev/null | grep -c '[0-9a-f]\{32\}'); machine-id $(cat /etc/machine-id)"
        # The busybox guest's helpers under bash and coreutils: a small workload with 2 + 2 huge pages.
        vm_workload 32 32 2000 2 2
        ;;
    *) vm_mark "smoke: unexpected boot $OOPSD_VM_BOOT"; return 1 ;;
    esac
}
GUEST
    vm_build_disk || return 1

    vm_boot boot1 || return 1
    vm_expect_console "OOPSD-VM: boot 1 kernel $release\$" "boot 1 of the $suite kernel" || return 1
    smoke_multi_user 1 || return 1
    vm_expect_console 'OOPSD-VM: systemd: failed units: none' "boot 1 without failed units" || return 1
    # The driver's own oneshot start job is the boot's last one: systemd says "starting" until it ends.
    vm_expect_console 'OOPSD-VM: smoke boot 1: system (starting|running);' "systemd's state in boot 1" || return 1
    vm_expect_console "OOPSD-VM: smoke boot 1: kernel $release\$" "the kernel release of boot 1" || return 1
    vm_expect_console 'OOPSD-VM: smoke boot 1: journalctl -b works' "journalctl -b in boot 1" || return 1
    vm_expect_console 'OOPSD-VM: guest_main exited with status 0' "guest_main of boot 1" || return 1
    vm_expect_console 'OOPSD-VM: powering off' "the driver's power-off in boot 1" || return 1
    vm_figure "boot 1: systemd state" \
        "$(grep -o 'smoke boot 1: system [^;]*' "$VM_CONSOLE" | head -n 1 | cut -d' ' -f5-)"

    vm_boot boot2 || return 1
    vm_expect_console "OOPSD-VM: boot 2 kernel $release\$" "boot 2 on the same disk" || return 1
    smoke_multi_user 2 || return 1
    vm_expect_console 'OOPSD-VM: systemd: failed units: none' "boot 2 without failed units" || return 1
    vm_expect_console 'OOPSD-VM: smoke boot 2: system (starting|running); journal boots: 2;' \
        "the persistent journal holding both boots" || return 1
    vm_expect_console 'OOPSD-VM: workload: hugetlb ready: 2 huge pages in use, 2 freed' "hugetlb-marker in boot 2" ||
        return 1
    vm_expect_console 'OOPSD-VM: workload: slab filled' "vm_workload in boot 2" || return 1
    vm_expect_console 'OOPSD-VM: guest_main exited with status 0' "guest_main of boot 2" || return 1
    vm_expect_console 'OOPSD-VM: powering off' "the driver's power-off in boot 2" || return 1

    vm_extract /var/lib/oopsd-vm/boot-count "$VM_RUN_DIR/boot-count" || return 1
    assert_eq "$(cat "$VM_RUN_DIR/boot-count")" 2 "boot counter on the disk after two boots" || return 1
    local booted
    booted=$(grep -o 'smoke boot 1: kernel .*' "$VM_RUN_DIR/console-boot1.log" | head -n 1 | cut -d' ' -f5)
    assert_eq "$booted" "$(cat "$VM_ROOTFS.release")" "kernel release of boot 1 vs the rootfs's ($VM_ROOTFS.release)"
}

# downtime: how long a crash keeps the machine from being armed again, FinalAction=reboot against
# FinalAction=kexec, in one run, on every harness kernel (the panic scenario also returns with kexec on each).
#   qemu A, boot 1: oopsd arms with FinalAction=reboot; sysrq panic; the capture saves the dump and reboots, so
#                   qemu exits (-no-reboot): the firmware's turn.
#   qemu B, boot 2: started with SeaBIOS waiting at its boot menu (-boot menu=on,splash-time=$DOWNTIME_SPLASH_MS,
#                   30 s by default: the low end of a rack server's POST, which is often 1-3 minutes, so the ratio
#                   below is the least a server would see); oopsd arms again. Then FinalAction=kexec, a second
#                   panic, and the capture jumps home with kexec_load:
#           boot 3: in the same qemu, no firmware; oopsd arms again; power off.
# Figures: panic -> armed again for reboot (the rest of qemu A after the panic, plus qemu B's start to armed; and
# the same without the firmware delay, which subtracts qemu B's extra time to the kernel's first line against
# qemu A's) and for kexec, and their ratios. No assertion on times (a timing is a figure, not a test); the run
# fails when a boot, the return or the MemTotal check fails.
source "$(dirname "${BASH_SOURCE[0]}")/panic.sh"  # panic_guest_hook: oopsd_start, oopsd_wait_armed, oopsd_stop

: "${DOWNTIME_SPLASH_MS:=30000}"

scenario_main() {
    panic_guest_hook
    # A later guest_main replaces the panic scenario's.
    cat >>"$VM_STAGE/etc/oopsd-vm/guest.sh" <<'GUEST'
guest_main() {
    vm_meminfo
    oopsd_start || return 1
    oopsd_wait_armed 120 || return 1
    case $OOPSD_VM_BOOT in
    1) vm_crash_sysrq 0 ;;
    2)
        oopsd_stop
        printf '[Capture]\nFinalAction=kexec\nReturnInitramfs=/boot/oopsd-vm-initrd.cpio.gz\n' \
            >/etc/oopsd/oopsd.conf.d/60-kexec.conf
        oopsd_start || return 1
        oopsd_wait_armed 120 || return 1
        vm_crash_sysrq 0
        ;;
    *) vm_mark "back after kexec: $(ls /var/crash | tr '\n' ' ')" ;;
    esac
}
GUEST
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    printf '[Capture]\nFinalAction=reboot\n' >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-downtime.conf"
    vm_build_disk || return 1

    vm_boot reboot-path || return 1
    local console_a=$VM_CONSOLE panic_a exit_a kernel_a
    vm_expect_console 'oopsd-capture: reboot now' "the capture's firmware reboot" || return 1
    # The kernel's own panic line (its printk time in brackets): collection's journal line quotes the panic
    # string too, and in qemu B it comes first (boot 2 collects boot 1's dump before its own crash).
    local panic_line='^[[] *[0-9.]+[]] Kernel panic - not syncing'
    panic_a=$(vm_console_time "$panic_line")
    kernel_a=$(vm_console_time 'Linux version')
    exit_a=$VM_BOOT_SECONDS

    VM_QEMU_EXTRA="-boot menu=on,splash-time=$DOWNTIME_SPLASH_MS" vm_boot kexec-path || return 1
    local armed_b kernel_b panic_b armed_c
    armed_b=$(vm_console_time 'OOPSD-VM: oopsd armed')
    kernel_b=$(vm_console_time 'Linux version')
    vm_expect_console 'oopsd-capture: kexec now' "the capture's kexec return" || return 1
    vm_expect_console 'OOPSD-VM: back after kexec: ' "boot 3 in the same qemu" || return 1
    panic_b=$(vm_console_time "$panic_line")
    armed_c=$(vm_console_time 'OOPSD-VM: oopsd armed' <(grep -A100000 'OOPSD-VM: boot 3 kernel' "$VM_CONSOLE"))
    [[ -n $panic_a && -n $kernel_a && -n $armed_b && -n $kernel_b && -n $panic_b && -n $armed_c ]] ||
        vm_fail "a time is missing: panic A '$panic_a', kernel A '$kernel_a', armed B '$armed_b', kernel B" \
            "'$kernel_b', panic B '$panic_b', armed C '$armed_c' ($console_a, $VM_CONSOLE)" || return 1
    awk -v a="$armed_b" -v p="$panic_b" 'BEGIN { exit !(p > a) }' ||
        vm_fail "the second panic's time ($panic_b s) is not after boot 2's first arm ($armed_b s)" || return 1
    vm_check_memtotal_return || return 1

    awk -v pa="$panic_a" -v ea="$exit_a" -v ka="$kernel_a" -v ab="$armed_b" -v kb="$kernel_b" -v pb="$panic_b" \
        -v ac="$armed_c" -v splash="$DOWNTIME_SPLASH_MS" 'BEGIN {
            reboot = ea - pa + ab; bare = reboot - (kb - ka); kexec = ac - pb
            printf "%.1f %.1f %.1f %.2f %.2f %.1f\n", reboot, bare, kexec, kexec / reboot, kexec / bare, kb - ka
        }' >"$VM_RUN_DIR/downtime"
    local reboot bare kexec ratio ratio_bare firmware
    read -r reboot bare kexec ratio ratio_bare firmware <"$VM_RUN_DIR/downtime"
    vm_figure "panic to armed again, FinalAction=reboot (splash-time=${DOWNTIME_SPLASH_MS}ms)" "${reboot}s"
    vm_figure "panic to armed again, FinalAction=reboot (firmware delay taken out: ${firmware}s)" "${bare}s"
    vm_figure "panic to armed again, FinalAction=kexec" "${kexec}s"
    vm_figure "kexec / reboot" "$ratio with the firmware delay, $ratio_bare without"
    vm_figure "MemTotal before / after the kexec return" "$MEMTOTAL_BEFORE kB / $MEMTOTAL_AFTER kB"
}

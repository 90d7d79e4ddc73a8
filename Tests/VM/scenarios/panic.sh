# panic: oopsd's whole cycle. Boot 1: a busy guest, oopsd arms (its own initramfs, kexec_file_load), sysrq
# panic; the capture kernel runs oopsd-capture as PID 1, saves the dump on the guest's disk and reboots.
# Boot 2: the normal system again; oopsd collects the dump and oopsctl shows it. The host then reads the dump
# with tools nobody here wrote (vmcore-dmesg, makedumpfile, drgn).

# The guest script of both boots; the demo and other scenarios reuse it.
panic_guest_hook() {
    vm_guest_hook - <<'GUEST'
# Start the service the way systemd would (here without systemd: its notifications are no-ops).
oopsd_start() {
    oopsd_started=$(cut -d' ' -f1 /proc/uptime)
    mkdir -p /var/log
    /usr/sbin/oopsd >/var/log/oopsd.log 2>&1 &
    oopsd_pid=$!
    vm_mark "oopsd started as pid $oopsd_pid"
}

# Wait until the capture kernel is loaded: /sys/kernel/kexec_crash_loaded reads 1.
oopsd_wait_armed() {
    i=0
    while [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; do
        i=$((i + 1))
        if [ $i -gt $(($1 * 10)) ] || ! kill -0 "$oopsd_pid" 2>/dev/null; then
            vm_mark "oopsd did not arm within $1s"
            cat /var/log/oopsd.log
            return 1
        fi
        sleep 0.1
    done
    vm_mark "oopsd armed after $(awk -v a="$oopsd_started" '{ printf "%.1f", $1 - a }' /proc/uptime)s"
    cat /var/log/oopsd.log
}

oopsd_stop() {
    kill -TERM "$oopsd_pid"
    wait "$oopsd_pid"
    vm_mark "oopsd stopped with status $?; kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
    cat /var/log/oopsd.log
}

guest_main() {
    if [ "$OOPSD_VM_BOOT" = 1 ]; then
        vm_workload 320 320 40000
        oopsd_start || return 1
        oopsd_wait_armed 120 || return 1
        oopsctl status
        vm_crash_sysrq
    else
        oopsd_start || return 1
        oopsd_wait_armed 120 || return 1
        vm_mark "collected: $(ls /var/crash | tr '\n' ' ')"
        oopsctl list
        oopsctl info -1
        oopsd_stop
    fi
}
GUEST
}

scenario_main() {
    panic_guest_hook
    vm_build_disk || return 1

    vm_boot crash || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming the capture kernel" || return 1
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'oopsd-capture: dump complete in ' "the capture as PID 1" || return 1
    vm_expect_console 'oopsd-capture: reboot now' "the capture's final action" || return 1
    local panic end
    panic=$(vm_console_time 'Kernel panic - not syncing')
    end=$VM_BOOT_SECONDS
    vm_figure "panic-to-reboot" "$(awk -v a="$panic" -v b="$end" 'BEGIN { printf "%.1f", b - a }')s"
    vm_figure "arm time (oopsd start to armed)" "$(grep -o 'oopsd armed after [0-9.]*s' "$VM_CONSOLE" | head -n 1 | sed 's/oopsd armed after //')"
    vm_figure "capture log" "$(grep -o 'saved [0-9]* of [0-9]* pages.*' "$VM_CONSOLE" | head -n 1)"

    vm_boot collect || return 1
    vm_expect_console 'OOPSD-VM: collected: [0-9]+T[0-9]+Z-[0-9a-f]+' "the dump on the second boot" || return 1

    local out=$VM_DUMPS/panic name
    vm_extract /var/crash/ "$out" || return 1
    name=$(ls "$out" | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$' | head -n 1)
    [[ -n $name ]] || vm_fail "no complete dump directory in /var/crash: $(ls "$out" | tr '\n' ' ')" || return 1
    local dump=$out/$name
    assert_file "$dump/vmcore" "the dump's vmcore" || return 1
    assert_file "$dump/dmesg.txt" "the dump's kernel log" || return 1
    assert_contains "$dump/metadata.json" '"status": ?"complete"' "the dump's metadata" || return 1
    assert_contains "$dump/dmesg.txt" 'sysrq: Trigger a crash' "the saved kernel log" || return 1
    vm_figure "vmcore size" "$(stat -c %s "$dump/vmcore") bytes"
    vm_check_dump_readers "$dump/vmcore" "$VM_RELEASE" || return 1
    # Our log equals what vmcore-dmesg reads from our vmcore, line for line.
    cmp -s "$dump/dmesg.txt" "$dump/vmcore-dmesg.txt" ||
        vm_fail "dmesg.txt differs from vmcore-dmesg of the vmcore: $(diff "$dump/dmesg.txt" "$dump/vmcore-dmesg.txt" | head -n 3 | tr '\n' ' ')"
}

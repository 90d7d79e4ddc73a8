# panic: oopsd's whole cycle, with the kdump-compressed format and the fast return. Boot 1: a busy guest, oopsd
# arms (its own initramfs, kexec_file_load) with `[Capture] Format=kdump Compression=zstd CPUs=2 FinalAction=kexec`,
# sysrq panic; the capture kernel (nr_cpus=2) runs oopsd-capture as PID 1, saves vmcore.kdump on the guest's disk,
# loads the production kernel with kexec_load (the guest's stage-1 initramfs as ReturnInitramfs=) and jumps into it.
# Boot 2, in the same qemu (no firmware): the normal system again, with the whole memory map (MemTotal equal to
# boot 1's); oopsd notes the return, collects the dump (report.txt) and `oopsctl info` shows its panic line, the
# crashing CPU's registers and the stack scan, read from vmcore.kdump.
# The host then reads the dump with tools nobody here wrote: drgn (libkdumpfile) reads the release, and crash 9.0.2
# (Debian sid's) the release, the panic string and the backtrace (makedumpfile 1.7.2 has no zstd reader,
# vmcore-dmesg no kdump reader). The ELF path through PID 1 is covered by
# disk-full, small-reservation, oops and report.

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
        # A scenario may prepare the crash (corrupt-vmcoreinfo: the module's test trigger).
        if [ -f /etc/oopsd-vm/before-crash.sh ]; then . /etc/oopsd-vm/before-crash.sh || return 1; fi
        # A scenario may pick the crashing CPU (panic: the boot CPU, see scenario_main).
        vm_crash_sysrq $(cat /etc/oopsd-vm/crash-cpu 2>/dev/null)
    else
        vm_meminfo
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
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    printf '[Capture]\nFormat=kdump\nCompression=zstd\nCPUs=%s\nFinalAction=kexec\nReturnInitramfs=%s\n' "$VM_SMP" \
        /boot/oopsd-vm-initrd.cpio.gz >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-kdump.conf"
    # Crash on the boot CPU: from 6.9 on, a capture kernel entered from another CPU never starts the real boot CPU
    # ("CPU topo: Crash kernel detected. Disabling real BSP to prevent machine INIT"), so with -smp 2 and a crash on
    # CPU 1 the 6.12 capture kernel has 1 CPU whatever nr_cpus says (seen on this harness).
    echo 0 >"$VM_STAGE/etc/oopsd-vm/crash-cpu"
    vm_build_disk || return 1

    vm_boot crash || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming the capture kernel" || return 1
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'OOPSD-VM: crashing via sysrq on CPU 0' "the crash on CPU 0" || return 1
    vm_expect_console "Command line: .* nr_cpus=$VM_SMP( |$)" "the capture kernel's command line with nr_cpus=$VM_SMP" ||
        return 1
    vm_expect_console 'oopsd-capture: dump complete in ' "the capture as PID 1" || return 1
    vm_expect_console 'oopsd-capture: kexec: loaded .* purgatory at 0x' "the return kernel loaded by kexec_load" ||
        return 1
    vm_expect_console 'oopsd-capture: kexec now' "the capture's final action" || return 1
    # Boot 2 ran in the same qemu: the production kernel again, told where the dump is, with all of its memory.
    vm_expect_console 'OOPSD-VM: boot 2 kernel ' "boot 2 after the kexec return, in the same qemu" || return 1
    vm_expect_console 'Command line: .* oopsd[.]after-crash=[0-9]+T[0-9]+Z-[0-9a-f]+' \
        "the return kernel's command line with oopsd.after-crash=<dump>" || return 1
    vm_expect_console "kexec return after a crash" "oopsd noting the return in its log" || return 1
    vm_check_memtotal_return || return 1
    vm_figure "MemTotal before the crash / after the kexec return" "$MEMTOTAL_BEFORE kB / $MEMTOTAL_AFTER kB"
    local panic end
    panic=$(vm_console_time 'Kernel panic - not syncing')
    end=$(vm_console_time 'OOPSD-VM: oopsd armed' <(grep -A100000 'OOPSD-VM: boot 2 kernel' "$VM_CONSOLE"))
    vm_figure "panic to armed again (kexec, same qemu)" "$(awk -v a="$panic" -v b="$end" 'BEGIN { printf "%.1f", b - a }')s"
    vm_figure "arm time (oopsd start to armed)" "$(grep -o 'oopsd armed after [0-9.]*s' "$VM_CONSOLE" | head -n 1 | sed 's/oopsd armed after //')"
    if grep -q "oopsd-capture: step '.*': no progress for " "$VM_CONSOLE"; then
        # A step stuck on several threads is killed, its threads described, and tried again on one: the dump is
        # still complete at level 31, and the figures show where the threads were.
        vm_figure "capture step stuck, tried again on one thread" "$(grep -E \
            "oopsd-capture: step '[^']*': (no progress for |  thread [0-9]+, )" "$VM_CONSOLE" |
            sed "s/^[0-9.]* oopsd-capture: step '[^']*': *//" | tr '\n' ';')"
        vm_expect_console "oopsd-capture: writing kdump-compressed [(]zstd[)] with 1 thread" \
            "oopsd-capture compressing on one thread after a stuck step" || return 1
    else
        vm_expect_console "oopsd-capture: writing kdump-compressed [(]zstd[)] with $VM_SMP threads?" \
            "oopsd-capture compressing on $VM_SMP CPUs" || return 1
    fi
    local started writing saved done
    started=$(vm_console_time 'oopsd-capture: oopsd-capture .* as PID 1')
    writing=$(vm_console_time 'oopsd-capture: writing kdump-compressed')
    saved=$(vm_console_time 'oopsd-capture: saved [0-9]+ of [0-9]+ pages')
    done=$(vm_console_time 'oopsd-capture: dump complete in ')
    vm_figure "capture (kdump zstd, $VM_SMP CPUs, console clock)" "$(awk -v a="$started" -v b="$done" -v w="$writing" \
        -v s="$saved" 'BEGIN { printf "PID 1 start to complete %.1fs, of which writing vmcore.kdump %.1fs", b - a, s - w }')"
    vm_figure "capture log" "$(grep -o 'saved [0-9]* of [0-9]* pages.*' "$VM_CONSOLE" | head -n 1)"

    vm_expect_console 'OOPSD-VM: collected: [0-9]+T[0-9]+Z-[0-9a-f]+' "the dump on the second boot" || return 1
    vm_expect_console '^Panic: +Kernel panic - not syncing: sysrq triggered crash' "oopsctl info -1 on the kdump dump" ||
        return 1
    vm_expect_console '^Crashed: +20[0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:]+ UTC' "oopsctl info -1: the crash time" || return 1
    # Registers and the stack scan come from vmcore.kdump itself (its notes, its pages through the page tables).
    vm_expect_console '^Registers [(]NT_PRSTATUS of CPU 0[)], RIP [a-z_]+[+]0x' "oopsctl info -1: registers from vmcore.kdump" ||
        return 1
    vm_expect_console '^  0x[0-9a-f]+  0x[0-9a-f]+  sysrq_handle_crash[+]0x' \
        "oopsctl info -1: sysrq_handle_crash in the stack scan of vmcore.kdump" || return 1

    local out=$VM_DUMPS/panic name
    vm_extract /var/crash/ "$out" || return 1
    name=$(ls "$out" | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$' | head -n 1)
    [[ -n $name ]] || vm_fail "no complete dump directory in /var/crash: $(ls "$out" | tr '\n' ' ')" || return 1
    local dump=$out/$name
    assert_file "$dump/vmcore.kdump" "the dump's kdump file" || return 1
    [[ ! -e $dump/vmcore ]] || vm_fail "Format=kdump also left an ELF vmcore in $dump" || return 1
    assert_file "$dump/dmesg.txt" "the dump's kernel log" || return 1
    assert_contains "$dump/metadata.json" '"status": ?"complete"' "the dump's metadata" || return 1
    assert_contains "$dump/metadata.json" '"format": ?"kdump"' "the dump's metadata" || return 1
    assert_contains "$dump/metadata.json" '"compression": ?"zstd"' "the dump's metadata" || return 1
    assert_contains "$dump/dmesg.txt" 'sysrq: Trigger a crash' "the saved kernel log" || return 1
    assert_contains "$dump/report.txt" 'Kernel panic - not syncing: sysrq triggered crash' "the collected report.txt" ||
        return 1
    vm_figure "vmcore.kdump size" "$(stat -c %s "$dump/vmcore.kdump") bytes; $(grep -A5 '"pages"' "$dump/metadata.json" |
        tr -d ' \n')"
    vm_figure "capture duration (metadata)" "$(grep -o '"duration_ms": [0-9]*' "$dump/metadata.json" | grep -o '[0-9]*$') ms"
    "$VM_DRGN_PYTHON" "$OOPSD_VM_DIR/tools/drgn_release.py" "$dump/vmcore.kdump" >"$dump/drgn.txt" 2>&1 ||
        vm_fail "drgn could not read init_uts_ns from $dump/vmcore.kdump: $(tail -n 2 "$dump/drgn.txt" | tr '\n' ' ')" ||
        return 1
    assert_eq "$(cat "$dump/drgn.txt")" "$VM_RELEASE" "release read by drgn from $dump/vmcore.kdump" || return 1
    kernel_crash_reads "$VM_KERNEL" || return 0
    local vmlinux=$OOPSD_VM_CACHE/dbg/usr/lib/debug/boot/vmlinux-$VM_RELEASE
    assert_file "$vmlinux" "the debug vmlinux (Tests/VM/prepare unpacks it)" || return 1
    printf 'sys\nbt\nexit\n' | vm_crash_run "$vmlinux" "$dump/vmcore.kdump" "$dump/crash.txt" -s ||
        vm_fail "crash could not read $dump/vmcore.kdump (crash -d1 tells why)" || return 1
    assert_contains "$dump/crash.txt" "^ +RELEASE: ${VM_RELEASE//+/\\+}\$" "crash sys on our kdump dump" || return 1
    assert_contains "$dump/crash.txt" '^ +PANIC: "Kernel panic - not syncing: sysrq triggered crash"' \
        "crash sys on our kdump dump" || return 1
    assert_contains "$dump/crash.txt" '^ *#[0-9]+ \[[0-9a-f]+\] sysrq_handle_crash at ' "crash bt on our kdump dump" ||
        return 1
}

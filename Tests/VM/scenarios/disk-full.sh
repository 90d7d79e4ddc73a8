# disk-full: the dump target is nearly full when the kernel crashes. Boot 1: a busy guest, oopsd arms, then a
# file takes all but DISK_FULL_LEFT_MB of the root file system (which holds /var/crash), sysrq panic. The capture
# must save dmesg.txt first, run out of space in the vmcore, keep everything in <name>.incomplete with metadata
# saying why, and still reboot by itself. Boot 2: `oopsctl list --json` shows the dump as not complete, and oopsd
# collects it as incomplete. The host then reads the dump directory out of the image and checks it.

source "$(dirname "${BASH_SOURCE[0]}")/panic.sh"  # panic_guest_hook: oopsd_start, oopsd_wait_armed, oopsd_stop

# Free space (for root: ext4's reserved blocks included) left on the target before the crash.
DISK_FULL_LEFT_MB=${DISK_FULL_LEFT_MB:-30}

# disk_full_flags FILE: the ELF e_flags (bytes 48-51, little-endian) of FILE, as a decimal number.
disk_full_flags() {
    od -An -t u4 -j 48 -N 4 "$1" | tr -d ' '
}

scenario_main() {
    panic_guest_hook
    # Later definitions win: this guest_main replaces panic's, keeping its oopsd helpers.
    cat >>"$VM_STAGE/etc/oopsd-vm/guest.sh" <<GUEST
DISK_FULL_LEFT_MB=$DISK_FULL_LEFT_MB
GUEST
    cat >>"$VM_STAGE/etc/oopsd-vm/guest.sh" <<'GUEST'
# Bytes free for root on the file system holding $1 (f_bfree x block size).
free_bytes() { stat -f -c '%f %S' "$1" | awk '{ printf "%.0f", $1 * $2 }'; }

guest_main() {
    if [ "$OOPSD_VM_BOOT" = 1 ]; then
        vm_workload 320 320 40000
        oopsd_start || return 1
        oopsd_wait_armed 120 || return 1
        free=$(free_bytes /var/crash)
        fill=$((free - DISK_FULL_LEFT_MB * 1048576))
        fallocate -l "$fill" /var/tmp/filler || { vm_mark "fallocate -l $fill failed"; return 1; }
        sync
        vm_mark "disk filled: $(($(free_bytes /var/crash) / 1048576)) MiB free on /var/crash (was $((free / 1048576)) MiB)"
        vm_crash_sysrq
    else
        vm_mark "after the capture: $(($(free_bytes /var/crash) / 1048576)) MiB free on /var/crash"
        ls -la /var/crash/* >/dev/console 2>&1
        rm -f /var/tmp/filler
        sync
        oopsctl list --json >/var/lib/oopsd-vm/list.json 2>/var/lib/oopsd-vm/list.err
        vm_mark "oopsctl list --json exited with status $?"
        cat /var/lib/oopsd-vm/list.json /var/lib/oopsd-vm/list.err >/dev/console
        oopsctl list
        oopsd_start || return 1
        oopsd_wait_armed 120 || return 1
        oopsd_stop
    fi
}
GUEST
    vm_build_disk || return 1

    # Boot 1: crash with a nearly full target; the capture must end in its failure action (reboot), in time.
    vm_boot crash || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming the capture kernel" || return 1
    vm_expect_console 'OOPSD-VM: disk filled' "filling the target" || return 1
    vm_figure "free on the target before the crash" \
        "$(grep -o 'disk filled: .*' "$VM_CONSOLE" | head -n 1 | sed 's/disk filled: //')"
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'oopsd-capture: saved [0-9]+ log records to ' "the kernel log saved before the memory" || return 1
    vm_expect_console 'oopsd-capture: error: cannot save the memory: .*No space left on device [(]ENOSPC[)]' \
        "the capture noticing the full target" || return 1
    vm_expect_console 'oopsd-capture: incomplete dump kept in ' "the capture keeping the incomplete dump" || return 1
    # The log first: it was saved before the memory ran out of space.
    local log_at full_at
    log_at=$(vm_console_time 'oopsd-capture: saved [0-9]+ log records to ')
    full_at=$(vm_console_time 'oopsd-capture: error: cannot save the memory: ')
    awk -v a="$log_at" -v b="$full_at" 'BEGIN { exit !(a <= b) }' ||
        vm_fail "dmesg.txt was saved at ${log_at}s, after the memory failed at ${full_at}s" || return 1
    vm_expect_console 'oopsd-capture: reboot now' "the capture's failure action (reboot)" || return 1
    vm_expect_console 'reboot: Restarting system' "the capture kernel restarting the machine" || return 1
    if [[ -n $(vm_console_time 'oopsd-capture: timed out') ]]; then
        vm_fail "the capture's watchdog fired: the capture hung on the full disk" || return 1
    fi
    local panic
    panic=$(vm_console_time 'Kernel panic - not syncing')
    vm_figure "panic-to-reboot" "$(awk -v a="$panic" -v b="$VM_BOOT_SECONDS" 'BEGIN { printf "%.1f", b - a }')s"
    vm_figure "capture error" "$(grep -o 'oopsd-capture: error: .*' "$VM_CONSOLE" | head -n 1 | sed 's/oopsd-capture: //')"

    # Boot 2: the normal system; oopsctl lists the dump as not complete, oopsd collects it.
    vm_boot collect || return 1
    vm_expect_console 'OOPSD-VM: oopsctl list --json exited with status 0' "oopsctl list --json" || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd on the second boot" || return 1

    # The dump directory as the capture left it.
    local out=$VM_DUMPS/disk-full names name dump
    names=$(debugfs -R 'ls /var/crash' "$VM_DISK" 2>/dev/null | tr -s ' \n' '\n\n' | grep -E '^[0-9]{8}T[0-9]{6}Z-' || true)
    name=$(grep -E '\.incomplete$' <<<"$names" | head -n 1)
    [[ -n $name ]] || vm_fail "no <time>-<boot id>.incomplete directory in /var/crash (found: $(echo $names))" ||
        return 1
    if grep -qvE '\.incomplete$' <<<"$names"; then
        vm_fail "a dump directory without the .incomplete suffix: $(grep -vE '\.incomplete$' <<<"$names" | tr '\n' ' ')" ||
            return 1
    fi
    vm_extract "/var/crash/$name/" "$out/$name" || return 1
    dump=$out/$name
    assert_file "$dump/dmesg.txt" "the kernel log of the incomplete dump" || return 1
    assert_contains "$dump/dmesg.txt" 'sysrq: Trigger a crash' "the saved kernel log" || return 1
    assert_file "$dump/metadata.json" "the metadata of the incomplete dump" || return 1
    python3 - "$dump/metadata.json" >"$VM_RUN_DIR/metadata-check.log" 2>&1 <<'PY' ||
import json, sys
m = json.load(open(sys.argv[1]))
assert m["status"] == "incomplete", f'status is {m["status"]!r}, expected "incomplete"'
reason = m.get("incomplete_reason") or ""
assert "No space left on device" in reason or "ENOSPC" in reason, f"incomplete_reason is not out of space: {reason!r}"
print(reason)
PY
        vm_fail "metadata.json of $name: $(tail -n 1 "$VM_RUN_DIR/metadata-check.log")" || return 1
    vm_figure "incomplete_reason" "$(cat "$VM_RUN_DIR/metadata-check.log")"
    assert_file "$dump/capture.log" "the capture's log in the incomplete dump" || return 1
    assert_contains "$dump/capture.log" 'No space left on device' "capture.log of the incomplete dump" || return 1
    if [[ -f $dump/vmcore ]]; then
        local flags
        flags=$(disk_full_flags "$dump/vmcore")
        (((flags & 1) == 1)) ||
            vm_fail "e_flags of the partial vmcore is $flags: the DUMP_ELF_INCOMPLETE bit (1) is not set" || return 1
        vm_figure "partial vmcore" "$(stat -c %s "$dump/vmcore") bytes, e_flags $flags"
    else
        vm_figure "partial vmcore" "none"
    fi

    # What the second boot's oopsctl list --json said.
    vm_extract /var/lib/oopsd-vm/list.json "$VM_RUN_DIR/list.json" || return 1
    python3 - "$VM_RUN_DIR/list.json" "$name" >"$VM_RUN_DIR/list-check.log" 2>&1 <<'PY' ||
import json, sys
rows = json.load(open(sys.argv[1]))
row = [r for r in rows if r["id"] == sys.argv[2]]
assert row, f"oopsctl list --json has no row with id {sys.argv[2]!r}: ids {[r['id'] for r in rows]}"
assert row[0]["complete"] is False, f"oopsctl list --json says complete={row[0]['complete']!r} for {sys.argv[2]}"
assert all(not r["complete"] for r in rows), "oopsctl list --json shows a complete dump"
PY
        vm_fail "oopsctl list --json: $(tail -n 1 "$VM_RUN_DIR/list-check.log")" || return 1
    vm_expect_console "kernel crash dump $name collected, INCOMPLETE [(].*No space left on device" \
        "oopsd collecting the dump as incomplete" || return 1
}

# offline: oopsd-capture --vmcore on the baseline dump of each kernel (run `Tests/VM/run baseline` first; `run`
# with no scenario runs baseline before offline). No VM boot: host-side checks that the saved dump is faithful.
#   - dmesg.txt equals vmcore-dmesg of the original, byte for byte;
#   - vmcore-dmesg, makedumpfile --dump-dmesg and drgn (init_uts_ns through kallsyms) read our vmcore, and
#     vmcore-dmesg prints the same log from it as from the original; makedumpfile -d 31 keeps every non-zero page
#     from it that it keeps from the original, with the same bytes (tools/kdump_keeps_as_much.py);
#   - every PT_LOAD byte of our vmcore equals the original (Tests/VM/tools/vmcore_compare.py), at levels 1 and 0;
#   - level 1 has no holes (allocated >= size: the default ELF layout stores short zero runs as data and makes
#     runs of 4 MiB or more segments without file data), files 0600, directory
#     0700, metadata complete;
#   - a memory step that makes no progress (stopped with SIGSTOP once it runs) is described, killed after --stall
#     seconds and tried again on one thread, and that file equals the one a capture without the stop writes;
#   - figures: capture time and throughput vs dd of the same file, peak RSS.

# offline_capture LEVEL OUT: runs oopsd-capture under /usr/bin/time -v; leaves OUT and OUT.time.
offline_capture() {
    local level=$1 out=$2
    /usr/bin/time -v "$CAPTURE" --vmcore "$BASE/vmcore" --output "$out" --dump-level "$level" \
        >"$out.log" 2>"$out.time" ||
        { vm_fail "oopsd-capture --dump-level $level exited $?: $(grep oopsd-capture "$out.time" | tail -n 2 | tr '\n' ' ')"; return 1; }
    grep -q '"status": "complete"' "$out/metadata.json" || vm_fail "metadata of level $level is not complete"
}

# offline_stalled_capture OUT: a level-1 kdump capture on two threads whose memory step is stopped (SIGSTOP) as soon
# as it starts: after --stall 2 it must describe the step's threads (state T), kill it, write the memory again on one
# thread, and complete (--timeout 60 bounds a capture that would not notice). Compared with one that was not stopped.
offline_stalled_capture() {
    local out=$1 pid child stopped="" i t0 secs
    "$CAPTURE" --vmcore "$BASE/vmcore" --output "$out.free" --dump-level 1 --format kdump --threads 2 \
        >"$out.free.log" 2>&1 || vm_fail "the capture without a stop exited $?" || return 1
    t0=$(now)
    "$CAPTURE" --vmcore "$BASE/vmcore" --output "$out" --dump-level 1 --format kdump --threads 2 --stall 2 \
        --timeout 60 >"$out.log" 2>&1 &
    pid=$!
    # The step's child is forked right after its line: stopped at once, a few milliseconds into a write of seconds.
    for ((i = 0; i < 2000; i++)); do
        if grep -q 'step saving the memory as dump level 1: ' "$out.log"; then
            for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do kill -STOP "$child" && stopped=$child; done
            [[ -n $stopped ]] && break
        fi
        sleep 0.005
    done
    wait "$pid" || vm_fail "the stopped capture exited $?: $(tail -n 3 "$out.log" | tr '\n' ' ')" || return 1
    secs=$(elapsed "$t0")
    [[ -n $stopped ]] || vm_fail "the memory step's process was not found to stop" || return 1
    vm_figure "memory step stopped (SIGSTOP): killed and written again on one thread" \
        "${secs}s in all; $(grep -o 'no progress for .*' "$out.log" | head -n 1)"
    vm_figure "its threads as logged" "$(grep -o '  thread [0-9]*, state .*' "$out.log" | head -n 1 | sed 's/^  //')"
    assert_cmd "the stopped step's threads are described (state T)" grep -q ': *thread [0-9]*, state T, ' "$out.log" ||
        return 1
    assert_cmd "the memory is written again on one thread" \
        grep -q 'oopsd-capture: writing kdump-compressed (zstd) with 1 thread$' "$out.log" || return 1
    assert_cmd "the warning says why" grep -q "made no progress for 2 s (no CPU time in user space, no I/O, nothing \
reported), killed; trying it again on one thread" "$out/metadata.json" || return 1
    grep -q '"status": "complete"' "$out/metadata.json" || vm_fail "the stopped capture's metadata is not complete" ||
        return 1
    assert_cmd "the one-thread file equals the file of a capture that was not stopped" \
        cmp "$out/vmcore.kdump" "$out.free/vmcore.kdump" || return 1
    rm -rf "$out" "$out.free"
}

# Reads the baseline dump: `run` makes one first when none of this kernel release is there.
SCENARIO_NEEDS_BASELINE=1

scenario_main() {
    BASE=$VM_DUMPS/baseline
    [[ -f $BASE/vmcore && -f $BASE/vmcore-dmesg.txt ]] ||
        vm_fail "no baseline dump at $BASE (run Tests/VM/run --kernel $VM_KERNEL baseline first)" || return 1
    CAPTURE=$(vm_release_binary oopsd-capture) || return 1
    local size out=$VM_RUN_DIR/dump secs rss t0
    size=$(stat -c %s "$BASE/vmcore")
    cat "$BASE/vmcore" >/dev/null  # both the capture and dd read from the page cache

    offline_capture 1 "$out" || return 1
    secs=$(grep -o 'Elapsed (wall clock) time (h:mm:ss or m:ss): .*' "$out.time" | awk -F': ' '{ print $2 }' |
        awk -F: '{ print ($1 * 60) + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out.time")
    vm_figure "oopsd-capture level 1" "${secs}s for $size bytes ($(awk -v s="$size" -v t="$secs" 'BEGIN { printf "%.0f", s / t / 1e6 }') MB/s), peak RSS ${rss} KiB"
    vm_figure "level 1 vmcore" "$(stat -c '%s bytes, %b blocks of %B' "$out/vmcore"); $(grep -A5 '"pages"' "$out/metadata.json" | tr -d ' \n')"

    assert_cmd "dmesg.txt equals vmcore-dmesg of the original" cmp "$out/dmesg.txt" "$BASE/vmcore-dmesg.txt" || return 1
    assert_eq "$(stat -c %a "$out")" 700 "mode of the dump directory" || return 1
    assert_eq "$(stat -c %a "$out/vmcore") $(stat -c %a "$out/dmesg.txt") $(stat -c %a "$out/metadata.json")" \
        "600 600 600" "modes of the dump files" || return 1
    (($(stat -c %b "$out/vmcore") * $(stat -c %B "$out/vmcore") >= $(stat -c %s "$out/vmcore"))) ||
        vm_fail "level 1 vmcore has holes: $(stat -c '%s bytes, %b blocks of %B' "$out/vmcore")" || return 1
    vm_check_dump_readers "$out/vmcore" "$VM_RELEASE" || return 1
    assert_cmd "vmcore-dmesg of our vmcore equals vmcore-dmesg of the original" \
        cmp "$out/vmcore-dmesg.txt" "$BASE/vmcore-dmesg.txt" || return 1
    # makedumpfile's filter reads our file as it reads the original: every non-zero frame it keeps from the original
    # it keeps from ours, with the same bytes.
    assert_cmd "makedumpfile -d 31 converts our vmcore" \
        makedumpfile -d 31 "$out/vmcore" "$VM_RUN_DIR/makedumpfile-d31-ours.kdump" || return 1
    assert_cmd "makedumpfile -d 31 converts the original" \
        makedumpfile -d 31 "$BASE/vmcore" "$VM_RUN_DIR/makedumpfile-d31-original.kdump" || return 1
    assert_cmd "makedumpfile -d 31 keeps every non-zero page from our level-1 vmcore that it keeps from the original" \
        python3 "$OOPSD_VM_DIR/tools/kdump_keeps_as_much.py" "$VM_RUN_DIR/makedumpfile-d31-original.kdump" \
        "$VM_RUN_DIR/makedumpfile-d31-ours.kdump" || return 1
    vm_figure "makedumpfile -d 31 of ours and of the original" "$(tail -n 1 "$VM_RUN_DIR/cmd-$VM_CMD_COUNT.log")"
    rm -f "$VM_RUN_DIR/makedumpfile-d31-ours.kdump" "$VM_RUN_DIR/makedumpfile-d31-original.kdump"
    assert_cmd "every byte of our level-1 vmcore equals the original" \
        python3 "$OOPSD_VM_DIR/tools/vmcore_compare.py" "$BASE/vmcore" "$out/vmcore" || return 1
    vm_figure "compare level 1" "$(tail -n 1 "$VM_RUN_DIR/cmd-$VM_CMD_COUNT.log")"
    rm -f "$out/vmcore"

    offline_capture 0 "$VM_RUN_DIR/dump0" || return 1
    secs=$(grep -o 'Elapsed (wall clock) time (h:mm:ss or m:ss): .*' "$VM_RUN_DIR/dump0.time" | awk -F': ' '{ print $2 }' |
        awk -F: '{ print ($1 * 60) + $2 }')
    vm_figure "oopsd-capture level 0" "${secs}s ($(awk -v s="$size" -v t="$secs" 'BEGIN { printf "%.0f", s / t / 1e6 }') MB/s)"
    assert_cmd "every byte of our level-0 vmcore equals the original" \
        python3 "$OOPSD_VM_DIR/tools/vmcore_compare.py" "$BASE/vmcore" "$VM_RUN_DIR/dump0/vmcore" || return 1
    rm -f "$VM_RUN_DIR/dump0/vmcore"

    offline_stalled_capture "$VM_RUN_DIR/stalled" || return 1

    t0=$(now)
    dd if="$BASE/vmcore" of="$VM_RUN_DIR/dd.vmcore" bs=64M conv=fsync status=none || vm_fail "dd failed" || return 1
    secs=$(elapsed "$t0")
    vm_figure "dd bs=64M conv=fsync of the same file" "${secs}s ($(awk -v s="$size" -v t="$secs" 'BEGIN { printf "%.0f", s / t / 1e6 }') MB/s)"
    rm -f "$VM_RUN_DIR/dd.vmcore"
}

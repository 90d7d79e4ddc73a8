# report: collection on the baseline dump of each kernel (run `Tests/VM/run baseline` first; `run` with no scenario
# runs baseline before report). No VM boot: host-side checks of kallsyms symbolization and the report.
#   - swift test --filter KallsymsRealDumpTests with OOPSD_VM_DUMPS set: the kallsyms table decoded from the dump
#     agrees with VMCOREINFO, and the stack scan of the crashing CPU prints every frame of the kernel's own Call Trace
#     below panic() (sysrq_handle_crash+0x../0x.. ...) identically; the report's signature starts at sysrq_handle_crash;
#     a level-31 zstd kdump copy of the dump gives the same CPUs, log, kallsyms and stack scan as the ELF vmcore;
#   - oopsctl (release build) info on the dump: the report names sysrq_handle_crash; figure: its wall time.

# Reads the baseline dump: `run` makes one first when none of this kernel release is there.
SCENARIO_NEEDS_BASELINE=1

scenario_main() {
    # The test command's own build folder (its debug test build is reused, not made again).
    local base=$VM_DUMPS/baseline scratch=${OOPSD_SWIFT_SCRATCH:-$OOPSD_REPO/.build} t0 oopsctl
    [[ -f $base/vmcore && -f $base/vmcore-dmesg.txt ]] ||
        vm_fail "no baseline dump at $base (run Tests/VM/run --kernel $VM_KERNEL baseline first)" || return 1

    (cd "$OOPSD_REPO" && OOPSD_VM_DUMPS=$OOPSD_VM_WORK/dumps OOPSD_VM_KERNELS=$VM_KERNEL \
        swift test --scratch-path "$scratch" --filter KallsymsRealDumpTests) >"$VM_RUN_DIR/swift-test.log" 2>&1
    local rc=$?
    ((rc == 0)) && grep -q 'Test run with 4 tests in 1 suite passed' "$VM_RUN_DIR/swift-test.log" ||
        vm_fail "KallsymsRealDumpTests on $VM_KERNEL failed (log $VM_RUN_DIR/swift-test.log): $(grep -m 3 '✘' "$VM_RUN_DIR/swift-test.log" | tr '\n' ' ')" ||
        return 1
    vm_figure "report built by the test (debug build)" \
        "$(grep -o 'built in [0-9.]* seconds' "$VM_RUN_DIR/swift-test.log" | head -n 1 | sed 's/built in //')"

    oopsctl=$(vm_release_binary oopsctl) || return 1
    local root=$VM_RUN_DIR/host dump
    dump=$root/var/crash/20250101T000000Z-$VM_KERNEL
    mkdir -p "$dump"
    ln "$base/vmcore" "$dump/vmcore" 2>/dev/null || cp --sparse=always "$base/vmcore" "$dump/vmcore"
    cp "$base/vmcore-dmesg.txt" "$dump/dmesg.txt"
    printf '{"status":"complete","crash_time":1735689600}\n' >"$dump/metadata.json"
    t0=$(now)
    "$oopsctl" info -1 --root "$root" >"$VM_RUN_DIR/info.txt" 2>"$VM_RUN_DIR/info.err" ||
        { vm_fail "oopsctl info exited $?: $(head -n 2 "$VM_RUN_DIR/info.err")"; return 1; }
    vm_figure "oopsctl info on the dump (release build, kallsyms + stack scan)" "$(elapsed "$t0")s"
    assert_contains "$VM_RUN_DIR/info.txt" '^Frames:      sysrq_handle_crash < ' "the report's signature frames" || return 1
    assert_contains "$VM_RUN_DIR/info.txt" '^  0x[0-9a-f]*  0x[0-9a-f]*  sysrq_handle_crash\+0x' "the stack scan" || return 1
    rm -f "$dump/vmcore"
}

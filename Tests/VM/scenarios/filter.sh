# filter: dump levels and the kdump-compressed format on the baseline dump of each kernel (run `Tests/VM/run
# baseline` first). No VM boot: host-side checks with oopsd-capture offline.
#   - level 31 kdump (zlib): makedumpfile --dump-dmesg reads it and prints the same log as from the original, and
#     oopsd-capture's dmesg.txt equals vmcore-dmesg's reading of the original (7.2's ring wrapped: see baseline);
#     every kept page equals the original (tools/kdump_compare.py); on 6.1 the kept set equals makedumpfile -d 31's,
#     the kernel image's frames included (makedumpfile 1.7.2 cannot read 6.12's free
#     pages, so the comparison is 6.1 only); free pages are left out on both kernels;
#   - offline pages: the baseline guest's balloon held BASELINE_BALLOON_MB (PageOffline); level 31 leaves out exactly
#     that many frames as offline;
#   - level 31 kdump (zstd): drgn (libkdumpfile) reads init_uts_ns from it (this makedumpfile has no zstd);
#   - level 31 ELF: vmcore-dmesg, makedumpfile and drgn read it, and its kept pages equal the original;
#   - `oopsctl dump ID --format kdump` converts a saved full dump later: makedumpfile reads the same log from it.
#   - hugetlb (tools/marker_scan.py): the baseline guest held 8 huge pages in a process and had 8 free in the pool,
#     every 4 KiB page starting with a marker; the original holds all 4096 + 4096 marker pages, levels 8 and 31
#     (ELF and kdump, ours and makedumpfile's) none of them, levels 16 (free pages: the pool's are not buddy pages)
#     and 1 all of them.
#   - crash 9.0.2 (Debian sid's, through its own loader; bookworm's 8.0.2 cannot read 6.12 dumps, not even the
#     original), with the debug vmlinux prepare unpacks: `sys`, `bt`, `kmem -i` and `log` print the
#     release, the panic string, sysrq_handle_crash in the backtrace, the sysrq line of the log and the 16 huge
#     pages, on the original; on our level 31 ELF, kdump zlib and kdump zstd files they print exactly what they
#     print on the original (but the DUMPFILE line).

# filter_markers DUMP INUSE FREED DESC: the dump holds exactly that many hugetlb marker pages of each kind.
filter_markers() {
    local out
    out=$(python3 "$OOPSD_VM_DIR/tools/marker_scan.py" "$1" 2>&1) ||
        { vm_fail "marker_scan.py $1 failed: $out"; return 1; }
    log "hugetlb markers in $4: $out"
    [[ $out == "inuse=$2 freed=$3 "* ]] ||
        vm_fail "hugetlb marker pages in $4: got '$out', expected inuse=$2 freed=$3" || return 1
    MARKERS_LINE=$out
}

# filter_crash DUMP DESC: crash runs `sys`, `bt`, `kmem -i`, `log` on DUMP; the first call (the original) must show
# the crash, later ones must print the same as the first. crash -s prints nothing on some failures: then -d1 again.
filter_crash() {
    local dump=$1 desc=$2 out=$VM_RUN_DIR/crash-$((++CRASH_RUNS)).txt
    printf 'sys\nbt\nkmem -i\nlog\nexit\n' | vm_crash_run "$VMLINUX_DEBUG" "$dump" "$out" -s || {
        printf 'sys\nexit\n' | vm_crash_run "$VMLINUX_DEBUG" "$dump" "$out.d1" -d1
        local why
        why=$(grep '^crash: ' "$out.d1" | tail -n 1)
        vm_fail "crash could not read $desc: ${why:-$(grep -v '^ *$' "$out.d1" | tail -n 2 | tr '\n' ' ')} (log $out.d1)"
        return 1
    }
    grep -v '^ *DUMPFILE: ' "$out" >"$out.cmp"
    if ((CRASH_RUNS == 1)); then
        assert_contains "$out" "^ +RELEASE: ${VM_RELEASE//+/\\+}\$" "crash sys on $desc" || return 1
        assert_contains "$out" '^ +PANIC: "Kernel panic - not syncing: sysrq triggered crash"' "crash sys on $desc" ||
            return 1
        assert_contains "$out" '^ *#[0-9]+ \[[0-9a-f]+\] sysrq_handle_crash at ' "crash bt on $desc" || return 1
        assert_contains "$out" '^ +TOTAL HUGE +8192 +32 MB' "crash kmem -i on $desc" || return 1
        assert_contains "$out" '^\[ *[0-9.]+\] sysrq: Trigger a crash' "crash log on $desc" || return 1
        CRASH_REFERENCE=$out.cmp
    else
        cmp -s "$CRASH_REFERENCE" "$out.cmp" || vm_fail "crash prints something else on $desc than on the original: \
$(diff "$CRASH_REFERENCE" "$out.cmp" | grep '^[<>]' | head -n 2 | tr '\n' ' ')" || return 1
    fi
}

# filter_capture OUT ARGS...: oopsd-capture offline on the baseline vmcore; OUT/metadata.json must be complete.
filter_capture() {
    local out=$1; shift
    "$CAPTURE" --vmcore "$BASE/vmcore" --output "$out" "$@" >"$out.log" 2>&1 ||
        { vm_fail "oopsd-capture $* exited $?: $(tail -n 2 "$out.log" | tr '\n' ' ')"; return 1; }
    grep -q '"status": "complete"' "$out/metadata.json" || vm_fail "metadata of $out is not complete"
}

# Reads the baseline dump: `run` makes one first when none of this kernel release is there.
SCENARIO_NEEDS_BASELINE=1

scenario_main() {
    BASE=$VM_DUMPS/baseline
    [[ -f $BASE/vmcore && -f $BASE/makedumpfile-dmesg.txt ]] ||
        vm_fail "no baseline dump at $BASE (run Tests/VM/run --kernel $VM_KERNEL baseline first)" || return 1
    CAPTURE=$(vm_release_binary oopsd-capture) || return 1
    local zlib=$VM_RUN_DIR/kdump-zlib zstd=$VM_RUN_DIR/kdump-zstd elf=$VM_RUN_DIR/elf31 free
    local huge=$((8 * 512)) user   # 8 huge pages of 2 MiB in use, 8 free: 4096 marker frames each

    filter_markers "$BASE/vmcore" $huge $huge "the original vmcore" || return 1
    vm_figure "hugetlb marker frames in the original" "$MARKERS_LINE"
    CRASH_RUNS=0
    VMLINUX_DEBUG=$OOPSD_VM_CACHE/dbg/usr/lib/debug/boot/vmlinux-$VM_RELEASE
    local with_crash=1 t0
    kernel_crash_reads "$VM_KERNEL" || with_crash=0
    if ((with_crash)); then
        assert_file "$VMLINUX_DEBUG" "the debug vmlinux (Tests/VM/prepare unpacks it)" || return 1
        assert_file "$VM_CRASH" "crash (Tests/VM/prepare unpacks sid's)" || return 1
        t0=$(now)
        filter_crash "$BASE/vmcore" "the original vmcore" || return 1
        vm_figure "crash sys/bt/kmem -i/log on the original" "$(elapsed "$t0")s"
    fi

    filter_capture "$zlib" --dump-level 31 --format kdump --compression zlib || return 1
    vm_figure "level 31 kdump zlib" "$(stat -c %s "$zlib/vmcore.kdump") bytes; $(grep -A7 '"filtered_pages"' \
        "$zlib/metadata.json" | tr -d ' \n')"
    free=$(grep -o '"free": [0-9]*' "$zlib/metadata.json" | grep -o '[0-9]*$')
    ((free > 10000)) || vm_fail "level 31 left out only $free free pages on $VM_RELEASE" || return 1
    user=$(grep -o '"user": [0-9]*' "$zlib/metadata.json" | grep -o '[0-9]*$')
    ((user >= 2 * huge)) || vm_fail "level 31 counts only $user user pages, fewer than the $((2 * huge)) hugetlb frames" ||
        return 1
    filter_markers "$zlib/vmcore.kdump" 0 0 "level 31 kdump" || return 1
    if [[ -f $BASE/balloon-pages ]]; then
        assert_eq "$(grep -o '"offline": [0-9]*' "$zlib/metadata.json" | grep -o '[0-9]*$')" \
            "$(cat "$BASE/balloon-pages")" "offline pages left out at level 31, against the pages in the balloon" || return 1
    fi
    ((with_crash)) && { filter_crash "$zlib/vmcore.kdump" "our level 31 kdump zlib file" || return 1; }
    assert_cmd "makedumpfile --dump-dmesg reads our kdump file" \
        makedumpfile --dump-dmesg "$zlib/vmcore.kdump" "$zlib/makedumpfile-dmesg.txt" || return 1
    assert_cmd "makedumpfile's log from our kdump file equals its log from the original" \
        cmp "$zlib/makedumpfile-dmesg.txt" "$BASE/makedumpfile-dmesg.txt" || return 1
    assert_cmd "oopsd-capture's dmesg.txt equals vmcore-dmesg's reading of the original" \
        cmp "$zlib/dmesg.txt" "$BASE/vmcore-dmesg.txt" || return 1

    filter_capture "$elf" --dump-level 31 --format elf || return 1
    vm_check_dump_readers "$elf/vmcore" "$VM_RELEASE" || return 1
    filter_markers "$elf/vmcore" 0 0 "level 31 ELF" || return 1
    ((with_crash)) && { filter_crash "$elf/vmcore" "our level 31 ELF file" || return 1; }
    local compare=(python3 "$OOPSD_VM_DIR/tools/kdump_compare.py" "$BASE/vmcore" "$zlib/vmcore.kdump" --elf "$elf/vmcore")
    if [[ $VM_KERNEL == 6.1 ]]; then
        assert_cmd "makedumpfile -d 31 (kdump, uncompressed)" \
            makedumpfile -d 31 "$BASE/vmcore" "$VM_RUN_DIR/makedumpfile-d31.kdump" || return 1
        compare+=(--makedumpfile "$VM_RUN_DIR/makedumpfile-d31.kdump")
        filter_markers "$VM_RUN_DIR/makedumpfile-d31.kdump" 0 0 "makedumpfile -d 31's output" || return 1
    fi
    assert_cmd "kept pages of our kdump and ELF files equal the original" "${compare[@]}" || return 1
    vm_figure "compare level 31" "$(tail -n 1 "$VM_RUN_DIR/cmd-$VM_CMD_COUNT.log")"
    rm -f "$VM_RUN_DIR/makedumpfile-d31.kdump" "$elf/vmcore" "$zlib/vmcore.kdump"

    # hugetlb pages are user data (level bit 8), in use or free in the pool; the pool's free pages are not buddy
    # pages, so level 16 (free pages) keeps them, as makedumpfile does; level 1 only leaves out zero pages.
    local level
    for level in 8 16 1; do
        filter_capture "$VM_RUN_DIR/elf$level" --dump-level $level --format elf || return 1
        if ((level == 8)); then
            filter_markers "$VM_RUN_DIR/elf$level/vmcore" 0 0 "level 8 ELF" || return 1
        else
            filter_markers "$VM_RUN_DIR/elf$level/vmcore" $huge $huge "level $level ELF" || return 1
        fi
        vm_figure "level $level ELF" "$MARKERS_LINE; excluded user pages $(grep -o '"user": [0-9]*' \
            "$VM_RUN_DIR/elf$level/metadata.json" | grep -o '[0-9]*$')"
        rm -f "$VM_RUN_DIR/elf$level/vmcore"
    done

    filter_capture "$zstd" --dump-level 31 --format kdump --compression zstd || return 1
    "$VM_DRGN_PYTHON" "$OOPSD_VM_DIR/tools/drgn_release.py" "$zstd/vmcore.kdump" >"$zstd/drgn.txt" 2>&1 ||
        vm_fail "drgn could not read our zstd kdump file: $(tail -n 2 "$zstd/drgn.txt" | tr '\n' ' ')" || return 1
    assert_eq "$(cat "$zstd/drgn.txt")" "$VM_RELEASE" "release read by drgn from our zstd kdump file" || return 1
    ((with_crash)) && { filter_crash "$zstd/vmcore.kdump" "our level 31 kdump zstd file" || return 1; }
    vm_figure "level 31 kdump zstd" "$(stat -c %s "$zstd/vmcore.kdump") bytes"
    rm -f "$zstd/vmcore.kdump"

    # A saved full dump, converted afterwards by oopsctl.
    local root=$VM_RUN_DIR/convert-root id=20260101T000000Z-0000c0de oopsctl
    oopsctl=$(vm_release_binary oopsctl) || return 1
    mkdir -p "$root/var/crash/$id"
    ln "$BASE/vmcore" "$root/var/crash/$id/vmcore" 2>/dev/null || cp --sparse=always "$BASE/vmcore" "$root/var/crash/$id/vmcore"
    printf '{"status":"complete"}\n' >"$root/var/crash/$id/metadata.json"
    assert_cmd "oopsctl dump --format kdump" "$oopsctl" dump --root "$root" -1 -o "$VM_RUN_DIR/converted.kdump" \
        --format kdump --compression zlib || return 1
    assert_cmd "makedumpfile --dump-dmesg of the converted dump" makedumpfile --dump-dmesg "$VM_RUN_DIR/converted.kdump" \
        "$VM_RUN_DIR/converted-dmesg.txt" || return 1
    cmp -s "$VM_RUN_DIR/converted-dmesg.txt" "$BASE/makedumpfile-dmesg.txt" ||
        vm_fail "the converted dump's log differs from the original's" || return 1
    vm_figure "oopsctl dump --format kdump" "$(stat -c %s "$VM_RUN_DIR/converted.kdump") bytes"
    rm -rf "$root" "$VM_RUN_DIR/converted.kdump"
}

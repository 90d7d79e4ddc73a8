# filter: dump levels and the kdump-compressed format on the baseline dump of each kernel (run `Tests/VM/run
# baseline` first). No VM boot: host-side checks with oopsd-capture offline.
#   - level 31 kdump (zlib): makedumpfile --dump-dmesg reads it and prints the same log as from the original;
#     every kept page equals the original (tools/kdump_compare.py); on 6.1 the kept set equals makedumpfile -d 31's
#     except frames of the kernel image, which oopsd never leaves out (makedumpfile 1.7.2 cannot read 6.12's free
#     pages, so the comparison is 6.1 only); free pages are left out on both kernels;
#   - level 31 kdump (zstd): drgn (libkdumpfile) reads init_uts_ns from it (this makedumpfile has no zstd);
#   - level 31 ELF: vmcore-dmesg, makedumpfile and drgn read it, and its kept pages equal the original;
#   - `oopsctl dump ID --format kdump` converts a saved full dump later: makedumpfile reads the same log from it.

# filter_capture OUT ARGS...: oopsd-capture offline on the baseline vmcore; OUT/metadata.json must be complete.
filter_capture() {
    local out=$1; shift
    "$CAPTURE" --vmcore "$BASE/vmcore" --output "$out" "$@" >"$out.log" 2>&1 ||
        { vm_fail "oopsd-capture $* exited $?: $(tail -n 2 "$out.log" | tr '\n' ' ')"; return 1; }
    grep -q '"status": "complete"' "$out/metadata.json" || vm_fail "metadata of $out is not complete"
}

scenario_main() {
    BASE=$VM_DUMPS/baseline
    [[ -f $BASE/vmcore && -f $BASE/makedumpfile-dmesg.txt ]] ||
        vm_fail "no baseline dump at $BASE (run Tests/VM/run --kernel $VM_KERNEL baseline first)" || return 1
    CAPTURE=$(vm_release_binary oopsd-capture) || return 1
    local zlib=$VM_RUN_DIR/kdump-zlib zstd=$VM_RUN_DIR/kdump-zstd elf=$VM_RUN_DIR/elf31 free

    filter_capture "$zlib" --dump-level 31 --format kdump --compression zlib || return 1
    vm_figure "level 31 kdump zlib" "$(stat -c %s "$zlib/vmcore.kdump") bytes; $(grep -A7 '"filtered_pages"' \
        "$zlib/metadata.json" | tr -d ' \n')"
    free=$(grep -o '"free": [0-9]*' "$zlib/metadata.json" | grep -o '[0-9]*$')
    ((free > 10000)) || vm_fail "level 31 left out only $free free pages on $VM_RELEASE" || return 1
    assert_cmd "makedumpfile --dump-dmesg reads our kdump file" \
        makedumpfile --dump-dmesg "$zlib/vmcore.kdump" "$zlib/makedumpfile-dmesg.txt" || return 1
    assert_cmd "makedumpfile's log from our kdump file equals its log from the original" \
        cmp "$zlib/makedumpfile-dmesg.txt" "$BASE/makedumpfile-dmesg.txt" || return 1

    filter_capture "$elf" --dump-level 31 --format elf || return 1
    vm_check_dump_readers "$elf/vmcore" "$VM_RELEASE" || return 1
    local compare=(python3 "$OOPSD_VM_DIR/tools/kdump_compare.py" "$BASE/vmcore" "$zlib/vmcore.kdump" --elf "$elf/vmcore")
    if [[ $VM_KERNEL == 6.1 ]]; then
        assert_cmd "makedumpfile -d 31 (kdump, uncompressed)" \
            makedumpfile -d 31 "$BASE/vmcore" "$VM_RUN_DIR/makedumpfile-d31.kdump" || return 1
        compare+=(--makedumpfile "$VM_RUN_DIR/makedumpfile-d31.kdump")
    fi
    assert_cmd "kept pages of our kdump and ELF files equal the original" "${compare[@]}" || return 1
    vm_figure "compare level 31" "$(tail -n 1 "$VM_RUN_DIR/cmd-$VM_CMD_COUNT.log")"
    rm -f "$VM_RUN_DIR/makedumpfile-d31.kdump" "$elf/vmcore" "$zlib/vmcore.kdump"

    filter_capture "$zstd" --dump-level 31 --format kdump --compression zstd || return 1
    "$VM_DRGN_PYTHON" "$OOPSD_VM_DIR/tools/drgn_release.py" "$zstd/vmcore.kdump" >"$zstd/drgn.txt" 2>&1 ||
        vm_fail "drgn could not read our zstd kdump file: $(tail -n 2 "$zstd/drgn.txt" | tr '\n' ' ')" || return 1
    assert_eq "$(cat "$zstd/drgn.txt")" "$VM_RELEASE" "release read by drgn from our zstd kdump file" || return 1
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

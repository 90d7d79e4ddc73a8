# baseline: a busy guest (page cache, anonymous memory, slab, 16 huge pages of which 8 in use, see vm_workload; and a
# virtio balloon holding BASELINE_BALLOON_MB, default 64 MiB, of PageOffline pages), a busybox-only capture (kexec -p
# + dd of /proc/vmcore), the floor every capture is compared against. Leaves the dump at
# $OOPSD_VM_WORK/dumps/<kernel>/baseline/{vmcore,vmcore-dmesg.txt,balloon-pages}. The guest's shape is
# kernel_baseline_shape's (BASELINE_NUMA_NODES on the host: that many NUMA nodes on any kernel).

# baseline_numa_args NODES: qemu options that split VM_MEM evenly into NODES nodes, CPU c on node c % NODES.
baseline_numa_args() {
    local nodes=$1 mib node cpu args=""
    mib=$(vm_mem_mib) || return 1
    ((mib % nodes == 0)) || { vm_fail "VM_MEM $VM_MEM does not split into $nodes equal NUMA nodes"; return 1; }
    for ((node = 0; node < nodes; node++)); do
        args+=" -object memory-backend-ram,id=numa$node,size=$((mib / nodes))M -numa node,memdev=numa$node,nodeid=$node"
        for ((cpu = node; cpu < VM_SMP; cpu += nodes)); do args+=",cpus=$cpu"; done
    done
    echo "$args"
}

scenario_main() {
    vm_guest_hook - <<'GUEST'
guest_main() {
    [ "$OOPSD_VM_BOOT" = 1 ] || { vm_mark "unexpected boot $OOPSD_VM_BOOT"; return 1; }
    # BASELINE_WORKLOAD on the host: other sizes (page cache MiB, anonymous MiB, files), e.g. for a 6 GiB guest.
    vm_workload $(cat /etc/oopsd-vm/workload 2>/dev/null || echo 320 320 40000)
    # The balloon: the host set its target before the driver was loaded; the driver inflates in the background.
    if [ -f /etc/oopsd-vm/balloon-pages ]; then
        local want ko inflated i=0
        want=$(cat /etc/oopsd-vm/balloon-pages)
        for ko in $(cat /etc/oopsd-vm/balloon/order); do insmod "/etc/oopsd-vm/balloon/$ko" 2>/dev/null; done
        while :; do
            inflated=$(awk '$1 == "balloon_inflate" { print $2 }' /proc/vmstat)
            [ "${inflated:-0}" -ge "$want" ] && break
            [ $i -ge 600 ] && { vm_mark "balloon: ${inflated:-no} pages inflated after 120s, expected $want"; return 1; }
            sleep 0.2
            i=$((i + 1))
        done
        vm_mark "balloon: $inflated pages inflated"
    fi
    # The wrapped-log shape: debug records (not echoed on the console) through /dev/kmsg, with printk.devkmsg=on.
    if [ -f /etc/oopsd-vm/kmsg-records ]; then
        local n i=0
        n=$(cat /etc/oopsd-vm/kmsg-records)
        exec 3>/dev/kmsg
        while [ "$i" -lt "$n" ]; do
            echo "<7>oopsd-vm: record $i of $n, written to wrap the printk ring of the baseline guest" >&3
            i=$((i + 1))
        done
        exec 3>&-
        vm_mark "kmsg: wrote $n records"
    fi
    vm_arm_baseline || return 1
    vm_crash_sysrq
}
GUEST
    mkdir -p "$VM_STAGE/etc/oopsd-vm"
    [[ -z ${BASELINE_WORKLOAD:-} ]] || echo "$BASELINE_WORKLOAD" >"$VM_STAGE/etc/oopsd-vm/workload"
    local shape nodes=1 qemu_extra="" cmdline=$VM_CMDLINE_EXTRA records=3000 balloon_mb=${BASELINE_BALLOON_MB:-64}
    local balloon_pages=$((balloon_mb * 256)) balloon_pid=""
    shape=$(kernel_baseline_shape "$VM_KERNEL")
    [[ $shape != numa ]] || nodes=2
    nodes=${BASELINE_NUMA_NODES:-$nodes}
    ((nodes <= 1)) || qemu_extra=$(baseline_numa_args "$nodes") || return 1
    # 3,000 records of ~90 bytes from userspace, twice what Debian's 128 KiB ring holds. (initcall_debug and
    # memblock=debug alone wrapped 7.2's ring by only a few records.)
    if [[ $shape == wrapped-log ]]; then
        echo "$records" >"$VM_STAGE/etc/oopsd-vm/kmsg-records"
        cmdline+=" printk.devkmsg=on"
    fi
    if ((balloon_mb > 0)); then
        echo "$balloon_pages" >"$VM_STAGE/etc/oopsd-vm/balloon-pages"
        vm_uncompressed_modules "$VM_STAGE/etc/oopsd-vm/balloon" virtio_balloon
        qemu_extra+=" -device virtio-balloon-pci"
    fi
    vm_build_disk || return 1
    if ((balloon_mb > 0)); then
        vm_qmp_balloon "$VM_RUN_DIR/qmp.sock" "$balloon_mb" >"$VM_RUN_DIR/qmp-balloon.log" 2>&1 &
        balloon_pid=$!
    fi
    local booted=0
    VM_QMP=${balloon_pid:+$VM_RUN_DIR/qmp.sock} VM_QEMU_EXTRA=$qemu_extra VM_CMDLINE_EXTRA=$cmdline vm_boot crash &&
        booted=1
    [[ -z $balloon_pid ]] || kill "$balloon_pid" 2>/dev/null
    ((booted)) || return 1
    if ((nodes > 1)); then
        vm_expect_console "Initmem setup node $((nodes - 1)) " "the guest's NUMA node $((nodes - 1))" || return 1
    fi
    vm_figure "NUMA nodes" "$nodes"
    [[ $shape != wrapped-log ]] ||
        vm_expect_console "OOPSD-VM: kmsg: wrote $records records" "the records that wrap the printk ring" || return 1
    vm_expect_console 'OOPSD-VM: workload: hugetlb ready: 8 huge pages in use, 8 freed' "the hugetlb workload" || return 1
    if ((balloon_mb > 0)); then
        vm_expect_console "OOPSD-VM: balloon: $balloon_pages pages inflated" \
            "the balloon of $balloon_mb MiB (QMP: $(tail -n 1 "$VM_RUN_DIR/qmp-balloon.log"))" || return 1
    fi
    vm_figure "balloon (PageOffline) pages" "$balloon_pages"
    vm_expect_console 'OOPSD-VM: capture kernel loaded: kexec_crash_loaded=1' "arming with kexec -p" || return 1
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'OOPSD-VM: baseline capture: rebooting' "the baseline capture" || return 1

    local panic end meminfo
    panic=$(vm_console_time 'Kernel panic - not syncing')
    end=$VM_BOOT_SECONDS
    vm_figure "panic-to-reboot" "$(awk -v a="$panic" -v b="$end" 'BEGIN { printf "%.1f", b - a }')s"
    vm_figure "dd of /proc/vmcore" "$(grep -o 'dd done in [0-9.]*s' "$VM_CONSOLE" | sed 's/dd done in //')"
    meminfo=$(grep 'OOPSD-VM: meminfo' "$VM_CONSOLE" | tail -n 1 | sed 's/.*meminfo //')
    vm_figure "guest memory before the crash (kB)" "$meminfo"
    [[ $meminfo == *"HugePages_Total:16 HugePages_Free:8 "* ]] ||
        vm_fail "hugetlb pool before the crash: expected HugePages_Total:16 HugePages_Free:8 in '$meminfo'" || return 1

    local out=$VM_DUMPS/baseline t0
    t0=$(now)
    vm_extract /var/crash/baseline/ "$out" || return 1
    vm_figure "extract from image" "$(elapsed "$t0")s"
    assert_file "$out/vmcore" "the copied vmcore" || return 1
    echo "$balloon_pages" >"$out/balloon-pages"
    assert_contains "$out/dd.log" '^dd exit status 0$' "dd of /proc/vmcore" || return 1
    assert_eq "$(stat -c %s "$out/vmcore")" "$(cat "$out/proc-vmcore.size")" "size of the copied vmcore vs /proc/vmcore" ||
        return 1
    vm_figure "vmcore size" "$(stat -c %s "$out/vmcore") bytes"
    # The crashed kernel's page-table levels (vm_tcg_cpu), which the filter scenario's captures walk: VMCOREINFO is
    # in the notes, within the file's first 64 KiB.
    local l5
    l5=$(head -c 65536 "$out/vmcore" | tr -c '[:print:]' '\n' | sed -n 's/^NUMBER(pgtable_l5_enabled)=//p' | head -n 1)
    vm_figure "page tables" "$([[ $l5 == 1 ]] && echo 5 || echo 4) levels (pgtable_l5_enabled=${l5:-absent})"
    if [[ -z ${OOPSD_VM_CPU:-} && $OOPSD_VM_ACCEL == tcg ]]; then
        assert_eq "$l5" "$([[ $(vm_tcg_cpu) == *la57=off* ]] && echo 0 || echo 1)" \
            "the crashed kernel's pgtable_l5_enabled (-cpu $(vm_tcg_cpu))" || return 1
    fi
    vm_check_dump_readers "$out/vmcore" "$VM_RELEASE" || return 1
    if [[ $shape == wrapped-log ]]; then
        # The ring wrapped when the oldest record vmcore-dmesg finds is no longer the kernel's first line.
        local first
        first=$(head -n 1 "$out/vmcore-dmesg.txt")
        [[ $first != *"Linux version"* ]] ||
            vm_fail "the printk ring did not wrap: vmcore-dmesg's first record is '$first'" || return 1
        vm_figure "printk ring wrapped: oldest record kept" "${first:0:60}"
    fi
}

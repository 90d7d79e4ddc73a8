# corrupt-vmcoreinfo: the crashed kernel's memory is wrong, the capture still saves a complete dump.
#   boot 1: the panic scenario's guest (oopsd arms itself); before the sysrq crash, the oopsd module's test-only
#           debugfs file oopsd/vmcoreinfo (enable_triggers=1) makes the crash's VMCOREINFO say SIZE(page)=65536
#           (a kretprobe on crash_save_vmcoreinfo rewrites the note after the kernel rebuilt it, see Kernel/oopsd.c).
#           oopsd-capture asks for dump level 31: the struct page walk, sized by that value, wants 2 GiB per memory
#           section. The step dies (in its child process, out of memory under its limit) or fails; PID 1 falls back
#           to the same level without the walk and saves a complete dump that says why in metadata.json.
#   boot 2: oopsd collects it; `oopsctl info -1` shows the applied level and the warning.
# The host checks the corruption reached the dump (the saved VMCOREINFO note), the metadata, and that vmcore-dmesg
# reads the dump.

source "$(dirname "${BASH_SOURCE[0]}")/panic.sh"  # panic_guest_hook

CORRUPT_KEY='SIZE(page)'
CORRUPT_VALUE=65536

scenario_main() {
    panic_guest_hook
    vm_add_oopsd_module || return 1
    cat >"$VM_STAGE/etc/oopsd-vm/before-crash.sh" <<GUEST
insmod /lib/modules/\$(uname -r)/updates/oopsd.ko enable_triggers=1 on_oops=0 ||
    { vm_mark "insmod oopsd.ko failed with status \$?"; return 1; }
echo '$CORRUPT_KEY=$CORRUPT_VALUE' >/sys/kernel/debug/oopsd/vmcoreinfo ||
    { vm_mark "writing oopsd/vmcoreinfo failed with status \$?"; return 1; }
vm_mark "VMCOREINFO corruption armed: $CORRUPT_KEY=$CORRUPT_VALUE"
GUEST
    vm_build_disk || return 1

    vm_boot crash || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming the capture kernel" || return 1
    vm_expect_console "oopsd: test: VMCOREINFO SIZE[(]page[)] will read $CORRUPT_VALUE in the dump" \
        "the module arming the corruption" || return 1
    vm_expect_console 'sysrq: Trigger a crash' "the sysrq crash" || return 1
    vm_expect_console 'oopsd-capture: warning: dump level 31 ' "oopsd-capture falling back from level 31" || return 1
    vm_expect_console 'oopsd-capture: dump complete in ' "a complete dump despite the corrupted VMCOREINFO" || return 1
    vm_expect_console 'oopsd-capture: reboot now' "the capture's final action (not the failure action)" || return 1
    vm_figure "capture memory limit" "$(grep -o 'oopsd-capture: step .* limits: .*' "$VM_CONSOLE" | head -n 1 |
        sed 's/.*limits: //')"
    vm_figure "capture warning (console)" "$(grep -o 'oopsd-capture: warning: dump level 31 .*' "$VM_CONSOLE" |
        head -n 1 | sed 's/oopsd-capture: warning: //')"

    vm_boot collect || return 1
    vm_expect_console 'OOPSD-VM: collected: [0-9]+T[0-9]+Z-[0-9a-f]+' "the dump on the second boot" || return 1
    vm_expect_console '^Status: +complete' "oopsctl info -1: a complete dump" || return 1
    vm_expect_console '^Dump level: +[01] [(]31 requested[)]' "oopsctl info -1: the level applied" || return 1
    vm_expect_console '^Warning: +dump level 31 .*SIZE[(]page[)]' "oopsctl info -1: why the level was lowered" ||
        return 1

    local out=$VM_DUMPS/corrupt-vmcoreinfo name
    rm -rf "$out"
    vm_extract /var/crash/ "$out" || return 1
    name=$(ls "$out" | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$' | head -n 1)
    [[ -n $name ]] || vm_fail "no complete dump directory in /var/crash: $(ls "$out" | tr '\n' ' ')" || return 1
    local dump=$out/$name
    assert_file "$dump/vmcore" "the dump's vmcore" || return 1
    grep -aq "SIZE(page)=$CORRUPT_VALUE" "$dump/vmcore" ||
        vm_fail "the saved VMCOREINFO does not say SIZE(page)=$CORRUPT_VALUE: the corruption did not reach the dump" ||
        return 1
    local meta
    meta=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
level = m["dump_level"]
print(m["status"], level["requested"], level["applied"])
for w in m["warnings"]:
    print(w)' "$dump/metadata.json") || vm_fail "cannot read $dump/metadata.json" || return 1
    assert_eq "$(head -n 1 <<<"$meta" | cut -d' ' -f1-2)" "complete 31" "status and requested level in metadata.json" ||
        return 1
    [[ $(head -n 1 <<<"$meta" | cut -d' ' -f3) =~ ^[01]$ ]] ||
        vm_fail "metadata.json applied level: $(head -n 1 <<<"$meta"), expected 1 (or 0 after a plain copy)" || return 1
    grep -q '^dump level 31 .*SIZE(page)' <<<"$meta" ||
        vm_fail "no warning naming dump level 31 and SIZE(page) in metadata.json: $(tail -n +2 <<<"$meta" | tr '\n' '|')" ||
        return 1
    vm_figure "metadata.json" "$(head -n 1 <<<"$meta"); warnings: $(tail -n +2 <<<"$meta" | tr '\n' '|')"
    vmcore-dmesg "$dump/vmcore" >"$dump/vmcore-dmesg.txt" 2>"$dump/vmcore-dmesg.err" ||
        vm_fail "vmcore-dmesg $dump/vmcore failed: $(head -n 3 "$dump/vmcore-dmesg.err")" || return 1
    assert_contains "$dump/vmcore-dmesg.txt" 'sysrq: Trigger a crash' "vmcore-dmesg of the fallback dump" || return 1
    assert_contains "$dump/dmesg.txt" 'sysrq: Trigger a crash' "the saved kernel log" || return 1
}

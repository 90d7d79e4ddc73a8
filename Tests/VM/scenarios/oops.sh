# oops: the oopsd kernel module (Kernel/) with panic_on_oops=0, armed by oopsd itself.
#   boot 1: oopsd runs with [Kernel] OopsModule=yes: it loads the module (installed under /lib/modules/<rel>/updates,
#           as DKMS would), passes the breadcrumb's address on the capture command line and arms; `echo null` into
#           the module's trigger: the oops enters the capture kernel, oopsd-capture saves a complete dump whose
#           metadata.json carries the breadcrumb; the host checks the breadcrumb in the vmcore against the oops report
#           (RIP and every general register) and against the metadata.
#   boot 2: nothing armed, null, bug and gpf triggers: each oops kills only its shell, the guest keeps running,
#           writes a marker and powers off cleanly.
# The module is built against the guest kernel's headers (vm_add_oopsd_module): with the host's gcc, or, for kernels
# whose headers name a newer compiler (7.x), in a build root of the suite that has it (kernel_toolchain_suite).
# (The BUG() and GPF triggers entering the capture kernel were checked by hand with the same checker; CI runs the
# NULL dereference only, to keep the scenario to two boots.)

# oops_armed_boot KIND: one boot with the capture kernel armed, the KIND trigger, the dump and its breadcrumb.
oops_armed_boot() {
    local kind=$1 line str_re
    case $kind in
        null) line='BUG: kernel NULL pointer dereference'; str_re='Oops' ;;
        bug) line='kernel BUG at .*oopsd\.c:[0-9]+!'; str_re='invalid opcode' ;;
        gpf) line='general protection fault, probably for non-canonical address 0x8000000000000000'
            str_re='general protection fault.*' ;;
    esac
    vm_boot "armed-$kind" || return 1
    local console=$VM_CONSOLE phys
    vm_expect_console 'OOPSD-VM: oopsd armed: kexec_crash_loaded=1' "$kind: oopsd arming with OopsModule=yes" || return 1
    vm_expect_console 'OOPSD-VM: oopsd loaded: breadcrumb_phys=0x[0-9a-f]+ on_oops=Y panic_on_oops=0' \
        "$kind: oopsd loading oopsd.ko, panic_on_oops=0" || return 1
    vm_expect_console 'irqpoll.* oopsd\.breadcrumb=0x[0-9a-f]+' "$kind: the breadcrumb's address on the capture command line" ||
        return 1
    vm_expect_console "$line" "$kind: the oops on the console" || return 1
    vm_expect_console "Kernel panic - not syncing: oopsd: $str_re [(]die event 1[)], entering the capture kernel" \
        "$kind: the module's panic" || return 1
    vm_expect_console 'oopsd-capture: breadcrumb: DIE_OOPS' "$kind: oopsd-capture reading the breadcrumb" || return 1
    vm_expect_console 'oopsd-capture: dump complete in ' "$kind: oopsd-capture's complete dump" || return 1
    local oops panic captured
    oops=$(vm_console_time "$line")
    panic=$(vm_console_time 'Kernel panic - not syncing')
    captured=$(vm_console_time 'oopsd-capture: dump complete in ')
    vm_figure "$kind armed: oops to panic" "$(awk -v a="$oops" -v b="$panic" 'BEGIN { printf "%.2f", b - a }')s"
    vm_figure "$kind armed: oops to capture done" "$(awk -v a="$oops" -v b="$captured" 'BEGIN { printf "%.1f", b - a }')s"
    phys=$(grep -o 'OOPSD-VM: oopsd loaded: breadcrumb_phys=0x[0-9a-f]*' "$console" | sed 's/.*=//')

    local crash=$VM_DUMPS/oops-$kind-crash out name
    vm_extract /var/crash/ "$crash" || return 1
    name=$(ls "$crash" | grep -E '^[0-9]+T[0-9]+Z-[0-9a-f]+$' | head -n 1)
    [[ -n $name ]] || vm_fail "$kind: no complete dump in /var/crash: $(ls "$crash" | tr '\n' ' ')" || return 1
    out=$VM_DUMPS/oops-$kind
    rm -rf "$out"
    mv "$crash/$name" "$out"
    rm -rf "$crash"
    assert_file "$out/vmcore" "$kind: the dump's vmcore" || return 1
    assert_contains "$out/metadata.json" '"status": ?"complete"' "$kind: the dump's metadata" || return 1
    vmcore-dmesg "$out/vmcore" >"$out/vmcore-dmesg.txt" 2>"$out/vmcore-dmesg.err" ||
        vm_fail "vmcore-dmesg $out/vmcore failed: $(head -n 3 "$out/vmcore-dmesg.err")" || return 1
    assert_contains "$out/vmcore-dmesg.txt" "$line" "$kind: the oops in the dump's log" || return 1
    assert_contains "$out/vmcore-dmesg.txt" "RIP: 0010:trigger_$kind\\+0x[0-9a-f]+/0x[0-9a-f]+ \\[oopsd\\]" \
        "$kind: the oops' RIP line in the dump's log" || return 1
    assert_contains "$out/vmcore-dmesg.txt" "Kernel panic - not syncing: oopsd: $str_re [(]die event 1[)]" \
        "$kind: the module's panic in the dump's log" || return 1
    local rc
    python3 - "$out/vmcore" "$phys" "$out/vmcore-dmesg.txt" "$console" "$kind" >"$out/breadcrumb.txt" 2>&1 <<'PY'
import re, struct, sys, zlib

core, phys, dmesg_path, console_path, kind = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4], sys.argv[5]
dmesg = open(dmesg_path, errors="replace").read()
console = open(console_path, errors="replace").read()


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


with open(core, "rb") as f:
    eh = f.read(64)
    if eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
        fail(f"{core}: not a little-endian ELF64 file")
    e_phoff, = struct.unpack_from("<Q", eh, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", eh, 54)
    f.seek(e_phoff)
    phdrs = [struct.unpack("<IIQQQQQQ", f.read(e_phentsize)[:56]) for _ in range(e_phnum)]
    record = None
    crashtime = None
    for p_type, _, off, vaddr, paddr, filesz, _, _ in phdrs:
        if p_type == 4:  # PT_NOTE: find VMCOREINFO's CRASHTIME
            f.seek(off)
            m = re.search(rb"CRASHTIME=(\d+)", f.read(filesz))
            if m:
                crashtime = int(m.group(1))
        if p_type == 1 and paddr <= phys and phys + 4096 <= paddr + filesz:
            f.seek(off + phys - paddr)
            record = f.read(4096)
    if record is None:
        fail(f"no PT_LOAD of {core} covers physical address {phys:#x}")

magic, version, size, crc = struct.unpack_from("<8sHHI", record, 0)
if magic != b"OOPSDBRC":
    fail(f"magic at {phys:#x} is {magic!r}, expected b'OOPSDBRC'")
if version != 1 or size != 328:
    fail(f"version {version} size {size}, expected version 1 size 328")
if zlib.crc32(record[16:size]) != crc:
    fail(f"CRC-32 of bytes [16, {size}) is {zlib.crc32(record[16:size]):#010x}, header says {crc:#010x}")
(event, trapnr, signr, cpu, err, taint, real_ns, clock_ns, oops_count, pid, tgid, arch, regs_size) = \
    struct.unpack_from("<IiiIQQQQIiiHH", record, 16)
comm = record[80:96].split(b"\0")[0].decode()
die_str = record[96:160].split(b"\0")[0].decode()
regs = struct.unpack_from("<21Q", record, 160)
names = ["R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8", "RAX", "RCX", "RDX", "RSI", "RDI",
         "ORIG_RAX", "RIP", "CS", "EFLAGS", "RSP", "SS"]
r = dict(zip(names, regs))
print(f"breadcrumb at {phys:#x}: event={event} str={die_str!r} trapnr={trapnr} signr={signr} err={err:#x} cpu={cpu}")
print(f"  comm={comm!r} pid={pid} tgid={tgid} taint={taint:#x} oops_count={oops_count} arch={arch}")
print(f"  realtime_ns={real_ns} clock_ns={clock_ns} crashtime={crashtime} RIP={r['RIP']:#x} RSP={r['RSP']:#x}")


def expect(what, got, want):
    if got != want:
        fail(f"{what}: breadcrumb has {got!r}, expected {want!r}")


# Per kind: the log line that opens the oops, the die string's start, the trap number (None: not set by the
# kernel for kernel-mode page faults, see Kernel/BREADCRUMB.md) and where the error code comes from.
KINDS = {
    "null": (r"BUG: kernel NULL pointer dereference", "Oops", None),
    "bug": (r"kernel BUG at .*oopsd\.c:\d+!", "invalid opcode", 6),
    "gpf": (r"general protection fault, probably for non-canonical address 0x8000000000000000", "general protection fault",
            13),
}
oops_line, str_start, want_trapnr = KINDS[kind]
expect("event", event, 1)
m = re.search(r"Kernel panic - not syncing: oopsd: (.*) \(die event 1\), entering the capture kernel", dmesg)
if not m:
    fail("no panic line of the module in the dump's log")
expect("die string (the panic line's, cut to 63 bytes)", die_str, m.group(1)[:63])
if not die_str.startswith(str_start):
    fail(f"die string {die_str!r} does not start with {str_start!r}")
if want_trapnr is not None:
    expect("trap number", trapnr, want_trapnr)
expect("signal", signr, 11)
expect("arch", arch, 62)
expect("regs_size", regs_size, 168)
expect("comm", comm, "sh")
expect("oops_count", oops_count, 1)
m = re.search(rf"OOPSD-VM: trigger {kind} pid (\d+)", dmesg)
expect("pid", pid, int(m.group(1)) if m else None)
expect("tgid", tgid, pid)
m = re.search(r"OOPSD-VM: tainted before the oops: (\d+)", console)
expect("taint mask", taint, int(m.group(1)) if m else None)
if kind == "null":
    m = re.search(r"#PF: error_code\((0x[0-9a-f]+)\)", dmesg)
    expect("error code", err, int(m.group(1), 16) if m else None)
else:
    expect("error code", err, 0)

# RIP: the oops line gives trigger_<kind>+off; the guest's kallsyms gives trigger_<kind>.
m = re.search(rf"RIP: 0010:trigger_{kind}\+(0x[0-9a-f]+)/0x[0-9a-f]+ \[oopsd\]", dmesg)
k = re.search(rf"OOPSD-VM: kallsyms trigger_{kind} ([0-9a-f]+)", console)
if not m or not k:
    fail(f"no RIP line for trigger_{kind} in the dump's log or no kallsyms marker on the console")
expect("RIP", r["RIP"], int(k.group(1), 16) + int(m.group(1), 16))
# Every general register of the oops report: the block from the RIP line to "Call Trace" (the user registers
# printed later in the trace are the syscall's, not the oops').
block = dmesg[m.start():dmesg.index("Call Trace", m.start())]
printed = dict(re.findall(r"\b(R[A-Z0-9]{1,2}|RSP): (?:0018:)?([0-9a-f]{16})\b", block))
for name in ["RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
             "RSP"]:
    key = {"R8": "R08", "R9": "R09"}.get(name, name)
    if key not in printed:
        fail(f"register {key} not found in the oops report of the dump's log")
    expect(f"register {name}", r[name], int(printed[key], 16))
m = re.search(r"EFLAGS: ([0-9a-f]+)", block)
expect("EFLAGS", r["EFLAGS"], int(m.group(1), 16) if m else None)
# Times: the breadcrumb is written between the oops line and the panic line of the log.
ts = lambda pat: float(re.search(r"\[\s*(\d+\.\d+)\] " + pat, dmesg).group(1))
t_oops, t_panic = ts(r"(?:Oops: )?" + oops_line), ts("Kernel panic - not syncing")
if not (t_oops <= clock_ns / 1e9 <= t_panic + 1e-6):
    fail(f"clock_ns {clock_ns / 1e9:.6f}s is not between the oops ({t_oops}) and the panic ({t_panic}) in the log")
if crashtime is None or abs(real_ns // 10**9 - crashtime) > 2:
    fail(f"realtime {real_ns // 10**9}s is not within 2s of VMCOREINFO CRASHTIME={crashtime}")
print("OK: breadcrumb matches the oops")
PY
    rc=$?
    ((rc == 0)) || vm_fail "$kind: breadcrumb check ($out/breadcrumb.txt): $(tail -n 1 "$out/breadcrumb.txt")" || return 1
    # oopsd-capture's metadata carries the same record: kind, task and the faulting RIP.
    local rip meta
    rip=$(grep -o 'RIP=0x[0-9a-f]*' "$out/breadcrumb.txt" | head -n 1 | sed 's/RIP=//')
    meta=$(python3 -c 'import json, sys; b = json.load(open(sys.argv[1]))["breadcrumb"] or {}; print(b.get("event"), b.get("die"), b.get("comm"), b.get("rip"))' "$out/metadata.json")
    assert_eq "$meta" "DIE_OOPS Oops sh $rip" "$kind: breadcrumb in metadata.json (event, die string, task, RIP)" || return 1
    vm_figure "$kind armed: breadcrumb" "$(grep -o 'RIP=0x[0-9a-f]*' "$out/breadcrumb.txt") $(tail -n 1 "$out/breadcrumb.txt")"
    vm_figure "$kind armed: breadcrumb in metadata" "$meta"
}

scenario_main() {
    VM_MEM=768M
    vm_add_oopsd_module || return 1
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    printf '[Kernel]\nOopsModule=yes\n' >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-oops.conf"

    vm_guest_hook - <<'GUEST'
oopsd_trigger() {
    # The pid goes through the kernel log (/dev/kmsg): a console write could still be queued at the panic.
    sh -c 'echo "OOPSD-VM: trigger '"$1"' pid $$" >/dev/kmsg; echo '"$1"' >/sys/kernel/debug/oopsd/trigger'
}

guest_main() {
    p=/sys/module/oopsd/parameters
    ko=/lib/modules/$(uname -r)/updates/oopsd.ko
    echo 0 >/proc/sys/kernel/panic_on_oops
    case $OOPSD_VM_BOOT in
    1)
        mkdir -p /var/log
        /usr/sbin/oopsd >/var/log/oopsd.log 2>&1 &
        i=0
        while [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; do
            i=$((i + 1)); [ $i -gt 1200 ] && { vm_mark "oopsd did not arm"; cat /var/log/oopsd.log; return 1; }
            sleep 0.1
        done
        vm_mark "oopsd armed: kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
        oopsctl status
        echo 1 >$p/enable_triggers
        vm_mark "oopsd loaded: breadcrumb_phys=$(cat $p/breadcrumb_phys) on_oops=$(cat $p/on_oops)" \
            "panic_on_oops=$(cat /proc/sys/kernel/panic_on_oops)"
        awk '$3 ~ /^trigger_(null|bug|gpf)$/ { print "OOPSD-VM: kallsyms", $3, $1 }' /proc/kallsyms >/dev/console
        vm_mark "tainted before the oops: $(cat /proc/sys/kernel/tainted)"
        sync
        oopsd_trigger null
        vm_mark "trigger null returned (status $?) although a capture kernel was armed"
        return 1
        ;;
    2)
        insmod $ko breadcrumb_phys=0x1000 2>/dev/null
        vm_mark "insmod with breadcrumb_phys=0x1000: status $?"
        insmod $ko enable_triggers=1 || { vm_mark "insmod $ko failed with status $?"; return 1; }
        vm_mark "not armed: kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
        t=/sys/kernel/debug/oopsd/trigger
        vm_mark "trigger of an unknown kind: $(sh -c "echo nope >$t" 2>&1)"
        echo 0 >$p/enable_triggers
        vm_mark "trigger while enable_triggers=$(cat $p/enable_triggers): $(sh -c "echo null >$t" 2>&1)"
        echo 1 >$p/enable_triggers
        for kind in null bug gpf; do
            oopsd_trigger $kind
            vm_mark "after $kind: shell status $? oops_count=$(cat $p/oops_count)"
        done
        echo alive >/var/lib/oopsd-vm/after-oops
        sync
        vm_mark "alive after the oopses: $(cat /var/lib/oopsd-vm/after-oops), tainted=$(cat /proc/sys/kernel/tainted)"
        ;;
    *)
        vm_mark "unexpected boot $OOPSD_VM_BOOT"
        return 1
        ;;
    esac
}
GUEST
    vm_build_disk || return 1

    oops_armed_boot null || return 1

    # ---- boot 2: nothing armed
    vm_boot unarmed || return 1
    vm_expect_console 'OOPSD-VM: not armed: kexec_crash_loaded=0' "nothing armed in boot 2" || return 1
    vm_expect_console 'oopsd: .0x1000. invalid for parameter .breadcrumb_phys.' \
        "the kernel's refusal of a value for the read-only breadcrumb_phys" || return 1
    vm_expect_console 'OOPSD-VM: insmod with breadcrumb_phys=0x1000: status [1-9]' "insmod's failure status" || return 1
    vm_expect_console 'OOPSD-VM: trigger of an unknown kind: .*Invalid argument' "EINVAL for an unknown trigger" ||
        return 1
    vm_expect_console 'OOPSD-VM: trigger while enable_triggers=N: .*Operation not permitted' \
        "EPERM for the trigger while enable_triggers=N" || return 1
    vm_expect_console 'BUG: kernel NULL pointer dereference' "the null oops on the console" || return 1
    vm_expect_console 'kernel BUG at .*oopsd\.c:[0-9]+!' "the BUG() oops on the console" || return 1
    vm_expect_console 'general protection fault, probably for non-canonical address 0x8000000000000000' \
        "the gpf oops on the console" || return 1
    # x86 kills the task of a page-fault oops with SIGKILL (137), of other oopses with SIGSEGV (139).
    vm_expect_console 'OOPSD-VM: after null: shell status 137 oops_count=1' "the null oops killed only its shell" ||
        return 1
    vm_expect_console 'OOPSD-VM: after bug: shell status 139 oops_count=2' "the BUG() oops killed only its shell" ||
        return 1
    vm_expect_console 'OOPSD-VM: after gpf: shell status 139 oops_count=3' "the gpf oops killed only its shell" ||
        return 1
    vm_expect_console 'OOPSD-VM: alive after the oopses: alive' "the guest still running after three oopses" ||
        return 1
    vm_expect_console 'OOPSD-VM: powering off' "a clean power-off" || return 1
    ! grep -q 'Kernel panic' "$VM_CONSOLE" || vm_fail "boot 2 panicked with nothing armed: $VM_CONSOLE" || return 1
    vm_guest_exists /var/lib/oopsd-vm/after-oops || vm_fail "the marker file written after the oopses is missing" ||
        return 1
    vm_figure "unarmed: boot total" "${VM_BOOT_SECONDS}s"
}

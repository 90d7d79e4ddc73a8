# netcapture: a machine whose dumps go to the network from inside the capture kernel (`[Capture] Target=s3://...`).
# The host starts the fleet's loopback Ceph radosgw (Tests/Fleet/servers.sh); the guest has a virtio-net link through
# QEMU user networking (guest 10.0.2.15, the host's loopback as 10.0.2.2: traffic to this machine only), a static
# address and default route, and `Target=` naming its `[Upload.rgw]` section, whose endpoint is radosgw.
# Boot 1 has no dump disk: the disk is attached read-only, root mounted ro, /var a tmpfs (VM_DISK_READONLY), so
# oopsd arms for the network alone (no local target in the plan). oopsd arms (the initramfs gets virtio_net, the
# frozen address, the uploader and its libraries, the credentials root-only), sysrq panic; oopsd-capture brings the
# link up, sends dmesg.txt and metadata.json, streams the vmcore in 8 MiB parts, then manifest.json, and reboots.
# Once its PID 1 runs, QEMU writes the guest's whole RAM to a host file through QMP (dump-guest-memory). The host
# reads the dump back from radosgw: every file matches the manifest, dmesg.txt equals vmcore-dmesg's reading of the
# vmcore, vmcore-dmesg, makedumpfile and drgn read the vmcore, and every page it kept equals QEMU's copy (but for
# the low 1 MiB and the reservation, which the capture kernel may use).
# Boot 2: collection asks radosgw for this machine's dumps, records boot 1's (small files, manifest, shipped; its
# memory stays in the bucket), announces it, and stores its report beside it; `oopsctl list` shows it complete and
# shipped. Then the host kills radosgw: the capture cannot send the dump, says why, and falls back to /var/crash on
# the guest's disk, whose metadata.json records the reason.
# Boot 3, diskless again with radosgw down: the capture says why the upload failed and that there is no local target
# to fall back to, and takes the failure action (FailureAction=poweroff).

# Two diskless captures and radosgw: Tests/VM/run starts it early.
SCENARIO_SLOW=1

netcapture_guest_hook() {
    vm_guest_hook - <<'GUEST'
guest_main() {
    modprobe virtio_net
    ip link set eth0 up
    ip addr add 10.0.2.15/24 dev eth0
    ip route add default via 10.0.2.2
    echo "nameserver 10.0.2.3" >/etc/resolv.conf
    vm_mark "network: $(ip -4 addr show dev eth0 | grep inet) via $(ip route | grep default)"
    vm_mark "storage: root $(awk '$2 == "/" { split($4, o, ","); print o[1] }' /proc/mounts), /var on \
$(awk '$2 == "/var" { t = $3 } END { print t ? t : "/" }' /proc/mounts)"
    vm_mark "crash kernel: $(grep 'Crash kernel' /proc/iomem | tr -d ' ' | cut -d: -f1)"
    mkdir -p /var/log
    /usr/sbin/oopsd >/var/log/oopsd.log 2>&1 &
    oopsd_pid=$!
    i=0
    while [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; do
        i=$((i + 1))
        if [ $i -gt 1200 ] || ! kill -0 "$oopsd_pid" 2>/dev/null; then
            vm_mark "oopsd did not arm"
            cat /var/log/oopsd.log
            return 1
        fi
        sleep 0.1
    done
    vm_mark "oopsd armed"
    cat /var/log/oopsd.log
    oopsctl status
    mkdir -p /var/lib
    boot=$(($(cat /var/lib/netcapture-boots 2>/dev/null || echo 0) + 1))
    echo "$boot" >/var/lib/netcapture-boots
    sync
    if [ "$boot" = 2 ]; then
        # The dump of boot 1 is only in radosgw: collection asks for it, records it, stores its report beside it.
        i=0
        until grep -q 'its report is stored beside it\|cannot store its report\|not recorded\|cannot ask' \
            /var/log/oopsd.log || [ $i -gt 600 ]; do
            i=$((i + 1))
            sleep 0.2
        done
        grep 'network capture: ' /var/log/oopsd.log
        oopsctl list
        oopsctl info -1 | head -n 12
        vm_mark "network record listed"
        # netcapture-sftp's second boot ends here, powered off without a second crash.
        [ -e /etc/oopsd-vm/record-only ] && return 0
        # The host now kills radosgw: the capture of this boot must fail and fall back to the disk.
        endpoint=$(sed -n 's/^Endpoint=//p' /etc/oopsd/oopsd.conf.d/50-network.conf)
        i=0
        until wget -q -T 3 -O /dev/null "$endpoint/" 2>&1 | grep -q 'refused' || [ $i -gt 120 ]; do
            i=$((i + 1))
            sleep 0.5
        done
        vm_mark "radosgw down after $i checks"
    fi
    vm_mark "dumps on disk before the crash: $(ls /var/crash | tr '\n' ' ')"
    vm_crash_sysrq 0
}
GUEST
}

# netcapture_s3 ARGS...: curl signed for radosgw.
netcapture_s3() {
    curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" -u "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

# netcapture_expect_sent MAC WHERE: the capture's console shows the frozen address up, dmesg.txt sent first, the
# dump sent whole with its manifest and the final action; records its timings. Sets NETCAPTURE_ID to the dump's ID.
netcapture_expect_sent() {
    local mac=$1 where=$2 panic started sent
    vm_expect_console "oopsd-capture: network: eth0 [(]MAC $mac[)] up as 10[.]0[.]2[.]15/24" \
        "the capture kernel bringing up the frozen address" || return 1
    vm_expect_console 'oopsd-capture: sent dmesg.txt' "dmesg.txt sent first" || return 1
    vm_expect_console 'oopsd-capture: dump [0-9]+T[0-9]+Z-[0-9a-f]+ sent whole with its manifest' \
        "the dump sent to $where with its manifest" || return 1
    vm_expect_console 'oopsd-capture: reboot now' "the capture's final action" || return 1
    panic=$(vm_console_time 'Kernel panic - not syncing')
    started=$(vm_console_time 'oopsd-capture: oopsd-capture .* as PID 1')
    sent=$(vm_console_time 'oopsd-capture: dump .* sent whole')
    vm_figure "capture to $where (console clock)" "$(awk -v p="$panic" -v a="$started" -v b="$sent" \
        'BEGIN { printf "panic to PID 1 %.1fs, PID 1 to manifest stored %.1fs", a - p, b - a }')"
    vm_figure "capture log" "$(grep -o "dump [0-9TZa-f-]* sent whole.*" "$VM_CONSOLE" | head -n 1)"
    NETCAPTURE_ID=$(grep -o 'dump [0-9]*T[0-9]*Z-[0-9a-f]* sent whole' "$VM_CONSOLE" | head -n 1 | cut -d' ' -f2)
}

# netcapture_check_dump DIR MACHINE WHERE: the dump NETCAPTURE_ID as read back from WHERE into DIR is whole: its
# files and nothing else, each as manifest.json says, in the capture's order; metadata complete; vmcore-dmesg,
# makedumpfile and drgn read the vmcore; dmesg.txt equals vmcore-dmesg's reading; the guest's disk holds no dump.
netcapture_check_dump() {
    local out=$1 machine=$2 where=$3 left
    python3 - "$out" "$machine" "$NETCAPTURE_ID" <<'PY' || vm_fail "the dump on $where does not match its manifest" || return 1
import hashlib, json, os, sys
out, machine, dump = sys.argv[1:]
manifest = json.load(open(os.path.join(out, "manifest.json")))
assert manifest["machine_id"] == machine and manifest["dump_id"] == dump, manifest
assert [f["name"] for f in manifest["files"]] == ["dmesg.txt", "metadata.json", "vmcore", "capture.log"], manifest
for f in manifest["files"]:
    data = open(os.path.join(out, f["name"]), "rb").read()
    assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest(), f["name"]
assert sorted(os.listdir(out)) == sorted([f["name"] for f in manifest["files"]] + ["manifest.json"]), os.listdir(out)
PY
    assert_contains "$out/metadata.json" '"status": ?"complete"' "metadata.json on $where" || return 1
    vm_figure "vmcore on $where" "$(stat -c %s "$out/vmcore") bytes"
    vm_check_dump_readers "$out/vmcore" "$VM_RELEASE" || return 1
    assert_cmd "dmesg.txt on $where equals vmcore-dmesg of the vmcore on $where" \
        cmp "$out/dmesg.txt" "$out/vmcore-dmesg.txt" || return 1
    left=$(vm_extract /var/crash/ "$VM_RUN_DIR/disk-crash" >/dev/null 2>&1; ls "$VM_RUN_DIR/disk-crash" 2>/dev/null)
    [[ -z $left ]] || vm_fail "the network capture also wrote to the guest's disk: $left" || return 1
}

# netcapture_boot_diskless NAME: boots NAME with no dump disk (VM_DISK_READONLY: disk read-only, root ro, /var a
# tmpfs) and a QMP socket; once the capture kernel's PID 1 runs, QEMU writes the guest's whole RAM to
# NETCAPTURE_REFERENCE (nothing of it comes from oopsd). Checks that oopsd armed for the network alone.
netcapture_boot_diskless() {
    local name=$1 dumper booted
    NETCAPTURE_REFERENCE=$VM_RUN_DIR/reference.elf
    rm -f "$NETCAPTURE_REFERENCE"
    VM_DISK_READONLY=1 VM_QMP=$VM_RUN_DIR/qmp.sock
    (
        until grep -q 'oopsd-capture: oopsd-capture .* as PID 1' "$VM_RUN_DIR/console-$name.log" 2>/dev/null; do
            sleep 0.2
        done
        vm_qmp_dump_memory "$VM_QMP" "$NETCAPTURE_REFERENCE" >"$VM_RUN_DIR/qmp-dump.log" 2>&1
    ) &
    dumper=$!
    vm_boot "$name"
    booted=$?
    VM_DISK_READONLY='' VM_QMP=''
    # Without a capture kernel the dumper still waits for it; with one, it has ended (qemu has exited). A missing
    # reference fails in netcapture_compare_reference, after the capture's own checks say what went wrong.
    [[ -n $(vm_console_time 'oopsd-capture: oopsd-capture .* as PID 1') ]] || kill "$dumper" 2>/dev/null
    wait "$dumper" 2>/dev/null
    ((booted == 0)) || return 1
    vm_figure "capture kernel at crashkernel=$VM_CRASHKERNEL" "$(grep -o 'oopsd-capture: memory: .*' "$VM_CONSOLE" |
        head -n 1 | sed 's/oopsd-capture: memory: //'); rootfs $(grep -q 'Kernel command line: .*rootfstype=ramfs' \
        "$VM_CONSOLE" && echo ramfs || echo tmpfs)"
    vm_expect_console 'OOPSD-VM: storage: root ro, /var on tmpfs' "the diskless guest's read-only root" || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming with a network target" || return 1
    vm_expect_console 'dumps to [^ ]+ only, a failed upload takes the failure action [(]dump target /var/crash' \
        "oopsd arming for the network only, with no local fallback" || return 1
    vm_expect_console 'Dump target: +none on this machine, the network only [(]dump target /var/crash' \
        "oopsctl status naming no local dump target" || return 1
    vm_expect_console 'oopsd-capture: plan: .*no local target for /var/crash, the network only' \
        "the capture plan without a local target" || return 1
}

# netcapture_compare_reference MEMORY: every page the dump MEMORY (ELF or kdump) kept equals QEMU's copy, but for
# the low megabyte and the reservation, which the capture kernel may use. Figures: QEMU's dump, the counts.
netcapture_compare_reference() {
    local memory=$1 crash_range compared
    crash_range=$(grep -o 'OOPSD-VM: crash kernel: [0-9a-f]*-[0-9a-f]*' "$VM_CONSOLE" | head -n 1 | cut -d' ' -f4)
    [[ -n $crash_range ]] || vm_fail "the guest did not print the crashkernel range" || return 1
    [[ -s $NETCAPTURE_REFERENCE ]] ||
        vm_fail "no QEMU dump-guest-memory of the crashed guest: $(tail -n 1 "$VM_RUN_DIR/qmp-dump.log" 2>/dev/null)" ||
        return 1
    vm_figure "QEMU memory dump" "$(stat -c %s "$NETCAPTURE_REFERENCE") bytes in $(tail -n 1 "$VM_RUN_DIR/qmp-dump.log")"
    assert_cmd "every page the dump kept equals QEMU's copy of the crashed guest's RAM" \
        python3 "$OOPSD_VM_DIR/tools/reference_compare.py" "$NETCAPTURE_REFERENCE" "$memory" --exclude 0-100000 \
        --exclude "$crash_range"
    compared=$?
    vm_figure "kept pages against QEMU's copy" "$(head -n 1 "$VM_RUN_DIR/cmd-$VM_CMD_COUNT.log")"
    ((compared == 0)) || return 1
    rm -f "$NETCAPTURE_REFERENCE"
}

# netcapture_expect_record ID TARGET: the next boot's collection found dump ID in TARGET (the [Upload.NAME] name),
# recorded it, stored its report beside it, and `oopsctl list` shows it complete and shipped there.
netcapture_expect_record() {
    local id=$1 target=$2
    vm_expect_console "network capture: dump $id was sent to $target by the capture kernel" \
        "collection finding the dump in $target and recording it" || return 1
    vm_expect_console "network capture: dump $id: its report is stored beside it in $target" \
        "the report stored beside the dump in $target" || return 1
    vm_expect_console "^$id +[-0-9: ]+ +$(vm_regex_quote "$VM_RELEASE") +yes +.* $target:shipped " \
        "oopsctl list on the next boot showing the dump as complete and shipped" || return 1
    vm_figure "oopsctl list on the next boot" "$(grep -E "^[0-9.]+ $id " "$VM_CONSOLE" | head -n 1 | cut -d' ' -f2- |
        tr -s ' ' | cut -c1-160)"
}

scenario_main() {
    # The network initramfs with the disk modules (41.6 MiB unpacked on Debian 6.1, boot 2) needs rootfs as ramfs
    # below ~170M: at 160M a tmpfs rootfs cut the uploader short; oopsd chooses ramfs from 144M
    # (CaptureRootFileSystem). 160M checks that choice with a margin; diskless boot 1's (39.2 MiB) fits in tmpfs
    # there. NETCAPTURE_RESERVATION=144M tries another size.
    VM_CRASHKERNEL=${NETCAPTURE_RESERVATION:-160M}
    FLEET_TMP=$VM_RUN_DIR/fleet
    rm -rf "$FLEET_TMP"
    mkdir -p "$FLEET_TMP"
    free_port() {
        local port
        while :; do
            port=$((20000 + RANDOM % 30000))
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
        done
    }
    MON_PORT=$(free_port) RGW_PORT=$(free_port) SSH_PORT=$(free_port)
    S3_ACCESS_KEY=OOPSDVMNETCAPTURE01 S3_SECRET_KEY=oopsd-vm-netcapture-secret-000000000001
    # shellcheck source=../../Fleet/servers.sh
    source "$OOPSD_REPO/Tests/Fleet/servers.sh"
    trap fleet_stop_all EXIT
    fleet_install || vm_fail "cannot install the fleet's servers (Tests/Fleet/servers.sh)" || return 1
    local t0=$SECONDS
    ceph_start >"$VM_RUN_DIR/ceph-start.log" 2>&1 ||
        vm_fail "radosgw did not start: $(tail -n 3 "$VM_RUN_DIR/ceph-start.log" | tr '\n' ' ')" || return 1
    vm_figure "radosgw start" "$((SECONDS - t0))s"
    [[ $(netcapture_s3 -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$RGW_PORT/dumps") == 200 ]] ||
        vm_fail "cannot create the bucket on radosgw" || return 1

    local machine=5e1f0c0ffee000000000000000000042
    netcapture_guest_hook
    echo "$machine" >"$VM_STAGE/etc/machine-id"
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" \
        >"$VM_STAGE/etc/oopsd/s3.credentials"
    chmod 600 "$VM_STAGE/etc/oopsd/s3.credentials"
    printf '[Capture]\nTarget=s3://dumps/vm\nFailureAction=poweroff\n[Upload.rgw]\nURL=s3://dumps/vm\nEndpoint=http://10.0.2.2:%s\n' \
        "$RGW_PORT" >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
    printf 'Credentials=/etc/oopsd/s3.credentials\nPartSize=8M\n' >>"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
    # NETCAPTURE_CMDLINE="word ..." appends to the capture kernel's command line ([Kernel] CommandLine=).
    if [[ -n ${NETCAPTURE_CMDLINE:-} ]]; then
        printf '[Kernel]\nCommandLine=%s\n' "$NETCAPTURE_CMDLINE" >>"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
        vm_figure "capture command line extra" "$NETCAPTURE_CMDLINE"
    fi
    VM_NET=52:54:00:0d:0e:0f
    # Boot 1 has nowhere local to write (the disk read-only, root ro, /var a tmpfs): it cannot count itself, so
    # the counter says 1 for boot 2.
    mkdir -p "$VM_STAGE/var/lib"
    echo 1 >"$VM_STAGE/var/lib/netcapture-boots"
    vm_build_disk || return 1

    netcapture_boot_diskless crash || return 1
    netcapture_expect_sent 52:54:00:0d:0e:0f radosgw || return 1
    local id=$NETCAPTURE_ID remote=http://127.0.0.1:$RGW_PORT/dumps/vm/$machine out=$VM_DUMPS/netcapture
    rm -rf "$out"
    mkdir -p "$out"
    local file
    for file in manifest.json dmesg.txt metadata.json vmcore capture.log; do
        netcapture_s3 -f "$remote/$id/$file" -o "$out/$file" || vm_fail "no $file for $id on radosgw" || return 1
    done
    netcapture_check_dump "$out" "$machine" radosgw || return 1
    netcapture_compare_reference "$out/vmcore" || return 1

    # Boot 2: collection records the dump of boot 1 from radosgw; then radosgw is killed, before the capture.
    (
        until grep -q 'OOPSD-VM: network record listed' "$VM_RUN_DIR/console-fallback.log" 2>/dev/null; do sleep 0.5; done
        kill -9 "$RGW_PID"
    ) &
    local watcher=$!
    vm_boot fallback
    local booted=$?
    kill "$watcher" 2>/dev/null
    rgw_kill
    ((booted == 0)) || return 1
    netcapture_expect_record "$id" rgw || return 1
    vm_expect_console 'OOPSD-VM: radosgw down after' "radosgw killed before the second capture" || return 1
    vm_expect_console 'oopsd-capture: network capture failed: ' "the failed upload and its reason" || return 1
    vm_expect_console 'oopsd-capture: dump complete in /mnt/target' "the fallback to the local disk" || return 1
    vm_figure "fallback reason" "$(grep -o 'network capture failed: .*' "$VM_CONSOLE" | head -n 1 | cut -c1-200)"
    vm_extract /var/crash/ "$VM_RUN_DIR/disk-fallback" || return 1
    local fallback
    fallback=$(ls "$VM_RUN_DIR/disk-fallback" | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$' | grep -vx "$id" | head -n 1)
    [[ -n $fallback ]] || vm_fail "no complete fallback dump in /var/crash" || return 1
    assert_contains "$VM_RUN_DIR/disk-fallback/$fallback/metadata.json" \
        'the capture to the network failed [(].*10[.]0[.]2[.]2' "the fallback dump's recorded reason" || return 1
    # The record of boot 1's dump: its small files and manifest, equal to radosgw's, and no memory.
    local record=$VM_RUN_DIR/disk-fallback/$id
    assert_cmd "the record's dmesg.txt equals radosgw's" cmp "$record/dmesg.txt" "$out/dmesg.txt" || return 1
    assert_cmd "the record's manifest.json equals radosgw's" cmp "$record/manifest.json" "$out/manifest.json" || return 1
    [[ ! -e $record/vmcore ]] || vm_fail "the record of $id holds a vmcore" || return 1
    assert_contains "$record/upload-state.json" '"shipped" : true' "the record's upload state" || return 1
    rgw_start >/dev/null || vm_fail "radosgw did not start again" || return 1
    netcapture_s3 -f "$remote/$id/report.json" -o "$out/report.json" ||
        vm_fail "no report.json beside $id in radosgw after the next boot" || return 1
    assert_cmd "the report in radosgw is the record's" cmp "$out/report.json" "$record/report.json" || return 1

    # Boot 3: diskless again, and radosgw down: the capture has nowhere to fall back to, says why on the console and
    # takes the failure action (FailureAction=poweroff, so that it cannot pass for the final action).
    rgw_kill
    VM_DISK_READONLY=1
    vm_boot diskless-down
    booted=$?
    VM_DISK_READONLY=''
    ((booted == 0)) || return 1
    vm_expect_console 'dumps to s3://dumps/vm only, a failed upload takes the failure action' \
        "oopsd arming for the network only again" || return 1
    vm_expect_console 'oopsd-capture: network capture failed: .*10[.]0[.]2[.]2' "the failed upload and its reason" ||
        return 1
    vm_expect_console 'oopsd-capture: no local dump target to fall back to' "no fallback on a diskless machine" ||
        return 1
    vm_expect_console 'oopsd-capture: poweroff now' "the failure action" || return 1
    [[ -z $(vm_console_time 'oopsd-capture: (dump complete|reboot now)') ]] ||
        vm_fail "the diskless capture with radosgw down saved a dump or took the final action" || return 1
    vm_figure "diskless, radosgw down" "$(grep -o 'network capture failed: .*' "$VM_CONSOLE" | head -n 1 |
        cut -c1-120)...; PID 1 to poweroff $(awk -v a="$(vm_console_time 'oopsd-capture: oopsd-capture .* as PID 1')" \
        -v b="$(vm_console_time 'oopsd-capture: poweroff now')" 'BEGIN { printf "%.1fs", b - a }')"
}

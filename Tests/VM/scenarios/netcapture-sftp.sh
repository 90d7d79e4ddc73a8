# netcapture-sftp: the capture kernel of a diskless guest sends the dump over SFTP (`[Capture] Target=sftp://...`)
# kdump-compressed (`Format=kdump Compression=zstd`), with the `[Upload.NAME]` section and login key the service's own
# SFTP uploads use. The host starts the fleet's sshd on loopback (Tests/Fleet/servers.sh); the guest reaches it as
# 10.0.2.2 through QEMU user networking, with the same static address and default route as netcapture, and, as
# netcapture's boot 1, no dump disk (disk read-only, root ro, /var a tmpfs). One boot: oopsd arms for the network
# alone (the initramfs gets virtio_net, the frozen address, the uploader with its libraries, libssh2 among them, the
# target and the key, root-only), sysrq panic; oopsd-capture sends dmesg.txt and metadata.json, streams the memory
# in makedumpfile's flattened format as it is written (vmcore.kdump.flat), then capture.log and manifest.json; QEMU
# writes the guest's RAM to a host file once the capture kernel's PID 1 runs. The host reads the drop box: every file
# matches the manifest; drgn reads the flattened file as it is; makedumpfile -R rebuilds the kdump file, which drgn
# reads and whose every kept page (zstd, decoded by libzstd) equals QEMU's copy.
# Boot 2, with the disk: collection lists this machine's directory in the drop box, records boot 1's dump (small
# files, manifest, shipped; its memory stays on the server), and stores its report beside it; `oopsctl list` shows it
# complete and shipped; the guest powers off (no second crash: netcapture's later boots test the failures).
# The guest of netcapture (static address, oopsd armed, sysrq panic); its scenario_main is replaced below.
# shellcheck source=netcapture.sh
source "$(dirname "${BASH_SOURCE[0]}")/netcapture.sh"

scenario_main() {
    FLEET_TMP=$VM_RUN_DIR/fleet
    rm -rf "$FLEET_TMP"
    mkdir -p "$FLEET_TMP"
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
    SSH_PORT=$port
    # shellcheck source=../../Fleet/servers.sh
    source "$OOPSD_REPO/Tests/Fleet/servers.sh"
    trap fleet_stop_all EXIT
    fleet_install || vm_fail "cannot install the fleet's servers (Tests/Fleet/servers.sh)" || return 1
    sshd_start >"$VM_RUN_DIR/sshd-start.log" 2>&1 ||
        vm_fail "sshd did not start: $(tail -n 3 "$VM_RUN_DIR/sshd-start.log" | tr '\n' ' ')" || return 1
    local dropbox=$FLEET_TMP/dropbox
    mkdir -p "$dropbox"

    local machine=5e1f0c0ffee000000000000000000043
    netcapture_guest_hook
    touch "$VM_STAGE/etc/oopsd-vm/record-only"
    echo "$machine" >"$VM_STAGE/etc/machine-id"
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    install -m 600 "$SSH_USER_KEY" "$VM_STAGE/etc/oopsd/sftp_key"
    install -m 644 "$SSH_USER_KEY.pub" "$VM_STAGE/etc/oopsd/sftp_key.pub"
    local url=sftp://root@10.0.2.2:$SSH_PORT$dropbox
    printf '[Capture]\nTarget=%s\nFormat=kdump\nCompression=zstd\n' "$url" \
        >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
    printf '[Upload.dropbox]\nURL=%s\nKeyFile=/etc/oopsd/sftp_key\nHostKey=%s\n' "$url" "$SSH_HOST_FINGERPRINT" \
        >>"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
    VM_NET=52:54:00:0d:0e:10
    # Boot 1 cannot count itself (/var a tmpfs): the counter says 1 for boot 2, as in netcapture.
    mkdir -p "$VM_STAGE/var/lib"
    echo 1 >"$VM_STAGE/var/lib/netcapture-boots"
    vm_build_disk || return 1

    netcapture_boot_diskless crash || return 1
    netcapture_expect_sent 52:54:00:0d:0e:10 "the SFTP drop box" || return 1
    local out=$dropbox/$machine/$NETCAPTURE_ID
    assert_file "$out/manifest.json" "manifest.json of $NETCAPTURE_ID in the SFTP drop box" || return 1
    python3 - "$out" "$machine" "$NETCAPTURE_ID" <<'PY' || { vm_fail "the dump in the drop box does not match its manifest"; return 1; }
import hashlib, json, os, sys
out, machine, dump = sys.argv[1:]
manifest = json.load(open(os.path.join(out, "manifest.json")))
assert manifest["machine_id"] == machine and manifest["dump_id"] == dump, manifest
names = [f["name"] for f in manifest["files"]]
assert names == ["dmesg.txt", "metadata.json", "vmcore.kdump.flat", "capture.log"], names
for f in manifest["files"]:
    data = open(os.path.join(out, f["name"]), "rb").read()
    assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest(), f["name"]
assert sorted(os.listdir(out)) == sorted(names + ["manifest.json"]), os.listdir(out)
metadata = json.load(open(os.path.join(out, "metadata.json")))
assert metadata["status"] == "complete" and metadata["format"] == "kdump", metadata
assert metadata["compression"] == "zstd", metadata
PY
    assert_contains "$out/dmesg.txt" 'sysrq: Trigger a crash' "dmesg.txt in the drop box" || return 1
    vm_figure "vmcore.kdump.flat in the drop box" "$(stat -c %s "$out/vmcore.kdump.flat") bytes"
    # Tools nobody here wrote: drgn (libkdumpfile) reads the flattened stream as it is; makedumpfile -R rebuilds the
    # kdump file from it without reading a page; drgn reads that too.
    "$VM_DRGN_PYTHON" "$OOPSD_VM_DIR/tools/drgn_release.py" "$out/vmcore.kdump.flat" >"$VM_RUN_DIR/drgn-flat.txt" 2>&1
    assert_eq "$(tail -n 1 "$VM_RUN_DIR/drgn-flat.txt")" "$VM_RELEASE" "release read by drgn from vmcore.kdump.flat" ||
        return 1
    local kdump=$VM_RUN_DIR/vmcore.kdump
    rm -f "$kdump"
    assert_cmd "makedumpfile -R rebuilding the kdump file" sh -c 'makedumpfile -R "$1" <"$2"' _ "$kdump" \
        "$out/vmcore.kdump.flat" || return 1
    [[ $(head -c 8 "$kdump") == "KDUMP   " ]] || vm_fail "the rebuilt file has no KDUMP signature" || return 1
    vm_figure "vmcore.kdump rebuilt by makedumpfile -R" "$(stat -c %s "$kdump") bytes"
    "$VM_DRGN_PYTHON" "$OOPSD_VM_DIR/tools/drgn_release.py" "$kdump" >"$VM_RUN_DIR/drgn-kdump.txt" 2>&1
    assert_eq "$(tail -n 1 "$VM_RUN_DIR/drgn-kdump.txt")" "$VM_RELEASE" "release read by drgn from the rebuilt file" ||
        return 1
    netcapture_compare_reference "$kdump" || return 1

    local id=$NETCAPTURE_ID

    # Boot 2: collection finds the dump in the drop box, records it and stores its report beside it.
    vm_boot record || return 1
    vm_figure "boot 2 (record, no crash)" "${VM_BOOT_SECONDS}s"
    netcapture_expect_record "$id" dropbox || return 1
    vm_extract /var/crash/ "$VM_RUN_DIR/disk-record" || return 1
    local record=$VM_RUN_DIR/disk-record/$id
    assert_cmd "the record's dmesg.txt equals the drop box's" cmp "$record/dmesg.txt" "$out/dmesg.txt" || return 1
    assert_cmd "the record's manifest.json equals the drop box's" cmp "$record/manifest.json" "$out/manifest.json" ||
        return 1
    ! ls "$record" | grep -q '^vmcore' || vm_fail "the record of $id holds memory: $(ls "$record" | tr '\n' ' ')" ||
        return 1
    assert_contains "$record/upload-state.json" '"shipped" : true' "the record's upload state" || return 1
    assert_file "$out/report.json" "report.json beside $id in the SFTP drop box after the next boot" || return 1
    assert_cmd "the report in the drop box is the record's" cmp "$out/report.json" "$record/report.json" || return 1
    assert_cmd "report.txt in the drop box is the record's" cmp "$out/report.txt" "$record/report.txt" || return 1
    [[ ! -e $out/report.json.part && ! -e $out/report.txt.part ]] ||
        vm_fail "a .part file of the report is left in the drop box" || return 1
}

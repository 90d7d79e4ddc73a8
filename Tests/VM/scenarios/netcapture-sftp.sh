# netcapture-sftp: the capture kernel sends the dump over SFTP (`[Capture] Target=sftp://...`), with the
# `[Upload.NAME]` section and login key the service's own SFTP uploads use. The host starts the fleet's sshd on
# loopback (Tests/Fleet/servers.sh); the guest reaches it as 10.0.2.2 through QEMU user networking, with the same
# static address and default route as netcapture. One boot: oopsd arms (the initramfs gets virtio_net, the frozen
# address, the uploader with its libraries, libssh2 among them, the target and the key, root-only), sysrq panic;
# oopsd-capture sends dmesg.txt and metadata.json, streams the vmcore as it is written, then capture.log and
# manifest.json. The host reads the drop box: every file matches the manifest, dmesg.txt equals vmcore-dmesg's reading
# of the vmcore, vmcore-dmesg, makedumpfile and drgn read it, nothing was written to the guest's disk.
# The guest of netcapture (static address, oopsd armed, sysrq panic); its scenario_main is replaced below.
# shellcheck source=netcapture.sh
source "$(dirname "${BASH_SOURCE[0]}")/netcapture.sh"
SCENARIO_KERNELS="6.1"

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
    sshd_start >"$VM_RUN_DIR/sshd-start.log" 2>&1 ||
        vm_fail "sshd did not start: $(tail -n 3 "$VM_RUN_DIR/sshd-start.log" | tr '\n' ' ')" || return 1
    local dropbox=$FLEET_TMP/dropbox
    mkdir -p "$dropbox"

    local machine=5e1f0c0ffee000000000000000000043
    netcapture_guest_hook
    echo "$machine" >"$VM_STAGE/etc/machine-id"
    mkdir -p "$VM_STAGE/etc/oopsd/oopsd.conf.d"
    install -m 600 "$SSH_USER_KEY" "$VM_STAGE/etc/oopsd/sftp_key"
    install -m 644 "$SSH_USER_KEY.pub" "$VM_STAGE/etc/oopsd/sftp_key.pub"
    local url=sftp://root@10.0.2.2:$SSH_PORT$dropbox
    printf '[Capture]\nTarget=%s\n[Upload.dropbox]\nURL=%s\nKeyFile=/etc/oopsd/sftp_key\nHostKey=%s\n' \
        "$url" "$url" "$SSH_HOST_FINGERPRINT" >"$VM_STAGE/etc/oopsd/oopsd.conf.d/50-network.conf"
    VM_NET=52:54:00:0d:0e:10
    vm_build_disk || return 1

    vm_boot crash || return 1
    vm_expect_console 'OOPSD-VM: oopsd armed' "oopsd arming with Target=$url" || return 1
    netcapture_expect_sent 52:54:00:0d:0e:10 "the SFTP drop box" || return 1
    local out=$dropbox/$machine/$NETCAPTURE_ID
    assert_file "$out/manifest.json" "manifest.json of $NETCAPTURE_ID in the SFTP drop box" || return 1
    netcapture_check_dump "$out" "$machine" "the SFTP drop box" || return 1
}

# Loopback servers for the fleet tests: a single-node Ceph (one monitor, one memstore OSD, pool size 1)
# with radosgw, and an sshd with its own host key and user key. Sourced by Tests/Fleet/run and by the VM
# harness's netcapture scenarios.
# Everything lives under $FLEET_TMP; fleet_stop_all kills what was started (call it from a trap).

FLEET_PIDS=()

# fleet_install: installs the Debian packages of these servers and of the checks made against them, when missing
# (Tests/Fleet/run, and the VM harness's network capture scenarios, which may run first).
fleet_install() {
    "$(dirname "${BASH_SOURCE[0]}")/../../scripts/install-deps" ceph-mon ceph-osd radosgw ceph-common openssh-server \
        curl python3 libcurl4-openssl-dev uuid-runtime
}

# Starts the Ceph monitor and OSD, then radosgw on 127.0.0.1:$RGW_PORT, then creates the S3 user
# $S3_ACCESS_KEY/$S3_SECRET_KEY. Sets CEPH_CONF. A cluster whose OSD does not come up is stopped, and a new one is
# made, on another port, up to three clusters in all. (Until 2026-12-05 the OSD placed itself in the CRUSH map when
# it started; on a loaded host its command could leave before it had the monitor map, with fsid 0, and the monitor
# refused it, "wrong fsid", so the OSD never came up: 3 clusters in a row that day. The CRUSH entry is now made by
# the ceph CLI before the OSD starts.)
ceph_start() {
    local attempt
    for attempt in 1 2 3; do
        ceph_cluster_start && break
        ((attempt == 3)) && return 1
        echo "ceph: starting a new cluster (fsid, data, monitor port)"
        # The exit statuses of the killed daemons are not the test's (set -e would stop it here).
        kill "${CEPH_CLUSTER_PIDS[@]}" 2>/dev/null || true
        wait "${CEPH_CLUSTER_PIDS[@]}" 2>/dev/null || true
        rm -rf "$FLEET_TMP/ceph"
        MON_PORT=$(free_port)
    done
    rgw_start
    radosgw-admin -c "$CEPH_CONF" user create --uid=fleet --display-name=fleet \
        --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >"$FLEET_TMP/ceph/log/user.json"
}

# The monitor and the OSD of a new cluster under $FLEET_TMP/ceph; their PIDs in CEPH_CLUSTER_PIDS.
ceph_cluster_start() {
    local dir=$FLEET_TMP/ceph fsid
    fsid=$(uuidgen)
    mkdir -p "$dir"/mon "$dir"/osd/ceph-0 "$dir"/run "$dir"/log "$dir"/rgw
    CEPH_CONF=$dir/ceph.conf
    export CEPH_CONF
    cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
# The monitor refuses to start when the file system under its data has 5 % or less free (its default), and then
# every command and daemon after it waited 300 s for it (2026-12-08: a 252 GB disk with 13 GB free, the fleet
# tests stuck after the VM suite). Its data here are a few MB (the OSD keeps objects in memory).
mon_data_avail_crit = 0
mon_data_avail_warn = 0
osd_crush_chooseleaf_type = 0
[mon]
mon_data = $dir/mon/ceph-\$id
[osd]
osd_data = $dir/osd/ceph-\$id
osd_objectstore = memstore
memstore_device_bytes = ${MEMSTORE_BYTES:-6442450944}
osd_max_object_size = 1073741824
osd_crush_update_on_start = false
osd_class_update_on_start = false
[client.rgw.fleet]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $dir/rgw
rgw_dns_name = localhost
CONF
    monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$dir/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$dir/monmap" -c "$CEPH_CONF" >"$dir/log/mkfs-mon.out" 2>&1
    ceph-mon -f -i a -c "$CEPH_CONF" >"$dir/log/mon.out" 2>&1 &
    local mon_pid=$!
    CEPH_CLUSTER_PIDS=($mon_pid)
    FLEET_PIDS+=($mon_pid)
    # Each ceph command below waits for the monitor up to 300 s (client_mount_timeout): first make sure it runs
    # and answers, with a command cut at 10 s.
    local tries=0
    until timeout -k 5 10 ceph -c "$CEPH_CONF" mon stat >/dev/null 2>&1; do
        if ! kill -0 "$mon_pid" 2>/dev/null || ((++tries > 30)); then
            echo "ceph: the monitor $(kill -0 "$mon_pid" 2>/dev/null && echo "did not answer" || echo "exited");" \
                "the file system under it: $(df -h --output=avail,pcent "$dir" | tail -n 1); its last lines:"
            tail -n 5 "$dir/log/mon.out" "$dir/log/mon.a.log" 2>&1
            return 1
        fi
        sleep 0.5
    done
    # The OSD's own uuid is given to both: an osd.0 created without one can refuse the OSD at boot ("wrong fsid").
    local osd_uuid
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    timeout -k 5 60 ceph -c "$CEPH_CONF" osd create "$osd_uuid" >/dev/null
    timeout -k 5 60 ceph -c "$CEPH_CONF" osd crush add osd.0 1.0 root=default host=fleet >/dev/null 2>&1
    ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" -c "$CEPH_CONF" >"$dir/log/mkfs-osd.out" 2>&1
    ceph-osd -f -i 0 -c "$CEPH_CONF" >"$dir/log/osd.out" 2>&1 &
    local osd_pid=$!
    CEPH_CLUSTER_PIDS+=($osd_pid)
    FLEET_PIDS+=($osd_pid)
    tries=0
    until timeout -k 5 10 ceph -c "$CEPH_CONF" osd stat 2>/dev/null | grep -q '1 up'; do
        if ((++tries > 240)) || ! kill -0 "$osd_pid" 2>/dev/null || ! kill -0 "$mon_pid" 2>/dev/null; then
            echo "ceph: the OSD did not come up after $tries checks; the last lines of its log and the monitor's:"
            tail -n 15 "$dir/log/osd.out" "$dir/log/mon.out" 2>&1
            echo "ceph: what the monitor logged about OSD creation and fsids:"
            grep -h -e 'osd create' -e 'osd new' -e fsid -e 'osd crush' "$dir"/log/mon.*.log 2>/dev/null | tail -n 12
            return 1
        fi
        sleep 0.5
    done
}

# Starts radosgw (again) and waits until it answers HTTP. Sets RGW_PID.
rgw_start() {
    radosgw -f -n client.rgw.fleet -c "$CEPH_CONF" >>"$FLEET_TMP/ceph/log/rgw.out" 2>&1 &
    RGW_PID=$!
    FLEET_PIDS+=($RGW_PID)
    local tries=0
    until curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; do
        ((++tries > 240)) && { echo "radosgw did not answer on 127.0.0.1:$RGW_PORT; see $FLEET_TMP/ceph/log"; return 1; }
        sleep 0.25
    done
}

# Kills radosgw hard, as a crash would.
rgw_kill() {
    kill -9 "$RGW_PID" 2>/dev/null || true
    wait "$RGW_PID" 2>/dev/null || true
}

# Starts sshd on 127.0.0.1:$SSH_PORT for root with a generated user key; files under $FLEET_TMP/ssh.
# Sets SSH_HOST_FINGERPRINT (SHA256:...) and SSH_USER_KEY.
sshd_start() {
    local dir=$FLEET_TMP/ssh
    mkdir -p "$dir" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/user_key"
    SSH_USER_KEY=$dir/user_key
    cp "$dir/user_key.pub" "$dir/authorized_keys"
    cat >"$dir/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
CONF
    /usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
    FLEET_PIDS+=($!)
    SSH_HOST_FINGERPRINT=$(ssh-keygen -l -E sha256 -f "$dir/host_key.pub" | awk '{print $2}')
    local tries=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; do
        ((++tries > 40)) && { echo "sshd did not listen on 127.0.0.1:$SSH_PORT; see $dir/sshd.log"; return 1; }
        sleep 0.25
    done
}

# Kills everything started above, newest first.
fleet_stop_all() {
    local index
    for ((index = ${#FLEET_PIDS[@]} - 1; index >= 0; index--)); do
        kill "${FLEET_PIDS[index]}" 2>/dev/null || true
    done
    for pid in "${FLEET_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    FLEET_PIDS=()
}

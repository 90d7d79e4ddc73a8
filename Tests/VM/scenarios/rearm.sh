# rearm: oopsd keeps the machine armed as things change. One boot: oopsd arms; a second arm with unchanged
# inputs builds and loads nothing; a new drop-in re-arms with a new initramfs; a broken drop-in is reported and the
# last good configuration stays armed; stopping the service disarms.

scenario_main() {
    vm_guest_hook - <<'GUEST'
status_field() { sed -n "s/.*\"$1\" : \"\\([^\"]*\\)\".*/\\1/p" /run/oopsd/status.json | head -n 1 | sed 's#\\/#/#g'; }

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
    limit=$(($1 * 10)); shift; i=0
    until "$@"; do i=$((i + 1)); [ $i -gt $limit ] && return 1; sleep 0.1; done
}

guest_main() {
    mkdir -p /var/log
    t0=$(cut -d' ' -f1 /proc/uptime)
    /usr/sbin/oopsd >/var/log/oopsd.log 2>&1 &
    pid=$!
    wait_for 120 grep -q '"armed" : true' /run/oopsd/status.json 2>/dev/null || { vm_mark "not armed"; cat /var/log/oopsd.log; return 1; }
    vm_mark "armed after $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)s: loaded=$(cat /sys/kernel/kexec_crash_loaded) image=$(status_field sha256)"
    first=$(status_field sha256)

    t1=$(cut -d' ' -f1 /proc/uptime)
    vm_mark "second arm: $(oopsctl arm 2>&1 | head -n 1) in $(awk -v a="$t1" '{ printf "%.2f", $1 - a }' /proc/uptime)s"

    mkdir -p /etc/oopsd/oopsd.conf.d
    printf '[Capture]\nDumpLevel=1\n' >/etc/oopsd/oopsd.conf.d/50-rearm.conf
    wait_for 60 sh -c "[ \"\$(sed -n 's/.*\"sha256\" : \"\\([^\"]*\\)\".*/\\1/p' /run/oopsd/status.json | head -n 1)\" != $first ]" ||
        { vm_mark "no re-arm after the drop-in"; cat /var/log/oopsd.log; return 1; }
    second=$(status_field sha256)
    vm_mark "re-armed after a drop-in: loaded=$(cat /sys/kernel/kexec_crash_loaded) image=$second"

    printf '[Capture]\nDumpLevel=99\n' >/etc/oopsd/oopsd.conf.d/60-broken.conf
    wait_for 60 grep -q 'last good configuration' /run/oopsd/status.json ||
        { vm_mark "broken drop-in not reported"; cat /var/log/oopsd.log; return 1; }
    vm_mark "broken drop-in: loaded=$(cat /sys/kernel/kexec_crash_loaded) image=$(status_field sha256) message=$(status_field message)"
    oopsctl status | sed 's/^/status: /'
    vm_mark "estimate: $(oopsctl estimate | tail -n 2 | tr '\n' ' ')"

    kill -TERM $pid
    wait $pid
    vm_mark "stopped: status=$? loaded=$(cat /sys/kernel/kexec_crash_loaded)"
    cat /var/log/oopsd.log
}
GUEST
    vm_build_disk || return 1
    vm_boot rearm || return 1

    local armed second rearmed broken stopped first image
    armed=$(grep -o 'OOPSD-VM: armed after .*' "$VM_CONSOLE" | head -n 1)
    [[ -n $armed ]] || vm_fail "oopsd did not arm: $(grep 'OOPSD-VM' "$VM_CONSOLE" | tail -n 2 | tr '\n' ' ')" || return 1
    [[ $armed == *"loaded=1 "* ]] || vm_fail "first arm: $armed" || return 1
    first=${armed##*image=}
    vm_figure "start to armed (cold initramfs build)" "$(sed 's/.*armed after \([0-9.]*s\).*/\1/' <<<"$armed")"

    second=$(grep -o 'OOPSD-VM: second arm: .*' "$VM_CONSOLE" | head -n 1)
    [[ $second == *"already armed, unchanged: "*", cached)"* ]] ||
        vm_fail "a second arm with unchanged inputs must build and load nothing: $second" || return 1
    vm_figure "second arm (cached, nothing loaded)" "$(sed 's/.* in \([0-9.]*s\)$/\1/' <<<"$second")"

    rearmed=$(grep -o 'OOPSD-VM: re-armed after a drop-in: .*' "$VM_CONSOLE" | head -n 1)
    [[ -n $rearmed ]] || vm_fail "no re-arm after a new drop-in: $(grep 'OOPSD-VM' "$VM_CONSOLE" | tail -n 2 | tr '\n' ' ')" ||
        return 1
    image=${rearmed##*image=}
    [[ $rearmed == *"loaded=1 "* && $image != "$first" ]] || vm_fail "re-arm: $rearmed (first image $first)" || return 1

    broken=$(grep -o 'OOPSD-VM: broken drop-in: .*' "$VM_CONSOLE" | head -n 1)
    [[ -n $broken ]] || vm_fail "a broken drop-in was not reported: $(grep 'OOPSD-VM' "$VM_CONSOLE" | tail -n 2 | tr '\n' ' ')" ||
        return 1
    [[ $broken == *"loaded=1 image=$image message=armed with the last good configuration; fix /etc/oopsd/oopsd.conf.d/60-broken.conf:2"* ]] ||
        vm_fail "a broken drop-in must leave the last good configuration armed: $broken" || return 1
    vm_expect_console 'oopsd: configuration: /etc/oopsd/oopsd.conf.d/60-broken.conf:2: DumpLevel=99: expected 0..31' \
        "the journal line naming the broken file and line" || return 1

    local estimate
    estimate=$(grep -o 'OOPSD-VM: estimate: .*' "$VM_CONSOLE" | head -n 1)
    [[ $estimate == *"recommended               crashkernel="*"M the reservation of 256M suffices"* ]] ||
        vm_fail "oopsctl estimate with a 256M reservation: $estimate" || return 1
    vm_figure "oopsctl estimate" "${estimate#OOPSD-VM: estimate: }"

    stopped=$(grep -o 'OOPSD-VM: stopped: .*' "$VM_CONSOLE" | head -n 1)
    [[ $stopped == *"status=0 loaded=0"* ]] || vm_fail "stopping the service must disarm: $stopped"
}

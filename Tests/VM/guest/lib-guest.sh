# Helpers for scenario guest hooks (sourced by the busybox guest's /sbin/init under busybox sh, and by the systemd
# guest's /usr/local/sbin/oopsd-vm-guest under bash with coreutils: keep both working).
# Every line the host looks for starts with "OOPSD-VM: ".

# Print a marker line on the console. /dev/console, not stdout: a systemd service's stdout is the journal, and
# opening /dev/console never makes it the opener's controlling terminal (ttyS0 would).
vm_mark() { echo "OOPSD-VM: $*" >/dev/console; }

# One line with the memory figures the host records.
vm_meminfo() {
    vm_mark "meminfo $(awk '/^(MemTotal|MemFree|MemAvailable|Cached|AnonPages|Slab|HugePages_Total|HugePages_Free):/ {
        printf "%s%s ", $1, $2 }' /proc/meminfo)"
}

# Make the guest look like a busy server: page cache, anonymous memory (kept alive) and slab; ~330 MB each by default;
# and 2 MiB hugetlb pages, some in use and some free in the pool, every 4 KiB page starting with a marker the host
# finds in dumps (tools/marker_scan.py): "OOPSD-HUGETLB-INUSE <n>" in the pages a blocked process holds,
# "OOPSD-HUGETLB-FREED <n>" in the pool's free pages (it mapped, wrote and unmapped them; freeing does not clear).
#   vm_workload [cache_mb] [anon_mb] [files] [huge_in_use] [huge_free]
vm_workload() {
    cache_mb=${1:-320} anon_mb=${2:-320} files=${3:-40000} huge_in_use=${4:-8} huge_free=${5:-8}
    vm_meminfo
    # hugetlb first, while memory is not yet fragmented.
    if [ $((huge_in_use + huge_free)) -gt 0 ]; then
        echo $((huge_in_use + huge_free)) >/proc/sys/vm/nr_hugepages
        hugetlb-marker "$huge_in_use" "$huge_free" >/tmp/hugetlb-marker.log 2>&1 &
        while ! grep -q '^ready' /tmp/hugetlb-marker.log; do
            kill -0 $! 2>/dev/null || { vm_mark "hugetlb-marker failed: $(cat /tmp/hugetlb-marker.log)"; return 1; }
            sleep 0.2
        done
        vm_mark "workload: hugetlb $(cat /tmp/hugetlb-marker.log); $(grep -E '^HugePages_(Total|Free)' /proc/meminfo |
            tr -s ' \n' ' ')"
    fi
    mkdir -p /var/tmp/workload
    # Page cache: half random bytes, half text, written to disk then read back.
    dd if=/dev/urandom of=/var/tmp/workload/random bs=1M count=$((cache_mb / 2)) 2>/dev/null
    yes "oopsd workload line: $(uname -a)" | head -c 1048576 >/var/tmp/workload/chunk
    i=0
    while [ $i -lt $((cache_mb / 2)) ]; do cat /var/tmp/workload/chunk; i=$((i + 1)); done >/var/tmp/workload/text
    cat /var/tmp/workload/random /var/tmp/workload/text >/dev/null
    vm_mark "workload: page cache filled"
    # Anonymous memory: two dd processes each read half of it (from the files above) into one buffer, then block
    # for good writing into a pipe nobody reads, so the buffers stay allocated until the crash. Needs anon <= cache.
    half=$((anon_mb / 2))
    dd if=/var/tmp/workload/random bs=${half}M count=1 2>/dev/null | sleep 100000 &
    dd if=/var/tmp/workload/text bs=${half}M count=1 2>/dev/null | sleep 100000 &
    while :; do
        n=0
        for p in $(pidof dd); do
            [ "$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status")" -ge $((half * 1024 - 1024)) ] && n=$((n + 1))
        done
        [ $n -ge 2 ] && break
        sleep 0.2
    done
    vm_mark "workload: anonymous memory filled"
    # Slab: dentries and inodes of many small files on tmpfs.
    mkdir -p /tmp/slab
    (cd /tmp/slab && seq 1 "$files" | xargs touch)
    vm_mark "workload: slab filled"
    vm_meminfo
}

# Load the capture kernel with the harness's busybox-only baseline capture (kexec -p, kexec-tools).
#   vm_arm_baseline [extra capture command line]
vm_arm_baseline() {
    rel=$(uname -r)
    image=/boot/vmlinuz-$rel
    [ -f "$image" ] || image=/usr/lib/modules/$rel/vmlinuz  # Debian 7.x: no image in /boot
    kexec -s -p "$image" --initrd=/boot/oopsd-vm-initrd.cpio.gz \
        --append="console=ttyS0,115200 no_timer_check irqpoll nr_cpus=1 reset_devices panic=10 oopsd_vm.mode=capture-baseline $*" ||
        { vm_mark "kexec -p failed with status $?"; return 1; }
    vm_mark "capture kernel loaded: kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
}

# Crash the kernel the way the sysrq scenarios do; with CPU, on that CPU (taskset), else where the shell runs.
#   vm_crash_sysrq [cpu]
vm_crash_sysrq() {
    sync
    if [ -n "${1:-}" ]; then
        vm_mark "crashing via sysrq on CPU $1"
        taskset -c "$1" sh -c 'echo c >/proc/sysrq-trigger'
    else
        vm_mark "crashing via sysrq"
        echo c >/proc/sysrq-trigger
    fi
}

import SystemCalls

/// The one place that decides the capture kernel's command line.
///
/// Starts from the running kernel's `/proc/cmdline` so console, IOMMU and platform quirks carry over, drops
/// what would break or bloat a kernel living in the crash reservation, adds what the capture needs, and
/// appends the administrator's `[Kernel] CommandLine=` last so it can override anything.
public enum CaptureCommandLine {
    /// Parameters removed by name (after `-`→`_` normalisation), with the reason.
    public static let droppedNames: [String: String] = [
        "crashkernel": "the capture kernel has no reservation of its own",
        "crashkernel_low": "the capture kernel has no reservation of its own",
        "BOOT_IMAGE": "boot loader bookkeeping",
        "initrd": "the initramfs is passed to kexec_file_load",
        "root": "the capture runs from its initramfs; it mounts the dump target itself",
        "rootflags": "the capture does not mount the root filesystem",
        "rootfstype": "the capture chooses its rootfs (CaptureRootFileSystem)",
        "init": "the initramfs's /init is the capture program",
        "rdinit": "the initramfs's /init is the capture program",
        "resume": "never resume from hibernation in the capture kernel",
        "resume_offset": "never resume from hibernation in the capture kernel",
        "quiet": "the capture kernel's log is what a failed capture is debugged from",
        "splash": "no graphical boot",
        "hugepages": "would allocate huge pages out of the small reservation",
        "hugepagesz": "would allocate huge pages out of the small reservation",
        "default_hugepagesz": "would allocate huge pages out of the small reservation",
        "hugetlb_cma": "would reserve CMA out of the small reservation",
        "cma": "would reserve CMA out of the small reservation",
        "mem": "memory layout of the crashed kernel, not of the reservation",
        "memmap": "memory layout of the crashed kernel, not of the reservation",
        "movablecore": "memory layout of the crashed kernel, not of the reservation",
        "kernelcore": "memory layout of the crashed kernel, not of the reservation",
        "movable_node": "memory layout of the crashed kernel, not of the reservation",
        "numa": "replaced by numa=off",
        "efi_fake_mem": "memory layout of the crashed kernel, not of the reservation",
        "nr_cpus": "replaced by nr_cpus=<[Capture] CPUs=>",
        "maxcpus": "replaced by nr_cpus=<[Capture] CPUs=>",
        "possible_cpus": "replaced by nr_cpus=<[Capture] CPUs=>",
        "panic": "replaced by panic=<seconds>",
        "irqpoll": "added once",
        "reset_devices": "added once",
        "cgroup_disable": "replaced by cgroup_disable=memory",
    ]

    /// Parameters added after the kept ones (before `nr_cpus=`, `panic=` and the extra command line), and why.
    public static let added: [(parameter: String, reason: String)] = [
        ("irqpoll", "interrupts of devices the crashed kernel left half-configured may be shared or lost"),
        ("reset_devices", "drivers reset their hardware instead of trusting its state"),
        ("cgroup_disable=memory", "no memory-cgroup accounting structures in a reservation of a few dozen MiB"),
        ("numa=off", "one node: per-node structures cost memory and the reservation is contiguous"),
        ("acpi_no_memhotplug", "ACPI memory hotplug would add the crashed kernel's RAM to the capture kernel"),
    ]

    /// The capture command line derived from `running` (the text of `/proc/cmdline`).
    ///
    /// - Parameters:
    ///   - panicSeconds: reboot this many seconds after a panic of the capture kernel (never hang).
    ///   - cpus: `nr_cpus=` of the capture kernel (`[Capture] CPUs=`, default 1: per-CPU areas cost
    ///     reservation memory and the crashed kernel's other CPUs are stopped anyway).
    ///   - extra: the configured extra command line, appended verbatim last.
    ///   - rootFileSystem: `.ramfs` adds `rootfstype=ramfs` (see `CaptureRootFileSystem`).
    public static func derive(
        from running: String, panicSeconds: Int, cpus: Int = 1, extra: String = "",
        rootFileSystem: CaptureRootFileSystem = .tmpfs
    ) -> String {
        let parsed = KernelCommandLine(parsing: running)
        var kept = parsed.parameters.filter { droppedNames[$0.normalizedName] == nil }
        kept += added.map { KernelCommandLine.Parameter($0.parameter) }
        if rootFileSystem == .ramfs { kept.append(KernelCommandLine.Parameter("rootfstype=ramfs")) }
        kept.append(KernelCommandLine.Parameter("nr_cpus=\(cpus)"))
        kept.append(KernelCommandLine.Parameter("panic=\(panicSeconds)"))
        kept += KernelCommandLine(parsing: extra).parameters
        // Arguments after `--` belong to the crashed system's init, not to /init of the capture.
        let extraInit = KernelCommandLine(parsing: extra).initArguments
        return KernelCommandLine(parameters: kept, initArguments: extraInit).text
    }

    /// Reads `/proc/cmdline` under `root` and derives the capture command line from it.
    public static func derive(
        root: HostRoot, panicSeconds: Int, cpus: Int = 1, extra: String = "",
        rootFileSystem: CaptureRootFileSystem = .tmpfs
    ) throws -> String {
        let running = try FileSystem.readText(root.path("/proc/cmdline"))
        return derive(
            from: running, panicSeconds: panicSeconds, cpus: cpus, extra: extra, rootFileSystem: rootFileSystem)
    }
}

import CShim
import DumpFormat
import KernelInterfaces
import SystemCalls
import VMCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The capture as PID 1 of the capture initramfs: mount the basics, load the frozen module list,
/// find and mount the dump target by UUID, save the dump, sync, then reboot (or the configured
/// action). Any failure still ends in the failure action, after saving whatever could be saved.
public struct CaptureKernelRun {
    /// Where the initramfs keeps the plan.
    public var planPath = CapturePlan.pathInInitramfs
    /// Where the target is mounted.
    public var mountPoint = "/mnt/target"
    public var vmcorePath = "/proc/vmcore"
    /// How long to wait for the target's block device.
    public var deviceTimeoutSeconds = 30
    public let log = CaptureLog()

    public init() {}

    /// Runs the capture and performs the final or failure action; never returns.
    public func run() -> Never {
        DumpTargetMount.mountPseudoFileSystems(log: log.callAsFunction)
        log("oopsd-capture \(ToolVersion.current) as PID \(getpid()) in kernel \(Self.release())")
        log("memory: \(SystemMemory.summary())")
        let unpackFailure = InitramfsUnpack.failure()
        if let unpackFailure {
            log(
                "the kernel could not unpack the whole initramfs (\(unpackFailure)): the files at its end are missing "
                    + "or cut short")
        }
        let plan: CapturePlan
        do {
            plan = try CapturePlan(parsing: FileSystem.readText(planPath))
        } catch {
            log("cannot read the capture plan \(planPath): \(error); rebooting")
            finish(.reboot)
        }
        CaptureWatchdog.arm(seconds: plan.settings.timeoutSeconds, action: plan.settings.failureAction)
        let watchdogArmed = CaptureClock.monotonicNanoseconds()
        let local =
            plan.hasLocalTarget
            ? "target \(plan.targetType) UUID \(plan.targetUUID) directory \(plan.targetDirectory)"
            : "no local target for \(plan.directory), the network only"
        log(
            "plan: dump level \(plan.settings.dumpLevel.requested), format \(plan.settings.format.rawValue) (\(plan.settings.compression.rawValue)), \(local), timeout \(plan.settings.timeoutSeconds)s"
        )

        for module in plan.modules {
            do {
                let outcome = try ModuleLoader.load(path: module)
                log("module \(Path.lastComponent(module)): \(outcome == .loaded ? "loaded" : "already loaded")")
            } catch {
                log("module \(Path.lastComponent(module)): \(error)")
            }
        }
        // The module files are never read again and rootfs lives in the reservation's RAM: give their pages back.
        var freed: UInt64 = 0
        for module in plan.modules {
            let size = ((try? FileSystem.status(module, followLinks: false)) ?? nil)?.size ?? 0
            // Sound because `module` is bridged to a C string that lives for the call.
            if unsafe unlink(module) == 0 { freed += size }
        }
        log("removed the module files from the initramfs (\(freed / 1024) KiB); memory: \(SystemMemory.summary())")

        // To the network first when arming froze a network target; the local target, when there is one, is the
        // fallback, and its dump records why.
        var warnings: [String] = []
        if let network = frozenNetwork() {
            let seconds = UInt64(max(1, plan.settings.timeoutSeconds))
            guard var reason = captureToNetwork(network, plan: plan, seconds: seconds) else {
                finish(plan.settings.finalAction)
            }
            // The uploader sorts last in the archive (usr/libexec/...): a cut-short initramfs lacks it first.
            if let unpackFailure { reason += " (the kernel could not unpack the whole initramfs: \(unpackFailure))" }
            log("network capture failed: \(reason)")
            guard plan.hasLocalTarget else {
                log("no local dump target to fall back to: the dump is lost; failure action")
                finish(plan.settings.failureAction)
            }
            warnings.append("the capture to the network failed (\(reason)); saved on the local target instead")
        } else if !plan.hasLocalTarget {
            log("the plan has no local dump target and this initramfs no network target: nowhere to save the dump")
            finish(plan.settings.failureAction)
        }

        guard
            let device = DumpTargetMount.findDevice(
                uuid: plan.targetUUID, timeoutSeconds: deviceTimeoutSeconds, log: log.callAsFunction)
        else { finish(plan.settings.failureAction) }
        do {
            try DumpTargetMount.mount(device: device, type: plan.targetType, at: mountPoint)
            log("mounted \(device) (\(plan.targetType)) on \(mountPoint)")
        } catch {
            log("cannot mount the dump target: \(error)")
            finish(plan.settings.failureAction)
        }

        let directory = Path.join(mountPoint, plan.targetDirectory)
        do {
            try FileSystem.makeDirectory(directory, mode: 0o700, parents: true)
        } catch {
            log("cannot create \(plan.directory): \(error)")
            finish(plan.settings.failureAction)
        }
        // The save's steps run in child processes and must end before the watchdog does: what is left of it.
        let elapsed = (CaptureClock.monotonicNanoseconds() - watchdogArmed) / 1_000_000_000
        let left =
            UInt64(max(0, plan.settings.timeoutSeconds)) > elapsed
            ? UInt64(max(0, plan.settings.timeoutSeconds)) - elapsed : 1
        let outcome = capture(into: directory, plan: plan, seconds: left, warnings: warnings)
        log("memory at the end: \(SystemMemory.summary()); oopsd-capture: \(SystemMemory.processSummary())")
        let action = outcome.isComplete ? plan.settings.finalAction : plan.settings.failureAction
        // The return kernel is read from the target, so it is loaded before the target is unmounted, and its
        // outcome goes into the dump's capture.log.
        let returnLoaded =
            action == .kexec
            && ReturnToProduction(mountPoint: mountPoint, log: log.callAsFunction).load(
                plan, dumpName: outcome.directory.map(Path.lastComponent))
        if let saved = outcome.directory { log.save(into: saved) }
        Glibc.sync()
        // Sound because `mountPoint` is bridged to a C string that lives for the call.
        if unsafe Glibc.umount(mountPoint) != 0 {
            log("cannot unmount \(mountPoint): \(SystemError("umount", errno: errno))")
        }
        finish(action, returnLoaded: returnLoaded)
    }

    /// Saves the dump into a new directory under `directory`, named after the crash time the vmcore records.
    /// The vmcore is opened once, here, and handed to the saver.
    /// `uploader`, given the dump's name, sends it to the network as it is saved; `warnings` are recorded in it.
    func capture(
        into directory: String, plan: CapturePlan, seconds: UInt64, warnings: [String] = [],
        uploader: (String) -> CaptureUploader? = { _ in nil }
    ) -> DumpSaver.Outcome {
        let opened: Result<ELFCore, any Error>
        do {
            opened = .success(try ELFCore.open(vmcorePath))
        } catch {
            opened = .failure(error)
        }
        let crashTime = (try? opened.get())?.vmcoreInfo?.crashTime ?? CaptureClock.epochSeconds()
        let name = DumpName.make(epochSeconds: crashTime, bootID: DumpName.currentBootID())
        // Threads: every CPU the capture kernel brought up (`nr_cpus=` from `[Capture] CPUs=`).
        var options = DumpSaver.Options(
            vmcorePath: vmcorePath, outputDirectory: Path.join(directory, name), dumpLevel: plan.settings.dumpLevel,
            format: plan.settings.format, compression: plan.settings.compression,
            breadcrumbAddress: Breadcrumb.address(inCommandLine: (try? FileSystem.readText("/proc/cmdline")) ?? ""),
            isolation: DumpSaver.Isolation(seconds: seconds, sysrqTrigger: "/proc/sysrq-trigger"))
        options.uploader = uploader(name)
        options.warnings = warnings
        return DumpSaver(options: options, log: log.callAsFunction).run(opened)
    }

    /// Performs `action`; kexec only when `returnLoaded` (the return kernel is in place), else a firmware reboot.
    private func finish(_ requested: FinalAction, returnLoaded: Bool = false) -> Never {
        CaptureWatchdog.disarm()
        var action = requested
        if action == .kexec && !returnLoaded {
            log("kexec: no return kernel is loaded; rebooting through the firmware")
            action = .reboot
        }
        log("\(action.rawValue) now")
        Glibc.sync()
        // Called directly rather than through FinalAction.perform(): a throwing `-> Never` inside
        // do/catch miscompiles in Swift 6.3 release builds (LLVM "swifterror" verifier failure).
        if oops_reboot(action.command) != 0 { log("\(SystemError("reboot(\(action.rawValue))", errno: oops_errno()))") }
        if action == .kexec, oops_reboot(FinalAction.reboot.command) != 0 {
            log("\(SystemError("reboot(reboot)", errno: oops_errno()))")
        }
        // reboot(2) failed: nothing else can be done; let the kernel's panic= reboot the machine.
        exit(1)
    }

    static func release() -> String {
        var names = utsname()
        // Sound because uname fills the local `names`; the release is read within its fixed-size field.
        unsafe uname(&names)
        return unsafe withUnsafeBytes(of: names.release) {
            unsafe String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}

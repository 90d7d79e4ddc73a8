import CShim
import KernelInterfaces
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds the dump target's file system by UUID among the capture kernel's block devices and mounts it.
public enum DumpTargetMount {
    /// Waits up to `timeoutSeconds` for a block device holding a file system with `uuid`; returns its
    /// device node (`/dev/vda1`). Devices appear as their drivers probe, so the scan repeats.
    public static func findDevice(
        uuid: String, timeoutSeconds: Int, log: (String) -> Void
    ) -> String? {
        let deadline = CaptureClock.monotonicNanoseconds() + UInt64(timeoutSeconds) * 1_000_000_000
        var reported = false
        repeat {
            for name in (try? FileSystem.listDirectory("/sys/class/block")) ?? [] {
                let node = "/dev/" + name
                if let identity = FileSystemIdentity.probe(device: node), identity.uuid == uuid {
                    return node
                }
            }
            if !reported {
                log("waiting for the file system with UUID \(uuid) to appear")
                reported = true
            }
            usleep(100_000)
        } while CaptureClock.monotonicNanoseconds() < deadline
        let seen = ((try? FileSystem.listDirectory("/sys/class/block")) ?? []).joined(separator: " ")
        log(
            "no block device holds the file system with UUID \(uuid) after \(timeoutSeconds)s; devices seen: \(seen.isEmpty ? "none" : seen)"
        )
        return nil
    }

    /// Mounts `device` (of `type`) read-write at `mountPoint`.
    public static func mount(device: String, type: String, at mountPoint: String) throws {
        try FileSystem.makeDirectory(mountPoint, mode: 0o700, parents: true)
        _ = try valueOrErrno("mount", path: "\(device) on \(mountPoint) (\(type))") {
            // Sound because the Strings are bridged to C strings that live for the call; no data argument.
            unsafe Glibc.mount(device, mountPoint, type, 0, nil)
        }
    }

    /// Mounts the kernel's pseudo file systems a PID 1 needs: /proc, /sys, /dev (devtmpfs).
    public static func mountPseudoFileSystems(log: (String) -> Void) {
        for (source, target, type) in [
            ("proc", "/proc", "proc"), ("sysfs", "/sys", "sysfs"), ("devtmpfs", "/dev", "devtmpfs"),
        ] {
            try? FileSystem.makeDirectory(target, mode: 0o755, parents: true)
            // Sound because the Strings are bridged to C strings that live for the call; no data argument.
            if unsafe Glibc.mount(source, target, type, 0, nil) != 0 {
                let error = oops_errno()
                if error != EBUSY { log("cannot mount \(type) on \(target): \(SystemError("mount", errno: error))") }
            }
        }
    }
}

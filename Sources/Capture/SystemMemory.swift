import SystemCalls

/// Memory figures from procfs, for the dump's metadata.
public enum SystemMemory {
    /// The process's peak resident set size in KiB (`VmHWM` of /proc/self/status).
    public static func peakResidentKiB(statusPath: String = "/proc/self/status") -> Int64? {
        field("VmHWM:", in: statusPath)
    }

    /// The memory available to new work in KiB (`MemAvailable` of /proc/meminfo).
    public static func availableKiB(meminfoPath: String = "/proc/meminfo") -> Int64? {
        field("MemAvailable:", in: meminfoPath)
    }

    /// The memory limit (`RLIMIT_DATA`, bytes) of a capture step's child process: its private writable memory at
    /// the fork (`VmData` of this process, which the child starts with as a copy-on-write image) plus what the
    /// system has left (`MemAvailable`) less `reserveKiB` for PID 1 and the kernel's writeback, but at least
    /// `minimumKiB` more, so that a tight reservation still lets a normal capture run. nil when /proc tells neither.
    public static func childDataLimitBytes(
        reserveKiB: Int64 = 8 << 10, minimumKiB: Int64 = 64 << 10, statusPath: String = "/proc/self/status",
        meminfoPath: String = "/proc/meminfo"
    ) -> UInt64? {
        guard let data = field("VmData:", in: statusPath), let available = availableKiB(meminfoPath: meminfoPath),
            data >= 0, available >= 0, data < 1 << 40, available < 1 << 40
        else { return nil }
        return UInt64(data + max(minimumKiB, available - reserveKiB)) * 1024
    }

    /// The memory the kernel gives this system, one log line: `MemTotal 49152 kB, MemFree 20480 kB, MemAvailable
    /// 18000 kB`, or why /proc/meminfo could not be read.
    public static func summary(meminfoPath: String = "/proc/meminfo") -> String {
        let keys = ["MemTotal", "MemFree", "MemAvailable"]
        guard FileSystem.exists(meminfoPath) else { return "\(meminfoPath) does not exist" }
        return keys.map { key in
            field(key + ":", in: meminfoPath).map { "\(key) \($0) kB" } ?? "\(key) unknown"
        }.joined(separator: ", ")
    }

    /// This process's memory, one log line: `VmHWM 9900 kB, VmRSS 9800 kB, RssAnon 2100 kB, RssFile 7700 kB, RssShmem
    /// 0 kB` (the executable's pages count as file pages from a ramfs rootfs, as shmem from a tmpfs one).
    public static func processSummary(statusPath: String = "/proc/self/status") -> String {
        ["VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"].map { key in
            field(key + ":", in: statusPath).map { "\(key) \($0) kB" } ?? "\(key) unknown"
        }.joined(separator: ", ")
    }

    /// The number after `key` on its line (`VmHWM:     5812 kB` gives 5812).
    static func field(_ key: String, in path: String) -> Int64? {
        guard let text = try? FileSystem.readText(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let number = line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }.prefix { $0.isNumber }
            return Int64(number)
        }
        return nil
    }
}

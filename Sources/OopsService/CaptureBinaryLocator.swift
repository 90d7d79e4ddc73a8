import SystemCalls

/// Finds the `oopsd-capture` executable that goes into the capture initramfs.
public enum CaptureBinaryLocator {
    /// Where packages install it.
    public static let installed = "/usr/libexec/oopsd/oopsd-capture"

    /// The installed one when it exists under `root`, else the one beside the running executable
    /// (a build tree), else the installed path (arming then reports it missing).
    public static func locate(root: HostRoot) -> String {
        if FileSystem.exists(root.path(installed)) { return installed }
        if let me = try? FileSystem.readLink("/proc/self/exe") {
            let sibling = Path.join(Path.parent(me), "oopsd-capture")
            if FileSystem.exists(sibling) {
                // A path inside the root is wanted; a build tree outside it is used as is.
                return root.prefix.isEmpty || !sibling.hasPrefix(root.prefix)
                    ? sibling : String(sibling.dropFirst(root.prefix.count))
            }
        }
        return installed
    }
}

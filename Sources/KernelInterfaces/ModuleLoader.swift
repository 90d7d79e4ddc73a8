import CShim
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Loads kernel modules from files with finit_module(2) (the capture side loads its frozen module list).
public enum ModuleLoader {
    /// What happened to one module.
    public enum Outcome: Equatable, Sendable {
        /// The module was loaded.
        case loaded
        /// EEXIST: the module was already loaded (or built in under the same name).
        case alreadyLoaded
    }

    /// Whether a file name is a compressed module that needs `MODULE_INIT_COMPRESSED_FILE`.
    public static func isCompressed(_ path: String) -> Bool {
        path.hasSuffix(".ko.xz") || path.hasSuffix(".ko.zst") || path.hasSuffix(".ko.gz")
    }

    /// Loads the module at `path` with `parameters`; compressed files (`.ko.xz`, `.ko.zst`, `.ko.gz`) are
    /// passed with MODULE_INIT_COMPRESSED_FILE so the kernel decompresses them (CONFIG_MODULE_DECOMPRESS).
    public static func load(path: String, parameters: String = "") throws -> Outcome {
        let fd = try FileDescriptor.open(path)
        defer { try? fd.close() }
        let flags = isCompressed(path) ? Int32(OOPS_MODULE_INIT_COMPRESSED_FILE) : Int32(0)
        while true {
            // Sound because the C string lives for the call.
            let result = unsafe parameters.withCString { unsafe oops_finit_module(fd.rawValue, $0, flags) }
            if result == 0 { return .loaded }
            let error = oops_errno()
            if error == EINTR { continue }
            if error == EEXIST { return .alreadyLoaded }
            throw SystemError("finit_module", path: path, errno: error)
        }
    }
}

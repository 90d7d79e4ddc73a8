import CKmod
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// libkmod over one module tree (`<root>/lib/modules/<release>`, indexes made by depmod): resolves aliases and
/// names to module files, dependencies and `pre:` softdeps. The only file that touches libkmod's pointers.
// Sound because the kmod context is private, made in init and unreferenced only in deinit.
@safe public final class KernelModuleIndex {
    /// A module as libkmod knows it.
    public struct Module: Equatable, Hashable, Sendable {
        /// The module name (`virtio_blk`).
        public var name: String
        /// The file, absolute on the host (inside the root); nil for a module built into the kernel.
        public var path: String?
    }

    /// The module directory in use.
    public let directory: String
    private let context: OpaquePointer

    /// Opens the tree for `release` under `root` (`/lib/modules/<release>`, or `/usr/lib/modules/<release>` where
    /// only that has the indexes: a tree without the merged-/usr link), reading modprobe configuration under the
    /// same root.
    public init(root: HostRoot, release: String) throws(InitramfsError) {
        let directory =
            ["/lib/modules/\(release)", "/usr/lib/modules/\(release)"].map { root.path($0) }
            .first { FileSystem.exists(Path.join($0, "modules.dep.bin")) } ?? root.path("/lib/modules/\(release)")
        self.directory = directory
        guard FileSystem.exists(Path.join(directory, "modules.dep.bin")) else {
            throw .module(
                name: release,
                message: "\(directory)/modules.dep.bin is missing: run depmod -b \(root) \(release) (kmod)")
        }
        let configDirectories = ["/etc/modprobe.d", "/run/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d"].map {
            root.path($0)
        }
        // Sound because the strdup copies live until the deferred free and the array is NULL-ended.
        var cStrings: [UnsafeMutablePointer<CChar>?] = unsafe configDirectories.map { unsafe strdup($0) }
        defer { for index in unsafe cStrings.indices { unsafe free(cStrings[index]) } }
        unsafe cStrings.append(nil)
        // libkmod copies the configuration paths while parsing; the C strings outlive kmod_new.
        let created = unsafe cStrings.withUnsafeBufferPointer { buffer in
            unsafe buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                unsafe kmod_new(directory, $0)
            }
        }
        guard let created = unsafe created else {
            throw .module(name: release, message: "kmod_new failed for \(directory)")
        }
        unsafe context = unsafe created
        let loaded = unsafe kmod_load_resources(context)
        if loaded < 0 {
            unsafe kmod_unref(context)
            throw .module(name: release, message: "kmod_load_resources(\(directory)) failed: errno \(-loaded)")
        }
    }

    // Sound because deinit runs once, after the last lookup.
    deinit { unsafe kmod_unref(context) }

    /// The modules an alias, modalias or module name stands for (empty when nothing matches).
    public func lookup(_ alias: String) throws(InitramfsError) -> [Module] {
        var list: OpaquePointer?
        // Sound because the list lives until the deferred unref; names are bridged for the call.
        let result = unsafe kmod_module_new_from_lookup(context, alias, &list)
        if result < 0 { throw .module(name: alias, message: "lookup failed: errno \(-result)") }
        defer { unsafe kmod_module_unref_list(list) }
        return unsafe Self.modules(in: list)
    }

    /// The modules `module` depends on (from modules.dep), and its `pre:` softdeps, each resolved.
    public func requirements(
        of module: Module
    ) throws(InitramfsError) -> (dependencies: [Module], preSoftdeps: [Module]) {
        var handle: OpaquePointer?
        // Sound because each handle and list lives until its deferred unref, after its last read.
        let result = unsafe kmod_module_new_from_name(context, module.name, &handle)
        guard result >= 0, let handle = unsafe handle else {
            throw .module(name: module.name, message: "not in \(directory)")
        }
        defer { unsafe kmod_module_unref(handle) }
        let dependencyList = unsafe kmod_module_get_dependencies(handle)
        defer { unsafe kmod_module_unref_list(dependencyList) }
        let dependencies = unsafe Self.modules(in: dependencyList)
        var pre: OpaquePointer?
        var post: OpaquePointer?
        _ = unsafe kmod_module_get_softdeps(handle, &pre, &post)
        defer {
            unsafe kmod_module_unref_list(pre)
            unsafe kmod_module_unref_list(post)
        }
        var softdeps: [Module] = []
        for name in unsafe Self.modules(in: pre).map(\.name) { softdeps += try lookup(name) }
        return (dependencies, softdeps)
    }

    private static func modules(in list: OpaquePointer?) -> [Module] {
        var modules: [Module] = []
        // Sound because the caller holds the list; each module is unreferenced after its strings are copied.
        var entry = unsafe list
        while let current = unsafe entry {
            if let module = unsafe kmod_module_get_module(current) {
                let name = unsafe String(cString: kmod_module_get_name(module))
                let path = unsafe kmod_module_get_path(module).map { unsafe String(cString: $0) }
                modules.append(Module(name: name, path: path))
                unsafe kmod_module_unref(module)
            }
            unsafe entry = unsafe kmod_list_next(list, current)
        }
        return modules
    }
}

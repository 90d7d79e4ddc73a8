import CKmod
import SystemCalls

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// libkmod over one module tree (`<root>/lib/modules/<release>`, indexes made by depmod): resolves aliases and
/// names to module files, dependencies and `pre:` softdeps. The only file that touches libkmod's pointers.
public final class KernelModuleIndex {
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
        var cStrings: [UnsafeMutablePointer<CChar>?] = configDirectories.map { strdup($0) }
        defer { for pointer in cStrings { free(pointer) } }
        cStrings.append(nil)
        // libkmod copies the configuration paths while parsing; the C strings outlive kmod_new.
        let created = cStrings.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                kmod_new(directory, $0)
            }
        }
        guard let created else { throw .module(name: release, message: "kmod_new failed for \(directory)") }
        context = created
        let loaded = kmod_load_resources(context)
        if loaded < 0 {
            kmod_unref(context)
            throw .module(name: release, message: "kmod_load_resources(\(directory)) failed: errno \(-loaded)")
        }
    }

    deinit { kmod_unref(context) }

    /// The modules an alias, modalias or module name stands for (empty when nothing matches).
    public func lookup(_ alias: String) throws(InitramfsError) -> [Module] {
        var list: OpaquePointer?
        let result = kmod_module_new_from_lookup(context, alias, &list)
        if result < 0 { throw .module(name: alias, message: "lookup failed: errno \(-result)") }
        defer { kmod_module_unref_list(list) }
        return Self.modules(in: list)
    }

    /// The modules `module` depends on (from modules.dep), and its `pre:` softdeps, each resolved.
    public func requirements(
        of module: Module
    ) throws(InitramfsError) -> (dependencies: [Module], preSoftdeps: [Module]) {
        var handle: OpaquePointer?
        let result = kmod_module_new_from_name(context, module.name, &handle)
        guard result >= 0, let handle else { throw .module(name: module.name, message: "not in \(directory)") }
        defer { kmod_module_unref(handle) }
        let dependencyList = kmod_module_get_dependencies(handle)
        defer { kmod_module_unref_list(dependencyList) }
        let dependencies = Self.modules(in: dependencyList)
        var pre: OpaquePointer?
        var post: OpaquePointer?
        _ = kmod_module_get_softdeps(handle, &pre, &post)
        defer {
            kmod_module_unref_list(pre)
            kmod_module_unref_list(post)
        }
        var softdeps: [Module] = []
        for name in Self.modules(in: pre).map(\.name) { softdeps += try lookup(name) }
        return (dependencies, softdeps)
    }

    private static func modules(in list: OpaquePointer?) -> [Module] {
        var modules: [Module] = []
        var entry = list
        while let current = entry {
            if let module = kmod_module_get_module(current) {
                let name = String(cString: kmod_module_get_name(module))
                let path = kmod_module_get_path(module).map { String(cString: $0) }
                modules.append(Module(name: name, path: path))
                kmod_module_unref(module)
            }
            entry = kmod_list_next(list, current)
        }
        return modules
    }
}

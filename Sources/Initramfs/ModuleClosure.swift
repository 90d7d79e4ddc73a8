/// The kernel modules to put in the capture initramfs, in load order: each module after its dependencies and
/// `pre:` softdeps; modules built into the kernel are left out (they need no file).
public struct ModuleClosure: Equatable, Sendable {
    /// Modules with files, in the order to load them.
    public var modules: [KernelModuleIndex.Module]
    /// Names asked for that are built into the kernel.
    public var builtIn: [String]

    /// Resolves `required` (module names or aliases that must exist) and `optional` (device modaliases, which
    /// may match nothing, e.g. a PCI bridge) in the given index.
    public init(required: [String], optional: [String], index: KernelModuleIndex) throws(InitramfsError) {
        var ordered: [KernelModuleIndex.Module] = []
        var visited: Set<String> = []
        var builtIn: [String] = []

        func visit(_ module: KernelModuleIndex.Module) throws(InitramfsError) {
            guard !visited.contains(module.name) else { return }
            visited.insert(module.name)
            guard module.path != nil else {
                builtIn.append(module.name)
                return
            }
            let (dependencies, softdeps) = try index.requirements(of: module)
            for softdep in softdeps { try visit(softdep) }
            for dependency in dependencies { try visit(dependency) }
            ordered.append(module)
        }

        for name in required {
            var found = try index.lookup(name)
            // A file system registers the alias fs-<type>; older trees may only know the module name.
            if found.isEmpty && name.hasPrefix("fs-") { found = try index.lookup(String(name.dropFirst(3))) }
            if found.isEmpty {
                throw .module(name: name, message: "no module or alias of that name in \(index.directory)")
            }
            for module in found { try visit(module) }
        }
        for alias in optional {
            for module in try index.lookup(alias) { try visit(module) }
        }
        self.modules = ordered
        self.builtIn = builtIn
    }
}

import SystemCalls

/// The shared libraries an executable needs, found the way ld.so finds them but by reading the files with
/// libelf (no `ldd`): the interpreter, then `DT_NEEDED` recursively, searched in `DT_RPATH` (when there is
/// no `DT_RUNPATH`), `DT_RUNPATH` and the default directories, skipping files of another class or machine.
public struct LibraryClosure: Equatable, Sendable {
    /// A file to copy, with the symlinks that lead to it.
    public struct Item: Equatable, Sendable {
        /// How it was asked for (interpreter path or library name).
        public var name: String
        /// The path ld.so would open, inside the root.
        public var path: String
        /// Where that path leads after symlinks.
        public var resolution: HostPathResolver.Resolution
    }

    /// The interpreter and libraries, in discovery order (breadth first from the executable).
    public var items: [Item]

    /// The default search directories, in ld.so's order on Debian x86_64 (multiarch first).
    public static let defaultDirectories = [
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    ]

    /// Computes the closure of `executable` (absolute, inside `root`).
    public init(
        executable: String, root: HostRoot, searchDirectories: [String] = LibraryClosure.defaultDirectories
    ) throws(InitramfsError) {
        let resolver = HostPathResolver(root: root)
        let top = try ElfDynamicInfo.read(path: root.path(executable))
        var items: [Item] = []
        var seenNames: Set<String> = []
        if let interpreter = top.interpreter {
            guard let resolution = try resolver.resolve(interpreter) else {
                throw .libraryNotFound(name: interpreter, neededBy: executable, searched: ["PT_INTERP"])
            }
            items.append(Item(name: interpreter, path: interpreter, resolution: resolution))
            seenNames.insert(Path.lastComponent(interpreter))
        }
        var queue: [(path: String, info: ElfDynamicInfo)] = [(executable, top)]
        while !queue.isEmpty {
            let (objectPath, info) = queue.removeFirst()
            let origin = Path.parent(objectPath)
            func expand(_ directory: String) -> String {
                directory.replacing("$ORIGIN", with: origin).replacing("${ORIGIN}", with: origin)
            }
            let directories =
                (info.runPath.isEmpty ? info.rPath.map(expand) : []) + info.runPath.map(expand) + searchDirectories
            for name in info.needed where !seenNames.contains(name) {
                seenNames.insert(name)
                var found: (String, HostPathResolver.Resolution, ElfDynamicInfo)?
                if name.contains("/") {
                    if let resolution = try resolver.resolve(name) {
                        found = (name, resolution, try ElfDynamicInfo.read(path: root.path(resolution.realPath)))
                    }
                } else {
                    for directory in directories {
                        let candidate = Path.join(directory, name)
                        guard let resolution = try resolver.resolve(candidate) else { continue }
                        let candidateInfo = try ElfDynamicInfo.read(path: root.path(resolution.realPath))
                        if candidateInfo.elfClass == top.elfClass && candidateInfo.machine == top.machine {
                            found = (candidate, resolution, candidateInfo)
                            break
                        }
                    }
                }
                guard let (path, resolution, libraryInfo) = found else {
                    throw .libraryNotFound(name: name, neededBy: objectPath, searched: directories)
                }
                items.append(Item(name: name, path: path, resolution: resolution))
                queue.append((resolution.realPath, libraryInfo))
            }
        }
        self.items = items
    }
}

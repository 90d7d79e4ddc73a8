import SystemCalls

/// Resolves absolute paths inside a `HostRoot` component by component, the way the kernel would inside that
/// root, and records every symlink met so the initramfs can keep them (`lib64 -> usr/lib64`, soname links).
public struct HostPathResolver: Sendable {
    /// The root the paths live in.
    public var root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// A path and the symlinks crossed to reach its file.
    public struct Resolution: Equatable, Sendable {
        /// The final path, with no symlink in it (absolute, inside the root).
        public var realPath: String
        /// Every symlink crossed, as (absolute link path inside the root, link text).
        public var links: [(path: String, target: String)]

        public static func == (a: Resolution, b: Resolution) -> Bool {
            a.realPath == b.realPath && a.links.map(\.path) == b.links.map(\.path)
                && a.links.map(\.target) == b.links.map(\.target)
        }
    }

    /// Resolves `path` (absolute, inside the root); nil when it does not exist.
    public func resolve(_ path: String) throws(InitramfsError) -> Resolution? {
        var pending = path.split(separator: "/").map(String.init)
        var done: [String] = []
        var links: [(String, String)] = []
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                if !done.isEmpty { done.removeLast() }
                continue
            }
            let candidate = "/" + (done + [component]).joined(separator: "/")
            let status: FileStatus?
            do { status = try FileSystem.status(root.path(candidate), followLinks: false) } catch {
                throw .file(doing: "resolving \(path)", cause: SystemError(caught: error))
            }
            guard let status else { return nil }
            if status.kind == .symlink {
                hops += 1
                if hops > 40 { throw .symlinkLoop(path: root.path(path), limit: 40) }
                let target: String
                do { target = try FileSystem.readLink(root.path(candidate)) } catch {
                    throw .file(doing: "resolving \(path)", cause: SystemError(caught: error))
                }
                links.append((candidate, target))
                if target.hasPrefix("/") { done = [] }
                pending = target.split(separator: "/").map(String.init) + pending
            } else {
                done.append(component)
            }
        }
        return Resolution(realPath: "/" + done.joined(separator: "/"), links: links)
    }
}

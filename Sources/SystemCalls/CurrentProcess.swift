import CShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The running process: its id and user, leaving it, and replacing it with another program.
public enum CurrentProcess {
    /// getpid(2).
    public static var id: Int32 { getpid() }
    /// geteuid(2): the user whose permissions the process has.
    public static var effectiveUserID: UInt32 { geteuid() }

    /// Ends the process with `status` (exit(3): buffered output is flushed).
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }

    /// Whether `descriptor` is a terminal (isatty(3)).
    public static func isTerminal(_ descriptor: FileDescriptor) -> Bool { isatty(descriptor.rawValue) == 1 }

    /// Replaces the process with `arguments[0]` (execv(3), no PATH search); returns only by throwing.
    public static func execute(_ arguments: [String]) throws -> Never {
        precondition(!arguments.isEmpty, "execute needs the program as its first argument")
        // Sound because each strdup copy lives until the deferred free; execv reads the NULL-ended array.
        let pointers = unsafe arguments.map { unsafe strdup($0) } + [nil]
        defer { for index in unsafe pointers.indices { unsafe free(pointers[index]) } }
        unsafe execv(arguments[0], pointers)
        throw SystemError.last("execv", path: arguments[0])
    }
}

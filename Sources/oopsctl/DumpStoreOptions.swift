import ArgumentParser
import Collection
import OopsConfig
import SystemCalls

/// How the dump commands find the dump directory and turn collection errors into exit statuses.
enum DumpCommandSupport {
    /// Exit status when the dump directory or a dump's file cannot be read, or an export fails.
    static let failure: Int32 = 1
    /// Exit status when the ID matches no dump, or several.
    static let noSuchDump: Int32 = 2

    /// The help text shared by the commands that take an ID.
    static let idHelp = ArgumentHelp(
        "The dump: its directory name, a unique prefix of it, or -1 for the newest, -2 for the one before...",
        valueName: "id")

    /// The exit-status paragraph of the dump commands' help.
    static let exitStatus = """
        Exit status: 0 on success; 1 when the dump directory or a file of the dump cannot be read, or the \
        command could not do its work; 2 when the ID matches no dump or more than one.
        """

    /// Checks that exactly one ID was given.
    static func validateOneID(_ ids: [String]) throws {
        if ids.isEmpty { throw ValidationError("give the ID of a dump (see 'oopsctl list'), or -1 for the newest") }
        if ids.count > 1 { throw ValidationError("give one dump ID, not \(ids.count): \(ids.joined(separator: " "))") }
    }

    /// The dump store of `[Capture] Directory=` under the host root.
    static func store(_ global: GlobalOptions) -> DumpStore {
        let root = global.hostRoot
        let configuration = OopsConfiguration(MergedConfiguration.load(root: root))
        return DumpStore(directory: root.path(configuration.capture.directory))
    }

    /// Runs `body`, printing a collection error to standard error and exiting with its status.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CollectionError {
            printError("oopsctl: \(error)")
            switch error {
            case .unknownID, .ambiguousID, .indexOutOfRange: throw ExitCode(noSuchDump)
            default: throw ExitCode(failure)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("oopsctl: \(error)")
            throw ExitCode(failure)
        }
    }
}

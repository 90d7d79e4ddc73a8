/// Why a file could not be read, kept whole for the domain error that wraps it: the system call that failed (with
/// its path and errno), or what the file is instead of a regular file.
public enum FileReadError: Error, Equatable, CustomStringConvertible, Sendable {
    case system(SystemError)
    case notRegular(FileKindError)

    /// What a reader of this module threw: a `SystemError`, or a `FileKindError` from the `*RegularFile` readers.
    public init(caught error: any Error) {
        if let error = error as? FileKindError {
            self = .notRegular(error)
        } else {
            self = .system(SystemError(caught: error))
        }
    }

    /// The system call's error, when a call failed.
    public var systemError: SystemError? {
        if case .system(let error) = self { error } else { nil }
    }

    public var description: String {
        switch self {
        case .system(let error): error.description
        case .notRegular(let error): error.description
        }
    }
}

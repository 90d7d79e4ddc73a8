import CCurl
import SystemCalls

#if canImport(Glibc)
import Glibc  // SEEK_SET, the origin curl's seek callback passes; no call
#endif

/// Where a request's body comes from: nothing, bytes in memory, or a range of an open file read as curl asks for
/// it (so a multi-GB dump never sits in memory).
package enum RequestBody {
    case none
    case bytes([UInt8])
    case file(descriptor: FileDescriptor, offset: UInt64, length: UInt64)
    /// Read to its end, length unknown (SFTP only: S3 wants lengths, `S3StreamUpload` sends parts instead).
    case stream(StreamSource)

    /// The bytes to send; 0 for a stream, whose length is not known.
    package var length: UInt64 {
        switch self {
        case .none, .stream: 0
        case .bytes(let bytes): UInt64(bytes.count)
        case .file(_, _, let length): length
        }
    }

    /// Whether the body is a stream: no length, no seeking back.
    package var isStream: Bool {
        if case .stream = self { return true }
        return false
    }
}

/// One libcurl request: HTTP(S) (with AWS SigV4 signing) or SFTP.
package struct CurlRequest {
    package var url: String
    /// GET, PUT, POST, DELETE, HEAD; for SFTP a body means upload.
    package var method = "GET"
    package var headers: [String] = []
    package var body = RequestBody.none
    /// `aws:amz:REGION:s3`: curl signs the request (CURLOPT_AWS_SIGV4) with `userPassword` = `ACCESS:SECRET`.
    package var awsSigV4: String?
    package var userPassword: String?
    /// Bytes per second (CURLOPT_MAX_SEND_SPEED_LARGE).
    package var maxRate: UInt64?
    package var sshPrivateKey: String?
    package var sshPublicKey: String?
    /// Base64 SHA-256 of the server's host key (CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256); required for SFTP.
    package var sshHostKeySHA256: String?
    /// SFTP: create missing directories of the path (CURLOPT_FTP_CREATE_MISSING_DIRS).
    package var createMissingDirectories = false
    /// SFTP commands run after the transfer (`rename A B`).
    package var postQuote: [String] = []
    /// SFTP: -1 appends to what the server already holds (CURLOPT_RESUME_FROM_LARGE), seeking the body to match.
    package var resumeFrom: Int64?
    /// Answers longer than this are cut (they are XML or errors; downloads use `responseFile`).
    package var responseBodyLimit = 1 << 20
    /// True: an answer longer than `responseBodyLimit` ends the transfer with an error instead of being cut (a small
    /// file read whole: nothing beyond the limit is received).
    package var failBeyondLimit = false
    /// SFTP: a directory's URL (ending in "/") lists its names only, one a line (CURLOPT_DIRLISTONLY).
    package var listNamesOnly = false
    /// Where to write the response body instead of memory.
    package var responseFile: FileDescriptor?
    /// Called with the bytes of the body sent so far.
    package var progress: ((UInt64) -> Void)?
    /// Bytes curl hands to the protocol at once (CURLOPT_UPLOAD_BUFFERSIZE, 16 KiB to 2 MiB; curl's default 64 KiB).
    package var uploadBufferSize: Int?

    package init(url: String) { self.url = url }
}

/// What the server answered.
package struct CurlResponse {
    package var status: Int
    /// Header names in lower case, in the order received (of the final response).
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    /// The first header called `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    package var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A request that did not complete: curl's code and its error text.
package struct CurlFailure: Error, CustomStringConvertible {
    package var code: Int
    package var message: String
    /// True for CURLE_PEER_FAILED_VERIFICATION (SSH host key or TLS certificate refused).
    package var isPeerVerification: Bool { code == Int(CURLE_PEER_FAILED_VERIFICATION.rawValue) }
    /// True for CURLE_REMOTE_FILE_NOT_FOUND (SFTP: no such file or directory).
    package var isNotFound: Bool { code == Int(CURLE_REMOTE_FILE_NOT_FOUND.rawValue) }
    /// The code `Curl.perform` throws when an answer is longer than `CurlRequest.responseBodyLimit` allows.
    package static let beyondLimit = -3
    package var description: String { message }
}

/// libcurl's easy interface behind one function; this file alone touches curl's pointers.
package enum Curl {
    private static let initialized: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// A new easy handle, nil when libcurl could not be initialised.
    fileprivate static func initializedHandle() -> UnsafeMutableRawPointer? {
        guard initialized else { return nil }
        return unsafe curl_easy_init()
    }

    /// The libcurl version text (`libcurl/7.88.1 OpenSSL/3.0 ... libssh2/1.10.0`).
    // Sound because curl_version returns a static NUL-terminated string, copied at once.
    package static var version: String { unsafe String(cString: curl_version()) }

    /// Performs `request` synchronously: on a handle of its own, or on `session`'s (reusing its connection).
    package static func perform(_ request: CurlRequest, session: CurlSession? = nil) throws(CurlFailure) -> CurlResponse
    {
        if let session {
            guard let handle = unsafe session.handle else {
                throw CurlFailure(code: -1, message: "libcurl could not be initialised")
            }
            // Sound because the session keeps its handle until it is released, after this call returns.
            unsafe curl_easy_reset(handle)
            return try unsafe perform(request, on: handle)
        }
        // Sound because the handle lives until the defer, after the transfer returns.
        guard initialized, let handle = unsafe curl_easy_init() else {
            throw CurlFailure(code: -1, message: "libcurl could not be initialised")
        }
        defer { unsafe curl_easy_cleanup(handle) }
        return try unsafe perform(request, on: handle)
    }

    /// Performs `request` on `handle`, whose options are curl's defaults.
    @unsafe private static func perform(
        _ request: CurlRequest, on handle: UnsafeMutableRawPointer
    ) throws(CurlFailure) -> CurlResponse {
        // Sound because the lists and retained context live until the defers, after curl_easy_perform returns.
        let context = TransferContext(request: request)
        // The context outlives the transfer: it is released after curl_easy_perform returns.
        let opaque = unsafe Unmanaged.passRetained(context).toOpaque()
        defer { unsafe Unmanaged<TransferContext>.fromOpaque(opaque).release() }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        var quoteList: UnsafeMutablePointer<curl_slist>? = nil
        defer {
            unsafe curl_slist_free_all(headerList)
            unsafe curl_slist_free_all(quoteList)
        }
        // Sound because curl copies string options; the error buffer (CURL_ERROR_SIZE + 1) is borrowed for the perform.
        let code: CURLcode = unsafe errorBuffer.withUnsafeMutableBufferPointer { errors in
            _ = unsafe oops_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            _ = unsafe oops_curl_set_string(handle, CURLOPT_URL, request.url)
            _ = unsafe oops_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = unsafe oops_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, 15)
            // A server that stops answering mid-transfer is given up after 60 s below 1 byte/s.
            _ = unsafe oops_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = unsafe oops_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, 60)
            _ = unsafe oops_curl_set_pointer(handle, CURLOPT_WRITEDATA, opaque)
            _ = unsafe oops_curl_set_data_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback)
            _ = unsafe oops_curl_set_pointer(handle, CURLOPT_HEADERDATA, opaque)
            _ = unsafe oops_curl_set_data_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback)
            for header in request.headers { unsafe headerList = unsafe curl_slist_append(headerList, header) }
            _ = unsafe oops_curl_set_list(handle, CURLOPT_HTTPHEADER, headerList)
            if let signing = request.awsSigV4 { _ = unsafe oops_curl_set_string(handle, CURLOPT_AWS_SIGV4, signing) }
            if let userPassword = request.userPassword {
                _ = unsafe oops_curl_set_string(handle, CURLOPT_USERPWD, userPassword)
            }
            if let rate = request.maxRate {
                _ = unsafe oops_curl_set_offset(handle, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(rate))
            }
            if let size = request.uploadBufferSize {
                _ = unsafe oops_curl_set_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, size)
            }
            if let key = request.sshPrivateKey {
                _ = unsafe oops_curl_set_string(handle, CURLOPT_SSH_PRIVATE_KEYFILE, key)
            }
            if let key = request.sshPublicKey {
                _ = unsafe oops_curl_set_string(handle, CURLOPT_SSH_PUBLIC_KEYFILE, key)
            }
            if let pin = request.sshHostKeySHA256 {
                _ = unsafe oops_curl_set_string(handle, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, pin)
                _ = unsafe oops_curl_set_long(handle, CURLOPT_SSH_AUTH_TYPES, Int(CURLSSH_AUTH_PUBLICKEY))
            }
            if request.listNamesOnly { _ = unsafe oops_curl_set_long(handle, CURLOPT_DIRLISTONLY, 1) }
            if request.createMissingDirectories {
                _ = unsafe oops_curl_set_long(handle, CURLOPT_FTP_CREATE_MISSING_DIRS, Int(CURLFTP_CREATE_DIR.rawValue))
            }
            if !request.postQuote.isEmpty {
                for command in request.postQuote { unsafe quoteList = unsafe curl_slist_append(quoteList, command) }
                _ = unsafe oops_curl_set_list(handle, CURLOPT_POSTQUOTE, quoteList)
            }
            let isSFTP = request.url.hasPrefix("sftp://")
            switch (request.method, request.body) {
            case ("HEAD", _):
                _ = unsafe oops_curl_set_long(handle, CURLOPT_NOBODY, 1)
            case (_, .none) where request.method == "GET":
                break
            case (let method, .none):
                _ = unsafe oops_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
                if method == "POST" || method == "PUT" {
                    _ = unsafe oops_curl_set_long(handle, CURLOPT_UPLOAD, 1)
                    _ = unsafe oops_curl_set_offset(handle, CURLOPT_INFILESIZE_LARGE, 0)
                    _ = unsafe oops_curl_set_pointer(handle, CURLOPT_READDATA, opaque)
                    _ = unsafe oops_curl_set_data_callback(handle, CURLOPT_READFUNCTION, readCallback)
                }
            case (let method, let body):
                _ = unsafe oops_curl_set_long(handle, CURLOPT_UPLOAD, 1)
                if !isSFTP && method != "PUT" { _ = unsafe oops_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method) }
                _ = unsafe oops_curl_set_offset(
                    handle, CURLOPT_INFILESIZE_LARGE, body.isStream ? -1 : curl_off_t(body.length))
                _ = unsafe oops_curl_set_pointer(handle, CURLOPT_READDATA, opaque)
                _ = unsafe oops_curl_set_data_callback(handle, CURLOPT_READFUNCTION, readCallback)
                _ = unsafe oops_curl_set_pointer(handle, CURLOPT_SEEKDATA, opaque)
                _ = unsafe oops_curl_set_seek_callback(handle, seekCallback)
                if let resume = request.resumeFrom {
                    _ = unsafe oops_curl_set_offset(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t(resume))
                }
            }
            if request.progress != nil {
                _ = unsafe oops_curl_set_long(handle, CURLOPT_NOPROGRESS, 0)
                _ = unsafe oops_curl_set_pointer(handle, CURLOPT_XFERINFODATA, opaque)
                _ = unsafe oops_curl_set_progress_callback(handle, progressCallback)
            }
            return unsafe curl_easy_perform(handle)
        }
        if let failure = context.failure { throw failure }
        guard code == CURLE_OK else {
            var message = String(
                decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Sound because curl_easy_strerror returns a static string; getinfo fills the local `status`.
            if message.isEmpty { message = unsafe String(cString: curl_easy_strerror(code)) }
            throw CurlFailure(code: Int(code.rawValue), message: message)
        }
        var status = 0
        _ = unsafe oops_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return CurlResponse(status: status, headers: context.headers, body: context.body)
    }
}

/// One libcurl handle kept for several requests: its connections stay open between them, so requests to one server
/// log in once (an SFTP request on a handle of its own is an SSH handshake and login each). One request at a time.
// Sound because the handle is made in init, cleaned up only in deinit, and used by `Curl.perform` alone meanwhile.
@safe package final class CurlSession {
    fileprivate let handle: UnsafeMutableRawPointer?

    package init() { unsafe handle = unsafe Curl.initializedHandle() }

    deinit {
        // Sound because nothing uses the handle after its session is gone.
        if let handle = unsafe handle { unsafe curl_easy_cleanup(handle) }
    }
}

/// The state curl's callbacks share for one transfer.
private final class TransferContext {
    let request: CurlRequest
    /// Bytes of the body handed to curl (from the start of the body, after any seek).
    var sent: UInt64 = 0
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var failure: CurlFailure?

    init(request: CurlRequest) { self.request = request }
}

private func context(_ pointer: UnsafeMutableRawPointer?) -> TransferContext {
    // Sound because curl passes back the opaque context `perform` retains until the transfer ends.
    unsafe Unmanaged<TransferContext>.fromOpaque(pointer!).takeUnretainedValue()
}

// Sound because curl's buffer holds `capacity >= wanted` bytes, and `start + wanted` is within the body.
private let readCallback: oops_curl_data_callback = { buffer, size, count, pointer in
    let transfer = unsafe context(pointer)
    let capacity = size * count
    if case .stream(let source) = transfer.request.body {
        do {
            let got = try unsafe source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: capacity))
            transfer.sent += UInt64(got)
            return got
        } catch {
            transfer.failure = CurlFailure(code: -2, message: "\(error)")
            return Int(CURL_READFUNC_ABORT)
        }
    }
    let remaining = transfer.request.body.length - transfer.sent
    let wanted = Int(min(UInt64(capacity), remaining))
    if wanted == 0 { return 0 }
    switch transfer.request.body {
    case .none, .stream: return 0
    case .bytes(let bytes):
        let start = Int(transfer.sent)
        unsafe bytes.withUnsafeBytes { raw in
            // Copies `wanted` bytes into curl's buffer of `capacity` >= wanted bytes.
            unsafe UnsafeMutableRawPointer(buffer!).copyMemory(from: raw.baseAddress! + start, byteCount: wanted)
        }
        transfer.sent += UInt64(wanted)
        return wanted
    case .file(let descriptor, let offset, _):
        // pread into curl's buffer, which holds `capacity` >= `wanted` bytes.
        let got: Int
        do {
            got = try unsafe descriptor.read(
                into: UnsafeMutableRawBufferPointer(start: buffer, count: wanted), atOffset: offset + transfer.sent)
        } catch {
            transfer.failure = CurlFailure(
                code: -2, message: "reading the dump at offset \(offset + transfer.sent): \(error)")
            return Int(CURL_READFUNC_ABORT)
        }
        if got == 0 {
            transfer.failure = CurlFailure(
                code: -2, message: "reading the dump at offset \(offset + transfer.sent): the file ended early")
            return Int(CURL_READFUNC_ABORT)
        }
        transfer.sent += UInt64(got)
        return got
    }
}

// Sound because the context pointer is the one `perform` keeps retained (see `context`).
private let seekCallback: oops_curl_seek_callback = { pointer, offset, origin in
    let transfer = unsafe context(pointer)
    guard origin == SEEK_SET, offset >= 0, UInt64(offset) <= transfer.request.body.length,
        !transfer.request.body.isStream || transfer.sent == 0
    else {
        return Int32(CURL_SEEKFUNC_CANTSEEK)
    }
    transfer.sent = UInt64(offset)
    return Int32(CURL_SEEKFUNC_OK)
}

// Sound because curl's buffer holds `length` bytes for the duration of the call.
private let writeCallback: oops_curl_data_callback = { buffer, size, count, pointer in
    let transfer = unsafe context(pointer)
    let length = size * count
    if let file = transfer.request.responseFile {
        // `buffer` holds `length` bytes for the duration of the call.
        do { try unsafe file.writeAll(UnsafeRawBufferPointer(start: buffer, count: length)) } catch { return 0 }
        return length
    }
    let room = max(0, transfer.request.responseBodyLimit - transfer.body.count)
    if transfer.request.failBeyondLimit && length > room {
        transfer.failure = CurlFailure(
            code: CurlFailure.beyondLimit,
            message: "the answer is larger than \(transfer.request.responseBodyLimit) bytes")
        return 0
    }
    // `buffer` holds `length` bytes for the duration of the call.
    unsafe transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: min(room, length)))
    return length
}

// Sound because curl's buffer holds `length` bytes for the duration of the call.
private let headerCallback: oops_curl_data_callback = { buffer, size, count, pointer in
    let transfer = unsafe context(pointer)
    let length = size * count
    let line = unsafe String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        transfer.headers = []  // a new response (after 100 Continue or a redirect)
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimming(" \t\r\n")
        transfer.headers.append((name, value))
    }
    return length
}

// Sound because the context pointer is the one `perform` keeps retained (see `context`).
private let progressCallback: oops_curl_progress_callback = { pointer, _, _, _, uploaded in
    let transfer = unsafe context(pointer)
    transfer.request.progress?(UInt64(max(0, uploaded)))
    return 0
}

extension StringProtocol {
    /// The text without leading and trailing characters of `set`.
    package func trimming(_ set: String) -> String {
        // By scalars: "\r\n" is one Character, so a Character test would miss a lone "\n".
        let unwanted = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, unwanted.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, unwanted.contains(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

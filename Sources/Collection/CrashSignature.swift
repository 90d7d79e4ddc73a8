import Digest

/// A stable fingerprint of a crash: SHA-256 of its normalized top frames, so the same bug crashing on many machines
/// (different KASLR offsets, builds, offsets inside functions) groups together.
public struct CrashSignature: Equatable, Sendable {
    /// How many frames after filtering go into the hash.
    public static let frameCount = 5

    /// Frames that say how the kernel reported the crash, not where it happened.
    public static let reportingHelpers: Set<String> = [
        "dump_stack", "dump_stack_lvl", "show_stack", "show_trace_log_lvl", "show_regs", "__show_regs",
        "panic", "vpanic", "nmi_panic", "__crash_kexec", "crash_kexec", "crash_setup_regs", "machine_crash_shutdown",
        "native_machine_crash_shutdown", "crash_save_cpu", "printk", "_printk", "vprintk", "vprintk_emit",
        "vprintk_default", "console_unlock", "__warn", "warn_slowpath_fmt", "report_bug", "handle_bug",
        "exc_invalid_op", "asm_exc_invalid_op", "die", "__die", "__die_body", "die_body", "oops_end", "oops_begin",
        "page_fault_oops", "kernelmode_fixup_or_oops", "__bad_area_nosemaphore", "bad_area_nosemaphore",
        "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault", "do_trap", "do_error_trap",
        "exc_general_protection", "asm_exc_general_protection", "no_context", "die_addr", "notify_die",
        "atomic_notifier_call_chain", "notifier_call_chain", "oopsd_die_notify",
    ]

    /// The function names that were hashed, in order.
    public var frames: [String]
    /// The hex SHA-256 of `frames` joined by newlines.
    public var hash: String

    /// The signature of a crash whose innermost-first function names are `functions`; falls back to `fallback`
    /// (e.g. the panic line with numbers masked) when no frame survives the filter.
    public init(functions: [String], fallback: String?) {
        var kept: [String] = []
        for name in functions {
            let base = CrashSignature.normalize(name)
            if CrashSignature.reportingHelpers.contains(base) { continue }
            if kept.last == base { continue }
            kept.append(base)
            if kept.count == CrashSignature.frameCount { break }
        }
        if kept.isEmpty, let fallback { kept = [CrashSignature.maskNumbers(fallback)] }
        frames = kept
        var sha = SHA256()
        sha.update(kept.joined(separator: "\n"))
        hash = sha.hexDigest()
    }

    /// Drops compiler suffixes (`.cold`, `.isra.0`, `.constprop.0`, `.part.0`) so builds agree.
    public static func normalize(_ name: String) -> String {
        guard let dot = name.firstIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// Replaces hex and decimal numbers with `N` (`address: 0000000000000008` → `address: N`).
    public static func maskNumbers(_ text: String) -> String {
        var result = ""
        var inNumber = false
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let startsHex = character == "0" && index + 1 < characters.count && characters[index + 1] == "x"
            if character.isNumber || (inNumber && character.isHexDigit) || startsHex {
                if !inNumber { result.append("N") }
                inNumber = true
                index += startsHex ? 2 : 1
                continue
            }
            // A hex word like "ffffa8c0" with no digit first stays as text: only runs that start with a digit count.
            inNumber = false
            result.append(character)
            index += 1
        }
        return result
    }
}

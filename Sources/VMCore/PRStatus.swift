/// One CPU's state at the crash: the x86_64 `struct elf_prstatus` of a `CORE`/`NT_PRSTATUS` note.
public struct PRStatus: Equatable, Sendable {
    /// `pr_cursig`: the signal being delivered (0 for a crash-kernel stop).
    public var currentSignal: UInt16
    /// `pr_pid`: the task running on the CPU.
    public var pid: Int32
    /// `pr_reg`: the 27 registers in `user_regs_struct` order (see `RegisterName`).
    public var registers: [UInt64]

    /// Size of the x86_64 `struct elf_prstatus`.
    public static let size = 336
    /// Offset of `pr_reg` in it.
    public static let registersOffset = 112

    /// The registers of x86_64 `user_regs_struct`, in their order in `pr_reg`.
    public enum RegisterName: Int, CaseIterable, Sendable {
        case r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, origRax, rip, cs, eflags, rsp,
            ss, fsBase, gsBase, ds, es, fs, gs
    }

    /// The value of `register`.
    public subscript(register: RegisterName) -> UInt64 { registers[register.rawValue] }

    /// Decodes the descriptor of an `NT_PRSTATUS` note.
    public init(note: ELFNote, path: String) throws(ELFCoreError) {
        let bytes = note.descriptor
        guard bytes.count >= PRStatus.size else {
            throw ELFCoreError(
                path: path,
                .shortPRStatus(
                    noteOffset: note.fileOffset, size: bytes.count, expected: PRStatus.size))
        }
        currentSignal = bytes.littleEndian(UInt16.self, at: 12)!
        pid = bytes.littleEndian(Int32.self, at: 32)!
        registers = RegisterName.allCases.map {
            bytes.littleEndian(UInt64.self, at: PRStatus.registersOffset + 8 * $0.rawValue)!
        }
    }
}

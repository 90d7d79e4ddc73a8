import KernelInterfaces
import OopsConfig

/// How much `crashkernel=` memory a capture needs, and whether the current reservation suffices.
///
/// The parts: the capture kernel image as loaded (`init_size` of its bzImage header), the compressed
/// initramfs (held until unpacked) and its unpacked files (they live in RAM, in rootfs), the kernel's
/// own running memory, and the capture program's peak use — measured by `oopsd-capture` and stored
/// in each dump's metadata, or an assumed figure until a dump exists — plus a margin.
public struct ReservationEstimate: Equatable, Sendable {
    /// Memory the capture kernel uses for itself once booted with one CPU (page tables, slab, per-CPU
    /// areas, device drivers). Debian 6.1 under QEMU at crashkernel=96M left 26 MiB of 48 MiB total to
    /// user space with a 1.2 MiB initramfs (field notes §8), so ~48 MiB went to the image and the kernel.
    public static let kernelRuntime: UInt64 = 40 << 20
    /// Capture peak assumed until a dump's metadata reports a measured one.
    public static let assumedCapturePeak: UInt64 = 16 << 20

    public var kernelImageBytes: UInt64
    public var initramfsBytes: UInt64
    public var unpackedBytes: UInt64
    public var capturePeakBytes: UInt64
    /// True when `capturePeakBytes` was measured in a dump rather than assumed.
    public var capturePeakMeasured: Bool
    /// Percentage added on top, for drivers and fragmentation.
    public var marginPercent: UInt64 = 20

    public init(
        kernelImageBytes: UInt64, initramfsBytes: UInt64, unpackedBytes: UInt64, capturePeakBytes: UInt64?
    ) {
        self.kernelImageBytes = kernelImageBytes
        self.initramfsBytes = initramfsBytes
        self.unpackedBytes = unpackedBytes
        self.capturePeakBytes = capturePeakBytes ?? Self.assumedCapturePeak
        self.capturePeakMeasured = capturePeakBytes != nil
    }

    /// The sum of the parts before the margin.
    public var neededBytes: UInt64 {
        kernelImageBytes + initramfsBytes + unpackedBytes + Self.kernelRuntime + capturePeakBytes
    }

    /// The recommended reservation: the need plus the margin, rounded up to 16 MiB.
    public var recommendedBytes: UInt64 {
        let withMargin = neededBytes + neededBytes * marginPercent / 100
        let step: UInt64 = 16 << 20
        return (withMargin + step - 1) / step * step
    }

    /// `crashkernel=NNNM`.
    public var recommendedParameter: String { "crashkernel=\(recommendedBytes >> 20)M" }

    /// A sentence comparing the recommendation with what is reserved.
    public func verdict(reservedBytes: UInt64) -> String {
        if reservedBytes == 0 {
            return
                "no memory is reserved: add \(recommendedParameter) to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot"
        }
        if reservedBytes >= recommendedBytes {
            return
                "the reservation of \(ByteSize.format(reservedBytes)) suffices (recommended \(ByteSize.format(recommendedBytes)))"
        }
        return
            "the reservation of \(ByteSize.format(reservedBytes)) is too small: use \(recommendedParameter) and reboot"
    }
}

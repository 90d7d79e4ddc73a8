import DumpFormat
import SystemCalls

/// Which page frames a dump keeps: the frames the core holds (`present`), and of those the ones the dump level
/// does not leave out (`kept`). Zero pages are not decided here (the writers check page contents).
public struct PageSelection: Sendable {
    /// The level as applied (lowered, with a warning, when the kernel's layout could not be read).
    public var level: DumpLevel
    /// Frames backed by PT_LOAD file data.
    public var present: PageBitmap
    /// Frames to write (a subset of `present`).
    public var kept: PageBitmap
    /// Frames left out per category (indexed by `PageClassifier.Category.rawValue`).
    public var excluded: [UInt64]
    /// Things the user should know (fallbacks, unreadable struct pages).
    public var warnings: [String] = []

    /// Frames left out in `category`.
    public func count(_ category: PageClassifier.Category) -> UInt64 { excluded[category.rawValue] }
    /// One past the highest present frame.
    public var endPfn: UInt64 { present.count }
}

/// Selects pages for a dump level from the crashed kernel's `struct page` array (through VMCOREINFO: sparse
/// memory sections, vmemmap translated through the kernel page tables, page flags and types).
public enum PageSelector {
    /// The page frames covered by `core`'s PT_LOAD file data (partial pages count).
    public static func presentFrames(of core: ELFCore, pageSize: UInt64 = 4096) -> PageBitmap {
        let end =
            core.loadSegments.map { ($0.header.physicalAddress + $0.header.fileSize + pageSize - 1) / pageSize }
            .max() ?? 0
        var bitmap = PageBitmap(count: end)
        for (_, segment) in core.loadSegments where segment.fileSize > 0 {
            bitmap.insert(segment.frames(pageSize: pageSize))
        }
        return bitmap
    }

    /// Selects the pages of `core` for `level`. Never throws: when the layout cannot be read, the struct-page bits
    /// are dropped from the applied level (a less filtered, never a wrong dump) and the reason is in `warnings`.
    /// The walk is shared by `threads` threads (0: one per CPU it may run on).
    public static func select(_ core: ELFCore, level: DumpLevel, threads: Int = 0) -> PageSelection {
        let present = presentFrames(of: core)
        var selection = PageSelection(
            level: level, present: present, kept: present,
            excluded: [UInt64](repeating: 0, count: PageClassifier.Category.allCases.count))
        guard level.needsPageWalk else { return selection }
        do {
            guard let info = core.vmcoreInfo else {
                throw VMCoreInfoError(key: "VMCOREINFO", purpose: "classifying pages (the core has no VMCOREINFO note)")
            }
            let layout = try PageLayout(info)
            let sections = try MemSection.all(in: core, below: present.count).filter { $0.firstPfn < present.count }
            let template = PageClassifier(layout: layout, level: level.applied)
            // Contiguous shares of the sections, one per thread, each starting on a section (a multiple of 64).
            let shares = split(
                sections, frames: present.count, into: threads > 0 ? threads : ParallelWorkers.availableCPUs)
            var results = [SelectionShare?](repeating: nil, count: shares.count)
            // Sound because `results` has one slot per share and is borrowed only until run joins the workers.
            unsafe results.withUnsafeMutableBufferPointer { results in
                // Sound because each worker writes only its own slot, and the buffer outlives run, which joins them.
                nonisolated(unsafe) let results = unsafe results
                ParallelWorkers.run(count: shares.count) { worker in
                    unsafe results[worker] = classify(
                        core, sections: shares[worker].sections, range: shares[worker].range,
                        present: present, layout: layout, template: template)
                }
            }
            var kept = present
            var unreadable: UInt64 = 0
            var classifiers: [PageClassifier] = []
            for (share, result) in zip(shares, results) {
                let result = result!
                if let error = result.error { throw error }
                kept.replace(with: result.kept, at: share.range.lowerBound)
                unreadable += result.unreadable
                classifiers.append(result.classifier)
            }
            // A compound page that runs past the end of one share: its tail frames, kept by the next share's
            // classifier (tails are never judged alone), are left out with it.
            for index in classifiers.indices.dropLast() {
                classifiers[index].finishBlock(in: shares[index + 1].range.lowerBound..<present.count, of: &kept)
            }
            selection.kept = kept
            selection.excluded = PageClassifier.Category.allCases.map { category in
                classifiers.reduce(0) { $0 + $1.count(category) }
            }
            let invalidFreeBlocks = classifiers.reduce(0) { $0 + $1.invalidFreeBlocks }
            if unreadable > 0 {
                selection.warnings.append(
                    "\(unreadable) pages of struct page array were not mapped by the kernel's "
                        + "page tables; the frames they describe were kept")
            }
            if invalidFreeBlocks > 0 {
                selection.warnings.append(
                    "\(invalidFreeBlocks) free pages had an order beyond LENGTH(zone.free_area) or were not "
                        + "aligned to their block's size, and were kept")
            }
        } catch {
            selection.level = level.lowered(
                removing: DumpLevel.structPageBits,
                because:
                    "cannot read the crashed kernel's page descriptors (\(error)); cache, user and free pages are kept")
            selection.warnings.append(selection.level.warning!)
        }
        return selection
    }

    /// One thread's part of the walk: its sections and the frames they describe.
    struct Share {
        var sections: [MemSection]
        var range: Range<UInt64>
    }

    /// What one thread found.
    struct SelectionShare {
        var kept: PageBitmap
        var classifier: PageClassifier
        var unreadable: UInt64 = 0
        var error: (any Error)?
    }

    /// Cuts `sections` (in pfn order) into at most `count` contiguous shares of about equal frames; each share's
    /// range runs from its first section's first frame to the next share's (the last one to `frames`).
    static func split(_ sections: [MemSection], frames: UInt64, into count: Int) -> [Share] {
        guard !sections.isEmpty else { return [] }
        let total = sections.reduce(UInt64(0)) { $0 + min($1.pageCount, frames - $1.firstPfn) }
        let target = max(1, total / UInt64(max(1, count)))
        var groups: [[MemSection]] = [[]]
        var inGroup: UInt64 = 0
        for section in sections {
            if inGroup >= target && groups.count < count && section.firstPfn % 64 == 0 {
                groups.append([])
                inGroup = 0
            }
            groups[groups.count - 1].append(section)
            inGroup += min(section.pageCount, frames - section.firstPfn)
        }
        let starts = groups.enumerated().map { $0.offset == 0 ? 0 : $0.element[0].firstPfn }
        return groups.indices.map { index in
            Share(
                sections: groups[index], range: starts[index]..<(index + 1 < starts.count ? starts[index + 1] : frames))
        }
    }

    /// Classifies the frames of one share into a copy of its part of `present`.
    static func classify(
        _ core: ELFCore, sections: [MemSection], range: Range<UInt64>, present: PageBitmap, layout: PageLayout,
        template: PageClassifier
    ) -> SelectionShare {
        var classifier = template
        classifier.bitmapBase = range.lowerBound
        var result = SelectionShare(kept: present.part(range), classifier: classifier)
        var buffer = [UInt8]()
        var maps = true
        do {
            for section in sections {
                let frames = min(section.pageCount, range.upperBound - section.firstPfn)
                let byteCount = Int(frames) * layout.size
                // Sound because the map lies inside the file (checked) and is unmapped only after the scan.
                if maps, let map = unsafe mapStructPages(core, at: section.memMap, count: byteCount, canMap: &maps) {
                    defer { unsafe map.unmap() }
                    unsafe result.classifier.scan(map.bytes, firstPfn: section.firstPfn, into: &result.kept)
                    continue
                }
                if buffer.count != byteCount { buffer = [UInt8](repeating: 0, count: byteCount) }
                result.unreadable += try readStructPages(core, at: section.memMap, into: &buffer)
                // Sound because the bytes are borrowed from `buffer` only for the scan.
                unsafe buffer.withUnsafeBytes {
                    unsafe result.classifier.scan($0, firstPfn: section.firstPfn, into: &result.kept)
                }
            }
        } catch {
            result.error = error
        }
        return result
    }

    /// The `count` bytes of struct pages at vmemmap address `address` mapped straight from the file, when one leaf of
    /// the page tables maps them all (vmemmap uses 2 MiB leaves, and a section's array, 2 MiB with 64-byte struct
    /// pages, starts on one) and one segment stores them all in the file; nil otherwise, or when the file cannot be
    /// mapped (`canMap` is then cleared), and `readStructPages` reads them piece by piece. No copy, and no read of
    /// /proc/vmcore one old-memory page at a time.
    static func mapStructPages(_ core: ELFCore, at address: UInt64, count: Int, canMap: inout Bool) -> MemoryMap? {
        guard count > 0, let leaf = try? core.pageTableMapping(address), leaf.contiguousBytes >= UInt64(count),
            let offset = core.fileOffset(physical: leaf.physical, count: UInt64(count))
        else { return nil }
        // Sound because the range is inside the file (checked above), so no byte of the view raises SIGBUS.
        guard let map = unsafe try? MemoryMap.map(core.file, offset: offset, count: count) else {
            canMap = false
            return nil
        }
        return unsafe map
    }

    /// Reads the struct pages at vmemmap address `address` into `buffer` through the page tables: each 4 KiB piece
    /// of the array from the file offset of its physical address, pieces that follow each other in the file read at
    /// once, and one page-table walk per leaf mapping (vmemmap is mapped in 2 MiB leaves). Returns the number of
    /// 4 KiB pieces that were not mapped or not in the file (left zero: zero struct pages are kept).
    static func readStructPages(_ core: ELFCore, at address: UInt64, into buffer: inout [UInt8]) throws -> UInt64 {
        var unreadable: UInt64 = 0
        // The leaf mapping of the last walk: virtual start, physical start, bytes.
        var leaf: (virtual: UInt64, physical: UInt64, count: UInt64)?
        // Pieces whose file bytes follow each other, read together: buffer start, file offset, piece ends.
        var run: (start: Int, fileOffset: UInt64, ends: [Int]) = (0, 0, [])
        func readRun() throws {
            guard let end = run.ends.last else { return }
            let count = end - run.start
            var got = 0
            while got < count {
                // Sound because `run.start + count <= buffer.count`: every piece end is clamped to the buffer.
                let read = try unsafe buffer.withUnsafeMutableBytes { raw in
                    try unsafe core.file.read(
                        into: UnsafeMutableRawBufferPointer(rebasing: raw[(run.start + got)..<(run.start + count)]),
                        atOffset: run.fileOffset + UInt64(got))
                }
                if read == 0 { break }
                got += read
            }
            // A piece the file ends in is zeroed from where the file ended and counted, as one read of it would be.
            var pieceStart = run.start
            for pieceEnd in run.ends {
                if run.start + got < pieceEnd {
                    for index in max(pieceStart, run.start + got)..<pieceEnd { buffer[index] = 0 }
                    unreadable += 1
                }
                pieceStart = pieceEnd
            }
            run.ends.removeAll(keepingCapacity: true)
        }
        var done = 0
        while done < buffer.count {
            let virtual = address &+ UInt64(done)
            let length = min(buffer.count - done, Int(4096 - virtual % 4096))
            if leaf.map({ virtual < $0.virtual || virtual - $0.virtual >= $0.count }) ?? true {
                leaf = try core.pageTableMapping(virtual).map { (virtual, $0.physical, $0.contiguousBytes) }
            }
            let fileOffset = leaf.flatMap { core.fileOffset(physical: $0.physical + (virtual - $0.virtual)) }
            if let fileOffset {
                if let end = run.ends.last, run.fileOffset + UInt64(end - run.start) == fileOffset {
                    run.ends.append(done + length)
                } else {
                    try readRun()
                    run = (done, fileOffset, [done + length])
                }
            } else {
                try readRun()
                for index in done..<(done + length) { buffer[index] = 0 }
                unreadable += 1
            }
            done += length
        }
        try readRun()
        return unreadable
    }
}

import Synchronization

/// Hands out work items to threads: each `take` returns the first of the next `count` items.
final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take(_ count: Int) -> Int { next.wrappingAdd(count, ordering: .relaxed).oldValue }
}

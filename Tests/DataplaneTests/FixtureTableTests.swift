import Testing
import Dataplane
import DataplaneFixtures

/// The fixture table (`FixtureTable.rows`), row by row: the verdict, where a drop was refused,
/// the packet that comes out; and the table's coverage of every drop reason and every way a
/// packet is carried.
@Suite("Fixture table")
struct FixtureTableTests {
    @Test(arguments: FixtureTable.rows)
    func row(_ fixture: Fixture) {
        let (outcome, harness, _) = fixture.run()
        #expect(fixture.mismatch(outcome, in: harness) == nil, "\(fixture.mismatch(outcome, in: harness) ?? "")")
        if case .dropped(let reason, _) = fixture.expected {
            #expect(harness.dataplane.counters.drops(reason) >= 1, "the drop is counted")
        }
    }

    @Test func everyDropReasonHasARow() {
        let covered = Set(FixtureTable.rows.compactMap { row -> DropReason? in
            if case .dropped(let reason, _) = row.expected { reason } else { nil }
        })
        let missing = DropReason.allCases.filter { !covered.contains($0) }
        #expect(missing.isEmpty, "no row for \(missing.map(\.name))")
    }

    @Test func everyWayOfCarryingAPacketHasARow() {
        var actions = Set<Verdict.Action>()
        for row in FixtureTable.rows {
            switch row.expected {
            case .forwarded: actions.insert(.forwarded)
            case .encapsulated: actions.insert(.encapsulated)
            case .decapsulated: actions.insert(.decapsulated)
            case .replied: actions.insert(.replied)
            case .toResolver: actions.insert(.toResolver)
            case .toHealthChecker: actions.insert(.toHealthChecker)
            case .dropped: actions.insert(.dropped)
            }
        }
        let all: [Verdict.Action] = [.forwarded, .encapsulated, .decapsulated, .replied, .toResolver, .toHealthChecker, .dropped]
        #expect(all.allSatisfy(actions.contains))
    }
}

using NUnit.Framework;

namespace PgHa.Core.Tests.Decisions;

/// <summary>Rows of the decision tables, and all tables at once for the properties every row must have.</summary>
public static class DecisionTable
{
    /// <summary>One row: in <paramref name="situation"/> the plan must render as <paramref name="expected"/>.</summary>
    /// <param name="behaviour">Patroni's behaviour in words; becomes the test name.</param>
    /// <param name="situation">The decider's inputs.</param>
    /// <param name="expected"><see cref="PgHa.Decisions.HaPlan.Describe"/> of the plan, or <see cref="Situation.AsksForPeers"/>.</param>
    public static TestCaseData Row(string behaviour, Situation situation, string expected) =>
        new TestCaseData(situation, expected).SetName(behaviour);

    /// <summary>Every row of every table.</summary>
    public static IEnumerable<TestCaseData> All() =>
        BootstrapTables.Cases()
            .Concat(LeaderRaceTables.Cases())
            .Concat(LeaderTables.Cases())
            .Concat(SwitchoverTables.Cases())
            .Concat(FollowerTables.Cases())
            .Concat(RecoveryTables.Cases())
            .Concat(SynchronousTables.Cases())
            .Concat(WatchdogTables.Cases())
            .Concat(FailsafeTables.Cases())
            .Concat(StandbyClusterTables.Cases());
}

using System.Globalization;

namespace PgHa.Chaos.Tests;

/// <summary>
/// How long and how hard the chaos suite runs, from the environment. Without any variable it is the CI short form.
/// <list type="bullet">
/// <item>PGHA_CHAOS_RUNS: fault rounds (default 4; with PGHA_CHAOS_MINUTES, the most rounds).</item>
/// <item>PGHA_CHAOS_MINUTES: keep starting rounds until this many minutes have passed since the cluster was healthy.</item>
/// <item>PGHA_CHAOS_SEED: the seed of every random choice (default: a fresh one, printed).</item>
/// <item>PGHA_CHAOS_SYNC=1: bootstrap with <c>synchronous_mode: true</c>: then no acknowledged write may be lost at all.</item>
/// <item>PGHA_CHAOS_FAULTS: a comma-separated subset of <see cref="FaultKind"/> names to draw from (default: all).</item>
/// </list>
/// </summary>
internal sealed record ChaosSettings(int Runs, double? Minutes, int Seed, bool Synchronous, IReadOnlyList<FaultKind> Faults)
{
    public const int ShortFormRuns = 4;

    public bool IsShortForm => Minutes is null && Runs == ShortFormRuns;

    public static ChaosSettings FromEnvironment()
    {
        var minutes = Read("PGHA_CHAOS_MINUTES", s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && m > 0 ? m : (double?)null, "a positive number of minutes");
        var runs = Read("PGHA_CHAOS_RUNS", s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : (int?)null, "a positive whole number");
        var seed = Read("PGHA_CHAOS_SEED", s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : (int?)null, "a whole number");
        var sync = Environment.GetEnvironmentVariable("PGHA_CHAOS_SYNC") is { Length: > 0 } flag
            ? flag switch
            {
                "1" or "true" => true,
                "0" or "false" => false,
                _ => throw new ArgumentException($"PGHA_CHAOS_SYNC is '{flag}': use 1 (synchronous_mode: true) or 0"),
            }
            : false;
        var faults = Enum.GetValues<FaultKind>().ToList();
        if (Environment.GetEnvironmentVariable("PGHA_CHAOS_FAULTS") is { Length: > 0 } list)
        {
            faults = [];
            foreach (var name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Enum.TryParse<FaultKind>(name, ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
                    throw new ArgumentException($"PGHA_CHAOS_FAULTS names '{name}', which is not a fault; known: {string.Join(", ", Enum.GetNames<FaultKind>())}");
                faults.Add(kind);
            }
        }
        return new ChaosSettings(
            runs ?? (minutes is null ? ShortFormRuns : int.MaxValue),
            minutes,
            seed ?? Random.Shared.Next(),
            sync,
            faults);
    }

    private static T? Read<T>(string name, Func<string, T?> parse, string expected) where T : struct =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text
            ? parse(text) ?? throw new ArgumentException($"{name} is '{text}': expected {expected}")
            : null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"seed={Seed} runs={(Runs == int.MaxValue ? "unbounded" : Runs.ToString(CultureInfo.InvariantCulture))} minutes={(Minutes?.ToString(CultureInfo.InvariantCulture) ?? "-")} synchronous_mode={(Synchronous ? "true" : "false")} faults={string.Join(",", Faults)}");
}

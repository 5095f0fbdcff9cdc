using System.Globalization;

namespace PgHa.Host.Ctl;

/// <summary>
/// The unified diff patronictl's <c>edit-config</c> shows (Python's <c>difflib.unified_diff</c> with three lines of
/// context and empty file names), so the same edit shows the same hunks. Matching follows difflib's
/// longest-matching-block rule; its "popular line" heuristic for inputs of 200+ lines is not applied.
/// </summary>
public static class UnifiedDiff
{
    /// <summary>The diff lines (without line breaks), empty when the texts are equal.</summary>
    public static IReadOnlyList<string> Compute(string before, string after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var a = before.TrimEnd('\n').Split('\n');
        var b = after.TrimEnd('\n').Split('\n');
        var output = new List<string>();
        foreach (var group in GroupedOpcodes(a, b, 3))
        {
            if (output.Count == 0)
            {
                output.Add("--- ");
                output.Add("+++ ");
            }
            var first = group[0];
            var last = group[^1];
            output.Add($"@@ -{Range(first.I1, last.I2)} +{Range(first.J1, last.J2)} @@");
            foreach (var (tag, i1, i2, j1, j2) in group)
            {
                if (tag == 'e')
                {
                    for (var i = i1; i < i2; i++) output.Add(" " + a[i]);
                    continue;
                }
                if (tag is 'r' or 'd') for (var i = i1; i < i2; i++) output.Add("-" + a[i]);
                if (tag is 'r' or 'i') for (var j = j1; j < j2; j++) output.Add("+" + b[j]);
            }
        }
        return output;
    }

    private static string Range(int start, int stop)
    {
        var beginning = start + 1;
        var length = stop - start;
        if (length == 1) return beginning.ToString(CultureInfo.InvariantCulture);
        if (length == 0) beginning--;
        return string.Create(CultureInfo.InvariantCulture, $"{beginning},{length}");
    }

    private readonly record struct Opcode(char Tag, int I1, int I2, int J1, int J2);

    private static List<List<Opcode>> GroupedOpcodes(string[] a, string[] b, int n)
    {
        var codes = Opcodes(a, b);
        if (codes.Count == 0) codes.Add(new Opcode('e', 0, 1, 0, 1));
        if (codes[0].Tag == 'e')
        {
            var c = codes[0];
            codes[0] = c with { I1 = Math.Max(c.I1, c.I2 - n), J1 = Math.Max(c.J1, c.J2 - n) };
        }
        if (codes[^1].Tag == 'e')
        {
            var c = codes[^1];
            codes[^1] = c with { I2 = Math.Min(c.I2, c.I1 + n), J2 = Math.Min(c.J2, c.J1 + n) };
        }
        var groups = new List<List<Opcode>>();
        var group = new List<Opcode>();
        foreach (var code in codes)
        {
            var (tag, i1, i2, j1, j2) = code;
            if (tag == 'e' && i2 - i1 > 2 * n)
            {
                group.Add(new Opcode(tag, i1, Math.Min(i2, i1 + n), j1, Math.Min(j2, j1 + n)));
                groups.Add(group);
                group = [];
                i1 = Math.Max(i1, i2 - n);
                j1 = Math.Max(j1, j2 - n);
            }
            group.Add(new Opcode(tag, i1, i2, j1, j2));
        }
        if (group.Count > 0 && !(group.Count == 1 && group[0].Tag == 'e')) groups.Add(group);
        return groups;
    }

    private static List<Opcode> Opcodes(string[] a, string[] b)
    {
        var b2j = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var j = 0; j < b.Length; j++)
        {
            if (!b2j.TryGetValue(b[j], out var list)) b2j[b[j]] = list = [];
            list.Add(j);
        }
        var blocks = new List<(int I, int J, int Size)>();
        var queue = new Stack<(int Alo, int Ahi, int Blo, int Bhi)>();
        queue.Push((0, a.Length, 0, b.Length));
        while (queue.Count > 0)
        {
            var (alo, ahi, blo, bhi) = queue.Pop();
            var (i, j, k) = LongestMatch(a, b2j, alo, ahi, blo, bhi);
            if (k == 0) continue;
            blocks.Add((i, j, k));
            if (alo < i && blo < j) queue.Push((alo, i, blo, j));
            if (i + k < ahi && j + k < bhi) queue.Push((i + k, ahi, j + k, bhi));
        }
        blocks.Sort();
        var merged = new List<(int I, int J, int Size)>();
        foreach (var block in blocks)
        {
            if (merged.Count > 0 && merged[^1].I + merged[^1].Size == block.I && merged[^1].J + merged[^1].Size == block.J)
                merged[^1] = (merged[^1].I, merged[^1].J, merged[^1].Size + block.Size);
            else merged.Add(block);
        }
        merged.Add((a.Length, b.Length, 0));

        var codes = new List<Opcode>();
        int ai = 0, bj = 0;
        foreach (var (i, j, size) in merged)
        {
            var tag = ai < i && bj < j ? 'r' : ai < i ? 'd' : bj < j ? 'i' : '\0';
            if (tag != '\0') codes.Add(new Opcode(tag, ai, i, bj, j));
            ai = i + size;
            bj = j + size;
            if (size > 0) codes.Add(new Opcode('e', i, ai, j, bj));
        }
        return codes;
    }

    private static (int I, int J, int Size) LongestMatch(string[] a, Dictionary<string, List<int>> b2j, int alo, int ahi, int blo, int bhi)
    {
        int besti = alo, bestj = blo, bestsize = 0;
        var j2len = new Dictionary<int, int>();
        for (var i = alo; i < ahi; i++)
        {
            var next = new Dictionary<int, int>();
            if (b2j.TryGetValue(a[i], out var js))
            {
                foreach (var j in js)
                {
                    if (j < blo) continue;
                    if (j >= bhi) break;
                    var k = next[j] = (j2len.TryGetValue(j - 1, out var prev) ? prev : 0) + 1;
                    if (k > bestsize)
                    {
                        besti = i - k + 1;
                        bestj = j - k + 1;
                        bestsize = k;
                    }
                }
            }
            j2len = next;
        }
        return (besti, bestj, bestsize);
    }
}

using System.Text.Json.Nodes;
using NUnit.Framework;
using PgHa.Cluster.Serialization;

namespace PgHa.Core.Tests.Cluster;

/// <summary>
/// <see cref="PatroniJson"/> writes what Python's <c>json.dumps(value, separators=(',', ':'))</c> writes. Expected
/// texts were produced by CPython 3.11's <c>json</c> module.
/// </summary>
[TestFixture]
public sealed class PatroniJsonTests
{
    /// <summary>A .NET string, and Python's <c>json.dumps</c> of it.</summary>
    public static IEnumerable<TestCaseData> Strings() =>
    [
        new TestCaseData("é", "\"\\u00e9\"").SetArgDisplayNames("Latin-1 letter"),
        new TestCaseData("Zürich ☃", "\"Z\\u00fcrich \\u2603\"").SetArgDisplayNames("BMP symbol"),
        new TestCaseData("🐘", "\"\\ud83d\\udc18\"").SetArgDisplayNames("astral: surrogate pair escapes"),
        new TestCaseData("/ < > & ' +", "\"/ < > & ' +\"").SetArgDisplayNames("HTML-sensitive ASCII not escaped"),
        new TestCaseData("\u007f", "\"\\u007f\"").SetArgDisplayNames("DEL escaped"),
        new TestCaseData("~", "\"~\"").SetArgDisplayNames("tilde, the last plain character"),
        new TestCaseData("\u0080", "\"\\u0080\"").SetArgDisplayNames("first non-ASCII"),
        new TestCaseData("\0\u0001\u001f", "\"\\u0000\\u0001\\u001f\"").SetArgDisplayNames("control characters"),
        new TestCaseData("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"").SetArgDisplayNames("short escapes"),
        new TestCaseData("\"\\", "\"\\\"\\\\\"").SetArgDisplayNames("quote and backslash"),
        new TestCaseData("\u2028\u2029", "\"\\u2028\\u2029\"").SetArgDisplayNames("line and paragraph separators"),
        new TestCaseData("\uffff", "\"\\uffff\"").SetArgDisplayNames("U+FFFF lowercase hex"),
        new TestCaseData("\uABCD", "\"\\uabcd\"").SetArgDisplayNames("lowercase hex digits"),
        new TestCaseData("\ud800", "\"\\ud800\"").SetArgDisplayNames("lone surrogate, as Python writes one"),
        new TestCaseData("", "\"\"").SetArgDisplayNames("empty"),
    ];

    [TestCaseSource(nameof(Strings))]
    public void StringsAreEscapedAsPythonDoes(string value, string expected)
    {
        Assert.That(PatroniJson.Serialize(JsonValue.Create(value)), Is.EqualTo(expected), "as a value");
        Assert.That(PatroniJson.Serialize(new JsonObject { [value] = 1 }), Is.EqualTo("{" + expected + ":1}"), "as a key");
    }

    /// <summary>The strings System.Text.Json can read back (not the lone surrogate: see <see cref="TryParseRejectsLoneSurrogates"/>).</summary>
    public static IEnumerable<TestCaseData> ReadableStrings() => Strings().Where(c => (string)c.Arguments[0]! != "\ud800");

    [TestCaseSource(nameof(ReadableStrings))]
    public void ParsedStringsAreEscapedAsPythonDoes(string value, string expected)
    {
        var node = PatroniJson.TryParse(expected, out var error);
        Assert.That(error, Is.Null);
        Assert.That(node!.GetValue<string>(), Is.EqualTo(value));
        Assert.That(PatroniJson.Serialize(node), Is.EqualTo(expected), "parsing Python's output and writing it again gives it back");
    }

    [TestCase("{\"ü\":\"→\",\"x\":[\"🐘\"]}", "{\"\\u00fc\":\"\\u2192\",\"x\":[\"\\ud83d\\udc18\"]}", TestName = "UnescapedUnicodeInputIsEscapedOnOutput")]
    [TestCase("{\"a\":\"\\u00E9\\/\"}", "{\"a\":\"\\u00e9/\"}", TestName = "UppercaseHexAndEscapedSlashAreNormalised")]
    public void TextIsReEmittedAsPythonWould(string input, string expected) =>
        Assert.That(PatroniJson.Serialize(PatroniJson.TryParse(input, out _)), Is.EqualTo(expected));

    /// <summary>Parsed numbers are written with the text they were read with.</summary>
    [TestCase("1.0")]
    [TestCase("1e-05")]
    [TestCase("12345678901234567890123")]
    [TestCase("-9223372036854775809")]
    [TestCase("4111120246957333014")]
    [TestCase("0.1")]
    [TestCase("1E5")]
    [TestCase("-0")]
    [TestCase("1.50")]
    public void ParsedNumbersKeepTheirText(string number)
    {
        var node = PatroniJson.TryParse("{\"n\":" + number + ",\"a\":[" + number + "]}", out var error);
        Assert.That(error, Is.Null);
        Assert.That(PatroniJson.Serialize(node), Is.EqualTo("{\"n\":" + number + ",\"a\":[" + number + "]}"));
    }

    /// <summary>A CLR double placed into a node is written as Python's <c>repr(float)</c>.</summary>
    [TestCase(1.0, "1.0")]
    [TestCase(0.1, "0.1")]
    [TestCase(1e-05, "1e-05")]
    [TestCase(0.0001, "0.0001")]
    [TestCase(0.00012345, "0.00012345")]
    [TestCase(1e16, "1e+16")]
    [TestCase(1e15, "1000000000000000.0")]
    [TestCase(9999999999999998.0, "9999999999999998.0")]
    [TestCase(12345678901234567.0, "1.2345678901234568e+16")]
    [TestCase(1e22, "1e+22")]
    [TestCase(123456789.123, "123456789.123")]
    [TestCase(5e-324, "5e-324")]
    [TestCase(1.7976931348623157e308, "1.7976931348623157e+308")]
    [TestCase(-0.0, "-0.0")]
    [TestCase(100.0, "100.0")]
    [TestCase(1.5e-7, "1.5e-07")]
    [TestCase(-2.5, "-2.5")]
    [TestCase(1.0000000000000002, "1.0000000000000002")]
    [TestCase(double.PositiveInfinity, "Infinity")]
    [TestCase(double.NaN, "NaN")]
    public void DoublesAreWrittenAsPythonRepr(double value, string expected) =>
        Assert.That(PatroniJson.Serialize(JsonValue.Create(value)), Is.EqualTo(expected));

    [Test]
    public void IntegersBooleansAndNull()
    {
        var obj = new JsonObject { ["l"] = 4111120246957333014L, ["i"] = -1, ["t"] = true, ["f"] = false, ["n"] = null, ["u"] = ulong.MaxValue };
        Assert.That(PatroniJson.Serialize(obj), Is.EqualTo("{\"l\":4111120246957333014,\"i\":-1,\"t\":true,\"f\":false,\"n\":null,\"u\":18446744073709551615}"));
    }

    [Test]
    public void SeparatorsAreCompact()
    {
        const string spaced = """{"ttl": 30, "postgresql": {"parameters": {"fsync": false}}, "list": [1, 2, {"a": null}], "empty": {}, "none": []}""";
        Assert.That(PatroniJson.Serialize(PatroniJson.TryParse(spaced, out _)),
            Is.EqualTo("""{"ttl":30,"postgresql":{"parameters":{"fsync":false}},"list":[1,2,{"a":null}],"empty":{},"none":[]}"""));
    }

    [Test]
    public void ObjectKeysKeepTheirOrder() =>
        Assert.That(PatroniJson.Serialize(PatroniJson.TryParse("""{"z":1,"a":2,"m":3}""", out _)), Is.EqualTo("""{"z":1,"a":2,"m":3}"""));

    [Test]
    public void DuplicateKeysBehaveAsInPythonLastValueFirstPosition()
    {
        var node = PatroniJson.TryParse("""{"a":1,"b":2,"a":3}""", out var error);
        Assert.That(error, Is.Null);
        Assert.That(PatroniJson.Serialize(node), Is.EqualTo("""{"a":3,"b":2}"""));
    }

    [Test]
    public void NullLiteralParsesToNullWithoutAnError()
    {
        Assert.That(PatroniJson.TryParse("null", out var error), Is.Null);
        Assert.That(error, Is.Null);
    }

    [TestCase("", TestName = "TryParseRejects(empty)")]
    [TestCase("{", TestName = "TryParseRejects(truncated)")]
    [TestCase("{'a':1}", TestName = "TryParseRejects(single quotes)")]
    [TestCase("{\"a\":1,}", TestName = "TryParseRejects(trailing comma)")]
    [TestCase("/*c*/{}", TestName = "TryParseRejects(comment)")]
    [TestCase("{} {}", TestName = "TryParseRejects(two values)")]
    [TestCase("\"a\u0001\"", TestName = "TryParseRejects(raw control character in a string)")]
    [TestCase("NaN", TestName = "TryParseRejects(NaN)")]
    public void TryParseRejects(string text)
    {
        JsonNode? node = null;
        string? error = null;
        Assert.That(() => node = PatroniJson.TryParse(text, out error), Throws.Nothing);
        Assert.That(node, Is.Null);
        Assert.That(error, Is.Not.Null.And.Not.Empty);
    }

    /// <summary>
    /// Text with lone surrogates. Built at run time: a lone surrogate in an attribute argument would be stored as
    /// UTF-8 in the assembly metadata and arrive as U+FFFD.
    /// </summary>
    public static IEnumerable<TestCaseData> LoneSurrogates() =>
    [
        new TestCaseData("\"\\ud800\"").SetArgDisplayNames("high, escaped"),
        new TestCaseData("\"\\udc00\"").SetArgDisplayNames("low, escaped"),
        new TestCaseData("{\"\\ud800\":1}").SetArgDisplayNames("in a key"),
        new TestCaseData("[\"ok\",{\"x\":[\"\\ud800x\"]}]").SetArgDisplayNames("nested"),
        new TestCaseData("\"\ud800\"").SetArgDisplayNames("raw high surrogate char in the .NET string"),
        new TestCaseData("{\"a\":\"\udc00\"}").SetArgDisplayNames("raw low surrogate char in the .NET string"),
    ];

    [TestCaseSource(nameof(LoneSurrogates))]
    public void TryParseRejectsLoneSurrogates(string text)
    {
        JsonNode? node = null;
        string? error = null;
        Assert.That(() => node = PatroniJson.TryParse(text, out error), Throws.Nothing);
        Assert.That(node, Is.Null);
        Assert.That(error, Is.Not.Null);
    }

    [Test]
    public void SurrogatePairEscapesAreAccepted()
    {
        var node = PatroniJson.TryParse("\"\\ud83d\\udc18\"", out var error);
        Assert.That(error, Is.Null);
        Assert.That(node!.GetValue<string>(), Is.EqualTo("🐘"));
    }

    [Test]
    public void NestingIsLimitedWithoutExhaustingTheStack()
    {
        var ok = new string('[', PatroniJson.MaxDepth) + new string(']', PatroniJson.MaxDepth);
        var tooDeep = new string('[', PatroniJson.MaxDepth + 1) + new string(']', PatroniJson.MaxDepth + 1);
        var absurd = new string('{', 1) + string.Concat(Enumerable.Repeat("\"a\":{", 200_000)) + new string('}', 200_001);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PatroniJson.Serialize(PatroniJson.TryParse(ok, out var e1)), Is.EqualTo(ok));
            Assert.That(e1, Is.Null);
            Assert.That(PatroniJson.TryParse(tooDeep, out var e2), Is.Null);
            Assert.That(e2, Does.Contain("depth"));
            Assert.That(PatroniJson.TryParse(absurd, out var e3), Is.Null);
            Assert.That(e3, Does.Contain("depth"));
        }
    }

    [Test]
    public void NodesBuiltInCodeAreWrittenToo()
    {
        var obj = new JsonObject
        {
            ["s"] = "Zürich",
            ["arr"] = new JsonArray(1, "x", null, true),
            ["o"] = new JsonObject { ["k"] = 1.5 },
        };
        Assert.That(PatroniJson.Serialize(obj), Is.EqualTo("""{"s":"Z\u00fcrich","arr":[1,"x",null,true],"o":{"k":1.5}}"""));
    }
}

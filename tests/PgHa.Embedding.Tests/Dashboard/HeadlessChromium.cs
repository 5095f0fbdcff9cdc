using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PgHa.Embedding.Tests.Dashboard;

/// <summary>
/// Headless Chromium driven through the DevTools protocol (a WebSocket of JSON commands), so a test can click, type and
/// read the page as a user does: mouse events at an element's position, text typed into the focused field.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    public static readonly string? Executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<int, TaskCompletionSource<JsonNode>> _pending = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiver = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, DirectoryInfo profile)
    {
        _process = process;
        _profile = profile;
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex ListeningLine();

    /// <summary>Starts Chromium with a fresh profile and a 1200×800 page.</summary>
    public static async Task<HeadlessChromium> StartAsync()
    {
        var profile = Directory.CreateTempSubdirectory("pgha-chromium-");
        var start = new ProcessStartInfo(Executable!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--hide-scrollbars", "--user-data-dir=" + profile.FullName, "--remote-debugging-port=0", "--window-size=1200,800", "about:blank" })
            start.ArgumentList.Add(argument);
        start.Environment["HOME"] = profile.FullName;
        var process = Process.Start(start)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            string? endpoint = null;
            while (endpoint is null)
            {
                var line = await process.StandardError.ReadLineAsync(timeout.Token)
                           ?? throw new InvalidOperationException("chromium exited before it offered the DevTools endpoint");
                if (ListeningLine().Match(line) is { Success: true } m) endpoint = m.Groups[1].Value;
            }
            // Keep draining both pipes, or Chromium blocks once one fills.
            _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
            _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var http = new Uri(endpoint.Replace("ws://", "http://", StringComparison.Ordinal));
            using var client = new HttpClient();
            var targets = JsonNode.Parse(await client.GetStringAsync(new Uri(http, "/json/list"), timeout.Token))!.AsArray();
            var page = targets.First(t => (string?)t!["type"] == "page")!;
            await browser._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), timeout.Token);
            browser._receiver = browser.ReceiveAsync();
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = 1200, ["height"] = 800, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one protocol command and returns its result.</summary>
    public async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var done = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        int id;
        lock (_gate)
        {
            id = ++_nextId;
            _pending[id] = done;
        }
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await done.Task.WaitAsync(TimeSpan.FromMinutes(1));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close) return;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                var node = JsonNode.Parse(message.ToArray())!;
                message.SetLength(0);
                // Events (no id) are not needed: the tests poll the page's state instead.
                if (node["id"] is not { } idNode) continue;
                TaskCompletionSource<JsonNode>? done;
                lock (_gate) _pending.Remove((int)idNode, out done);
                if (node["error"] is { } error) done?.TrySetException(new InvalidOperationException("DevTools: " + error.ToJsonString()));
                else done?.TrySetResult(node["result"] ?? new JsonObject());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
    }

    /// <summary>Opens <paramref name="url"/> in the page.</summary>
    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates <paramref name="expression"/> in the page (awaiting a promise) and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is { } failure) throw new InvalidOperationException($"{expression}: {failure.ToJsonString()}");
        return result["result"]?["value"];
    }

    /// <summary>Polls until <paramref name="condition"/> (a JavaScript expression) is true.</summary>
    public async Task WaitForAsync(string condition, string what, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                if (await EvaluateAsync($"!!({condition})") is JsonValue v && v.GetValue<bool>()) return;
            }
            catch (InvalidOperationException)
            {
                // The page is still loading (its elements are not there yet).
            }
            if (deadline.IsCancellationRequested)
                Assert.Fail($"timed out waiting for {what} ({condition}); the page shows: {await EvaluateAsync("document.body.innerText")}");
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
    }

    /// <summary>Clicks the middle of the element <paramref name="selector"/> selects, with mouse events as a user would.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($$"""(() => { const e = document.querySelector({{JsonValue.Create(selector).ToJsonString()}}); if (!e) return null; e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()""")
                  ?? throw new InvalidOperationException($"nothing matches {selector}");
        foreach (var type in new[] { "mouseMoved", "mousePressed", "mouseReleased" })
            await SendAsync("Input.dispatchMouseEvent", new JsonObject
            {
                ["type"] = type, ["x"] = box["x"]!.GetValue<double>(), ["y"] = box["y"]!.GetValue<double>(), ["button"] = "left", ["clickCount"] = 1,
            });
    }

    /// <summary>Clicks the field <paramref name="selector"/> and types <paramref name="text"/> into it.</summary>
    public async Task TypeAsync(string selector, string text)
    {
        await ClickAsync(selector);
        await SendAsync("Input.insertText", new JsonObject { ["text"] = text });
    }

    /// <summary>A PNG of the page as shown.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String((string)shot["data"]!);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        await _receiver;
        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        try { _profile.Delete(recursive: true); } catch (IOException) { }
    }
}

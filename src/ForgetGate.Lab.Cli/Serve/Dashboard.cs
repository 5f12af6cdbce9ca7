using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ForgetGate.Lab.Cli.Commands;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ForgetGate.Lab.Cli.Serve;

/// <summary>
/// The dashboard's routes: server-rendered pages (the report's own HTML and SVG figures, rendered from the store on
/// request) and, for each page, a <c>/live/…</c> fragment that a small script fetches every few seconds and swaps in
/// when the store changed (the fragment answers 204 while its version is unchanged). Only GET and HEAD are served:
/// nothing in the store can be changed through it.
/// </summary>
internal static class Dashboard
{
    private const string TokenCookie = "forgetgate_token";
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static void Map(WebApplication app, IRunStore store, string? token)
    {
        app.Use(async (context, next) =>
        {
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD";
                await context.Response.WriteAsync("405: the dashboard is read-only.\n").ConfigureAwait(false);
                return;
            }

            if (token is not null && !Authorized(context, token))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsync("401: this dashboard needs its token (header 'Authorization: Bearer T', or open /?token=T once).\n").ConfigureAwait(false);
                return;
            }

            // The script comes from this server only; figures embed their PNG cells as data: URIs.
            context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            await next(context).ConfigureAwait(false);
        });

        var pages = app.MapGroup("");
        pages.MapGet("/", (CancellationToken ct) => HomeAsync(store, ct));
        pages.MapGet("/sweeps/{name}", (string name, CancellationToken ct) => SweepAsync(store, name, ct));
        pages.MapGet("/runs/{id:long}", (long id, CancellationToken ct) => RunAsync(store, id, ct));
        pages.MapGet("/compare", (string? a, string? b, CancellationToken ct) => CompareAsync(store, a, b, ct));
        pages.MapGet("/live.js", () => Results.Text(DashboardPages.Script, "text/javascript; charset=utf-8"));
        pages.MapGet("/favicon.ico", () => Results.NoContent());

        var live = app.MapGroup("/live");
        live.MapGet("/home", (string? v, CancellationToken ct) => HomeLiveAsync(store, v, ct));
        live.MapGet("/sweeps/{name}", (string name, string? v, CancellationToken ct) => SweepLiveAsync(store, name, v, ct));
        live.MapGet("/runs/{id:long}", (long id, string? v, CancellationToken ct) => RunLiveAsync(store, id, v, ct));

        var api = app.MapGroup("/api");
        api.MapGet("/sweeps", async (CancellationToken ct) => Results.Json((await store.GetStatusAsync(ct).ConfigureAwait(false)).Select(s => new
        {
            id = s.SweepId, name = s.Name, queued = s.Queued, running = s.Running, succeeded = s.Succeeded, failed = s.Failed, cancelled = s.Cancelled, progress = s.MeanProgress,
        })));
    }

    private static bool Authorized(HttpContext context, string token)
    {
        string? given = null;
        string authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            given = authorization["Bearer ".Length..];
        }
        else if (context.Request.Query.TryGetValue("token", out var query))
        {
            given = query.ToString();
        }
        else if (context.Request.Cookies.TryGetValue(TokenCookie, out var cookie))
        {
            given = cookie;
        }

        bool ok = given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(token));
        if (ok && context.Request.Query.ContainsKey("token"))
        {
            // The browser keeps it for links and the live script's requests; never readable by scripts.
            context.Response.Cookies.Append(TokenCookie, given!, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
        }

        return ok;
    }

    private static async Task<IResult> HomeAsync(IRunStore store, CancellationToken ct)
    {
        var (version, body) = await HomeBodyAsync(store, ct).ConfigureAwait(false);
        return Page("ForgetGate.Lab: sweeps", "/live/home", version, body);
    }

    private static async Task<IResult> HomeLiveAsync(IRunStore store, string? v, CancellationToken ct)
    {
        var (version, body) = await HomeBodyAsync(store, ct).ConfigureAwait(false);
        return Fragment(v, version, body);
    }

    private static async Task<(string Version, string Body)> HomeBodyAsync(IRunStore store, CancellationToken ct)
    {
        var sweeps = await store.GetStatusAsync(ct).ConfigureAwait(false);
        string body = DashboardPages.Home(sweeps);
        return (Hash(body), body);
    }

    private static async Task<IResult> SweepAsync(IRunStore store, string name, CancellationToken ct)
    {
        var info = await store.FindSweepAsync(name, ct).ConfigureAwait(false);
        if (info is null)
        {
            return NotFound($"No sweep '{name}' in the store.");
        }

        string version = await store.GetSweepVersionAsync(info.Id, ct).ConfigureAwait(false);
        return Page($"ForgetGate.Lab: {info.Name}", "/live/sweeps/" + Uri.EscapeDataString(name), version, await SweepBodyAsync(store, info, ct).ConfigureAwait(false));
    }

    private static async Task<IResult> SweepLiveAsync(IRunStore store, string name, string? v, CancellationToken ct)
    {
        var info = await store.FindSweepAsync(name, ct).ConfigureAwait(false);
        if (info is null)
        {
            return Results.NotFound();
        }

        string version = await store.GetSweepVersionAsync(info.Id, ct).ConfigureAwait(false);
        return version == v ? Results.NoContent() : Fragment(v, version, await SweepBodyAsync(store, info, ct).ConfigureAwait(false));
    }

    private static async Task<string> SweepBodyAsync(IRunStore store, SweepInfo info, CancellationToken ct)
    {
        var status = (await store.GetStatusAsync(ct).ConfigureAwait(false)).FirstOrDefault(s => s.SweepId == info.Id);
        var data = await store.LoadSweepAsync(info.Id, ct).ConfigureAwait(false);
        string report = data.Evaluations.Count == 0
            ? "<p>No results yet: the report appears with the first evaluation.</p>"
            : ReportWriter.HtmlBody(ReportModelBuilder.Build(data, DateTimeOffset.UtcNow));
        return DashboardPages.Sweep(info, status, data.Runs, report);
    }

    private static async Task<IResult> RunAsync(IRunStore store, long id, CancellationToken ct)
    {
        var body = await RunBodyAsync(store, id, ct).ConfigureAwait(false);
        return body is null ? NotFound(string.Create(s_inv, $"No run {id} in the store.")) : Page(string.Create(s_inv, $"ForgetGate.Lab: run {id}"), string.Create(s_inv, $"/live/runs/{id}"), body.Value.Version, body.Value.Body);
    }

    private static async Task<IResult> RunLiveAsync(IRunStore store, long id, string? v, CancellationToken ct)
    {
        var body = await RunBodyAsync(store, id, ct).ConfigureAwait(false);
        return body is null ? Results.NotFound() : body.Value.Version == v ? Results.NoContent() : Fragment(v, body.Value.Version, body.Value.Body);
    }

    private static async Task<(string Version, string Body)?> RunBodyAsync(IRunStore store, long id, CancellationToken ct)
    {
        var record = await store.GetRunAsync(id, ct).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        var data = await store.LoadSweepAsync(record.SweepId, ct).ConfigureAwait(false);
        var attempts = await store.GetAttemptsAsync(id, ct).ConfigureAwait(false);
        var model = ReportModelBuilder.Build(data, DateTimeOffset.UtcNow);
        string body = DashboardPages.Run(data.Sweep, record, data.Runs.First(r => r.Id == id), attempts, model, model.Runs.First(r => r.RunId == id));
        return (Hash(body), body);
    }

    private static async Task<IResult> CompareAsync(IRunStore store, string? a, string? b, CancellationToken ct)
    {
        var sweeps = await store.GetStatusAsync(ct).ConfigureAwait(false);
        if (string.IsNullOrEmpty(a) || string.IsNullOrEmpty(b))
        {
            return Page("ForgetGate.Lab: compare", null, "", DashboardPages.CompareForm(sweeps, a, b, null));
        }

        var left = await store.FindSweepAsync(a, ct).ConfigureAwait(false);
        var right = await store.FindSweepAsync(b, ct).ConfigureAwait(false);
        if (left is null || right is null)
        {
            return NotFound($"No sweep '{(left is null ? a : b)}' in the store.");
        }

        try
        {
            string text = ComparisonText.Of(
                ReportModelBuilder.Build(await store.LoadSweepAsync(left.Id, ct).ConfigureAwait(false), DateTimeOffset.UtcNow),
                ReportModelBuilder.Build(await store.LoadSweepAsync(right.Id, ct).ConfigureAwait(false), DateTimeOffset.UtcNow));
            return Page($"ForgetGate.Lab: {left.Name} vs {right.Name}", null, "", DashboardPages.CompareForm(sweeps, a, b, text));
        }
        catch (ArgumentException e)
        {
            return Results.Content(DashboardPages.Layout("ForgetGate.Lab: compare", null, "", DashboardPages.CompareForm(sweeps, a, b, null) + "<p class=\"error\">" + WebUtility.HtmlEncode(e.Message) + "</p>"), "text/html; charset=utf-8", Encoding.UTF8, StatusCodes.Status400BadRequest);
        }
    }

    private static IResult Page(string title, string? live, string version, string body) =>
        Results.Content(DashboardPages.Layout(title, live, version, body), "text/html; charset=utf-8", Encoding.UTF8);

    private static IResult Fragment(string? given, string version, string body)
    {
        if (given == version)
        {
            return Results.NoContent();
        }

        return new FragmentResult(version, body);
    }

    private static IResult NotFound(string message) =>
        Results.Content(DashboardPages.Layout("ForgetGate.Lab: not found", null, "", "<p class=\"error\">" + WebUtility.HtmlEncode(message) + " <a href=\"/\">All sweeps</a></p>"), "text/html; charset=utf-8", Encoding.UTF8, StatusCodes.Status404NotFound);

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 8);

    /// <summary>An HTML fragment with its version in <c>X-Version</c>, never cached.</summary>
    private sealed class FragmentResult(string version, string body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers["X-Version"] = version;
            httpContext.Response.Headers.CacheControl = "no-store";
            httpContext.Response.ContentType = "text/html; charset=utf-8";
            return httpContext.Response.WriteAsync(body);
        }
    }
}

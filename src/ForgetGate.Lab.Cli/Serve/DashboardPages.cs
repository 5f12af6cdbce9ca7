using System.Globalization;
using System.Net;
using System.Text;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Serve;

/// <summary>The dashboard's HTML: the report's style sheet, server-rendered tables, and one small script for live parts.</summary>
internal static class DashboardPages
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The live script (no framework): every 2 s it asks the page's <c>/live/…</c> fragment for anything newer than the
    /// version it shows; 204 means nothing changed, 200 brings the new HTML, which replaces the page's main part.
    /// </summary>
    public const string Script = """
        (() => {
          const main = document.getElementById('live');
          const src = main && main.dataset.live;
          if (!src) return;
          let version = main.dataset.version || '';
          const stamp = document.getElementById('updated');
          async function tick() {
            try {
              const r = await fetch(src + '?v=' + encodeURIComponent(version), { cache: 'no-store', credentials: 'same-origin' });
              if (r.status === 200) {
                version = r.headers.get('X-Version') || '';
                main.innerHTML = await r.text();
              }
              if (r.ok && stamp) stamp.textContent = 'live, checked ' + new Date().toLocaleTimeString();
            } catch (e) {
              if (stamp) stamp.textContent = 'server unreachable, trying again';
            }
            setTimeout(tick, 2000);
          }
          setTimeout(tick, 2000);
        })();
        """;

    private const string ExtraStyle =
        "nav{display:flex;gap:1.2em;align-items:baseline;border-bottom:1px solid #ddd;padding-bottom:.4em}nav .stamp{margin-left:auto;color:#777;font-size:.85em}" +
        "progress{width:140px}.status-running{color:#0072B2}.status-failed{color:#D55E00}.status-succeeded{color:#009E73}.error{color:#D55E00}" +
        "td.note{font-size:.85em;color:#555;text-align:left}";

    public static string Layout(string title, string? live, string version, string body)
    {
        var sb = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
            .Append(ReportWriter.Style).Append(ExtraStyle).Append("</style></head><body><nav><b>ForgetGate.Lab</b><a href=\"/\">Sweeps</a><a href=\"/compare\">Compare</a>")
            .Append(live is null ? "" : "<span class=\"stamp\" id=\"updated\">live</span>").Append("</nav>");
        sb.Append("<main id=\"live\"");
        if (live is not null)
        {
            sb.Append(" data-live=\"").Append(E(live)).Append("\" data-version=\"").Append(E(version)).Append('"');
        }

        sb.Append('>').Append(body).Append("</main><script src=\"/live.js\"></script></body></html>\n");
        return sb.ToString();
    }

    public static string Home(IReadOnlyList<SweepStatus> sweeps)
    {
        var sb = new StringBuilder("<h1>Sweeps</h1>");
        if (sweeps.Count == 0)
        {
            return sb.Append("<p>The store holds no sweep yet: <code>forgetgate queue SPEC</code> adds one.</p>").ToString();
        }

        sb.Append("<table id=\"sweeps\"><tr><th>sweep</th><th>runs</th><th>queued</th><th>running</th><th>done</th><th>failed</th><th>cancelled</th><th>progress</th></tr>");
        foreach (var s in sweeps.OrderByDescending(s => s.SweepId))
        {
            long total = s.Queued + s.Running + s.Succeeded + s.Failed + s.Cancelled;
            sb.Append(s_inv, $"<tr data-sweep=\"{E(s.Name)}\"><td><a href=\"/sweeps/{Uri.EscapeDataString(s.SweepId.ToString(s_inv))}\">{E(s.Name)}</a> <small>#{s.SweepId}</small></td><td>{total}</td><td>{s.Queued}</td><td class=\"status-running\">{s.Running}</td><td class=\"status-succeeded\">{s.Succeeded}</td><td class=\"status-failed\">{s.Failed}</td><td>{s.Cancelled}</td>");
            sb.Append(s_inv, $"<td><progress max=\"1\" value=\"{s.MeanProgress:0.###}\"></progress> {s.MeanProgress * 100:F0} %</td></tr>");
        }

        return sb.Append("</table>").ToString();
    }

    public static string Sweep(SweepInfo info, SweepStatus? status, IReadOnlyList<StoredRun> runs, string report)
    {
        var sb = new StringBuilder();
        if (status is not null)
        {
            sb.Append(s_inv, $"<p class=\"headline\" id=\"counts\">{status.Queued} queued · {status.Running} running · {status.Succeeded} done · {status.Failed} failed · {status.Cancelled} cancelled · <progress max=\"1\" value=\"{status.MeanProgress:0.###}\"></progress> {status.MeanProgress * 100:F0} %</p>");
        }

        sb.Append("<details open><summary>Runs</summary><table id=\"runs\"><tr><th>run</th><th>variant</th><th>seed</th><th>status</th><th>attempt</th><th>progress</th><th>note</th></tr>");
        foreach (var r in runs)
        {
            string note = r.Error ?? r.ProgressNote ?? "";
            sb.Append(s_inv, $"<tr><td><a href=\"/runs/{r.Id}\">{r.Id}</a></td><td>{E(r.Variant ?? "")}</td><td>{r.Seed}</td><td class=\"status-{E(r.Status)}\">{E(r.Status)}</td><td>{r.Attempt}</td>");
            sb.Append(s_inv, $"<td><progress max=\"1\" value=\"{r.Progress:0.###}\"></progress> {r.Progress * 100:F0} %</td><td class=\"note\">{E(note.Split('\n')[0])}</td></tr>");
        }

        sb.Append("</table></details>").Append(report);
        _ = info;
        return sb.ToString();
    }

    public static string Run(SweepInfo sweep, RunRecord record, StoredRun stored, IReadOnlyList<RunAttempt> attempts, SweepReport model, RunReport run)
    {
        var sb = new StringBuilder();
        sb.Append(s_inv, $"<h1>Run {record.Id}: {E(run.Group)} seed {run.Seed}</h1><p>sweep <a href=\"/sweeps/{sweep.Id}\">{E(sweep.Name)}</a> · <span class=\"status-{E(record.Status)}\">{E(record.Status)}</span> · ");
        sb.Append(s_inv, $"<progress max=\"1\" value=\"{record.Progress:0.###}\"></progress> {record.Progress * 100:F0} %");
        if (stored.ProgressNote is { Length: > 0 } note)
        {
            sb.Append(" · ").Append(E(note));
        }

        sb.Append("</p>");
        if (record.Error is { Length: > 0 } error)
        {
            sb.Append("<pre class=\"error\">").Append(E(error)).Append("</pre>");
        }

        sb.Append(s_inv, $"<h2>Attempts</h2><p>{record.Attempt} of at most {record.MaxAttempts}; started {E(stored.StartedAt ?? "not yet")}, finished {E(stored.FinishedAt ?? "not yet")}.</p>");
        if (attempts.Count > 0)
        {
            sb.Append("<table id=\"attempts\"><tr><th>attempt</th><th>worker</th><th>claimed at</th></tr>");
            foreach (var a in attempts)
            {
                sb.Append(s_inv, $"<tr><td>{a.Attempt}</td><td>{E(a.LeaseOwner)}</td><td>{E(a.ClaimedAt)}</td></tr>");
            }

            sb.Append("</table>");
        }

        sb.Append("<h2>Curves</h2>").Append(RunView.Html(model, run));
        return sb.ToString();
    }

    public static string CompareForm(IReadOnlyList<SweepStatus> sweeps, string? a, string? b, string? result)
    {
        var sb = new StringBuilder("<h1>Compare two sweeps</h1><form method=\"get\" action=\"/compare\">");
        foreach (var (name, value) in new[] { ("a", a), ("b", b) })
        {
            sb.Append("<label>").Append(name).Append(" <select name=\"").Append(name).Append("\">");
            foreach (var s in sweeps.OrderByDescending(s => s.SweepId))
            {
                string id = s.SweepId.ToString(s_inv);
                bool selected = value == id || value == s.Name;
                sb.Append(s_inv, $"<option value=\"{id}\"{(selected ? " selected" : "")}>{E(s.Name)} (#{id})</option>");
            }

            sb.Append("</select></label> ");
        }

        sb.Append("<button>Compare</button></form>");
        if (result is not null)
        {
            sb.Append("<pre id=\"comparison\">").Append(E(result)).Append("</pre><p>Mean ± 95% CI over seeds, group by group; the same table as <code>forgetgate compare</code>.</p>");
        }

        return sb.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

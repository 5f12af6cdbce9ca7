using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Cells;

/// <summary>
/// Where a spec's <c>model.variant</c> finds cell files: the spec's own top-level <c>cells:</c> map first, then
/// <c>cells/&lt;name&gt;.yaml</c> beside the spec, then <c>experiments/cells/&lt;name&gt;.yaml</c> under the working
/// directory. Each file is read and checked once.
/// </summary>
public sealed class CellCatalog
{
    private readonly Dictionary<string, CellCheckResult> _inline;
    private readonly Dictionary<string, CellCheckResult?> _files = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string> _folders;

    /// <summary>Creates a catalog of inline cells and the folders searched for <c>&lt;name&gt;.yaml</c>.</summary>
    public CellCatalog(IReadOnlyDictionary<string, CellCheckResult> inline, IEnumerable<string> folders)
    {
        ArgumentNullException.ThrowIfNull(inline);
        ArgumentNullException.ThrowIfNull(folders);
        _inline = new Dictionary<string, CellCheckResult>(inline, StringComparer.Ordinal);
        _folders = [.. folders.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The catalog of a spec file: its inline cells, its folder's cells/ and ./experiments/cells.</summary>
    public static CellCatalog ForSpec(string specFile, IReadOnlyDictionary<string, CellCheckResult> inline)
    {
        var folders = new List<string>();
        string? dir = Path.GetDirectoryName(Path.GetFullPath(specFile));
        if (dir is not null)
        {
            folders.Add(Path.Combine(dir, "cells"));
        }

        folders.Add(Path.Combine(Directory.GetCurrentDirectory(), "experiments", "cells"));
        return new CellCatalog(inline, folders);
    }

    /// <summary>Inline cells (checked or not), for reporting their problems even when no point uses them.</summary>
    public IReadOnlyDictionary<string, CellCheckResult> Inline => _inline;

    /// <summary>The folders searched for cell files, in order.</summary>
    public IReadOnlyList<string> Folders => _folders;

    /// <summary>The checked (or failed) cell of that name, or null when no inline cell or file has it.</summary>
    public CellCheckResult? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_inline.TryGetValue(name, out var inline))
        {
            return inline;
        }

        if (_files.TryGetValue(name, out var cached))
        {
            return cached;
        }

        CellCheckResult? found = null;
        if (!Variants.TryParse(name, out _) && IsPlainName(name))
        {
            foreach (string folder in _folders)
            {
                string path = Path.Combine(folder, name + ".yaml");
                if (File.Exists(path))
                {
                    found = CellFileReader.ReadFile(path, name);
                    break;
                }
            }
        }

        _files[name] = found;
        return found;
    }

    private static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

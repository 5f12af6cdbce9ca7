using System.Text.RegularExpressions;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>
/// The names a spec may give (<c>name:</c>): they become folder names under <c>results/</c> and appear in file
/// names, so only a safe subset is allowed: a letter or digit first, then letters, digits, <c>.</c>, <c>_</c> or
/// <c>-</c>, at most 64 characters. That excludes <c>..</c>, separators, spaces and names a file system rejects.
/// </summary>
public static partial class SpecNames
{
    /// <summary>The longest name allowed (long names make unreadable report paths and can exceed NAME_MAX with suffixes).</summary>
    public const int MaxLength = 64;

    /// <summary>The rule, as users read it in errors and in the README.</summary>
    public const string Rule = "a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters (it names the folder results/<name>)";

    /// <summary>Whether <paramref name="name"/> follows <see cref="Rule"/>.</summary>
    public static bool IsSafe(string? name) => name is not null && SafeName().IsMatch(name);

    /// <summary>The problem with a name as a phrase for an error message, or null when it is safe.</summary>
    public static string? Problem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (IsSafe(name))
        {
            return null;
        }

        if (name.Length == 0)
        {
            return $"is empty; expected {Rule}";
        }

        string shown = name.Length > 40 ? $"{name[..40]}… ({name.Length} characters)" : name;
        return $"'{shown}' is not a safe name; expected {Rule}";
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}

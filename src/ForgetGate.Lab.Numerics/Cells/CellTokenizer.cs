using System.Globalization;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>Splits one step line into tokens; '#' starts a comment. Problems are added to the diagnostics, never thrown.</summary>
public static class CellTokenizer
{
    /// <summary>The tokens of <paramref name="line"/>, ending with an <see cref="CellTokenKind.End"/> token.</summary>
    public static IReadOnlyList<CellToken> Tokenize(CellStepLine line, ICollection<CellDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var tokens = new List<CellToken>();
        string s = line.Text;
        int i = 0;
        while (i < s.Length)
        {
            char ch = s[i];
            var at = line.Location.Shift(i);
            if (ch == '#')
            {
                break;
            }

            if (char.IsWhiteSpace(ch))
            {
                i++;
                continue;
            }

            if (char.IsLetter(ch) || ch == '_')
            {
                int start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_'))
                {
                    i++;
                }

                if (i < s.Length && s[i] == '\'')
                {
                    i++;
                }

                tokens.Add(new CellToken(CellTokenKind.Name, s[start..i], 0, at));
                continue;
            }

            if (char.IsDigit(ch) || (ch == '.' && i + 1 < s.Length && char.IsDigit(s[i + 1])))
            {
                int start = i;
                while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '.'))
                {
                    i++;
                }

                if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
                {
                    int save = i;
                    i++;
                    if (i < s.Length && (s[i] == '+' || s[i] == '-'))
                    {
                        i++;
                    }

                    if (i < s.Length && char.IsDigit(s[i]))
                    {
                        while (i < s.Length && char.IsDigit(s[i]))
                        {
                            i++;
                        }
                    }
                    else
                    {
                        i = save;
                    }
                }

                string text = s[start..i];
                if (!double.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double value)
                    || !double.IsFinite(value))
                {
                    diagnostics.Add(new CellDiagnostic(at, $"'{text}' is not a number."));
                    value = 0;
                }

                tokens.Add(new CellToken(CellTokenKind.Number, text, value, at));
                continue;
            }

            if ((ch == '>' || ch == '<') && i + 1 < s.Length && s[i + 1] == '=')
            {
                tokens.Add(new CellToken(CellTokenKind.Symbol, s.Substring(i, 2), 0, at));
                i += 2;
                continue;
            }

            if ("+-*/(),=<>".Contains(ch, StringComparison.Ordinal))
            {
                tokens.Add(new CellToken(CellTokenKind.Symbol, ch.ToString(), 0, at));
                i++;
                continue;
            }

            diagnostics.Add(new CellDiagnostic(at, $"Unexpected character '{ch}'; a step line uses names, numbers, + - * / ( ) , and comparisons inside where()."));
            i++;
        }

        tokens.Add(new CellToken(CellTokenKind.End, "", 0, line.Location.Shift(s.Length)));
        return tokens;
    }
}

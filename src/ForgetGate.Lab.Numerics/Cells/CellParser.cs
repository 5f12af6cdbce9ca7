using System.Collections.Immutable;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>
/// Recursive-descent parser of step lines: <c>line := name ['] = expr</c>, <c>expr := term (('+'|'-') term)*</c>,
/// <c>term := unary (('*'|'/') unary)*</c>, <c>unary := '-' unary | primary</c>,
/// <c>primary := number | name | name '(' arg (',' arg)* ')' | '(' expr ')'</c>, <c>arg := expr [cmp expr]</c>.
/// Blank and comment-only lines are skipped. A line that does not parse adds a diagnostic and is left out.
/// </summary>
public static class CellParser
{
    /// <summary>Parses every line; problems go to <paramref name="diagnostics"/>.</summary>
    public static ImmutableArray<CellLineSyntax> Parse(IEnumerable<CellStepLine> lines, ICollection<CellDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var result = ImmutableArray.CreateBuilder<CellLineSyntax>();
        foreach (var line in lines)
        {
            var lineDiagnostics = new List<CellDiagnostic>();
            var tokens = CellTokenizer.Tokenize(line, lineDiagnostics);
            if (tokens.Count == 1 && lineDiagnostics.Count == 0)
            {
                continue;   // blank or comment
            }

            var parsed = new LineParser(tokens, lineDiagnostics).ParseLine(result.Count);
            foreach (var d in lineDiagnostics)
            {
                diagnostics.Add(d);
            }

            if (parsed is not null && lineDiagnostics.Count == 0)
            {
                result.Add(parsed);
            }
        }

        return result.ToImmutable();
    }

    private sealed class LineParser(IReadOnlyList<CellToken> tokens, List<CellDiagnostic> diagnostics)
    {
        private int _position;

        private CellToken Current => tokens[_position];

        public CellLineSyntax? ParseLine(int index)
        {
            var first = Current;
            if (first.Kind != CellTokenKind.Name)
            {
                return Fail(first, $"A step line starts with the name it defines (like c' = …), not {first.Describe()}.");
            }

            _position++;
            if (!Current.Is("="))
            {
                return Fail(Current, $"Expected '=' after '{first.Text}', found {Current.Describe()}.");
            }

            _position++;
            var value = ParseExpression();
            if (value is null)
            {
                return null;
            }

            if (Current.Kind != CellTokenKind.End)
            {
                return Fail(Current, $"Unexpected {Current.Describe()} after a complete expression.");
            }

            return new CellLineSyntax(NameOf(first), value, index);
        }

        private static CellNameSyntax NameOf(CellToken token) => token.Text.EndsWith('\'')
            ? new CellNameSyntax(token.Text[..^1], true, token.Location)
            : new CellNameSyntax(token.Text, false, token.Location);

        private CellLineSyntax? Fail(CellToken at, string message)
        {
            diagnostics.Add(new CellDiagnostic(at.Location, message));
            return null;
        }

        private CellSyntax? Error(CellToken at, string message)
        {
            diagnostics.Add(new CellDiagnostic(at.Location, message));
            return null;
        }

        private CellSyntax? ParseArgument()
        {
            var left = ParseExpression();
            if (left is null)
            {
                return null;
            }

            var op = Current;
            if (op.Is(">=") || op.Is(">") || op.Is("<=") || op.Is("<"))
            {
                _position++;
                var right = ParseExpression();
                return right is null ? null : new CellComparisonSyntax(op.Text, left, right, op.Location);
            }

            return left;
        }

        private CellSyntax? ParseExpression()
        {
            var left = ParseTerm();
            while (left is not null && (Current.Is("+") || Current.Is("-")))
            {
                var op = Current;
                _position++;
                var right = ParseTerm();
                left = right is null ? null : new CellBinarySyntax(op.Text[0], left, right, op.Location);
            }

            return left;
        }

        private CellSyntax? ParseTerm()
        {
            var left = ParseUnary();
            while (left is not null && (Current.Is("*") || Current.Is("/")))
            {
                var op = Current;
                _position++;
                var right = ParseUnary();
                left = right is null ? null : new CellBinarySyntax(op.Text[0], left, right, op.Location);
            }

            return left;
        }

        private CellSyntax? ParseUnary()
        {
            if (Current.Is("-"))
            {
                var op = Current;
                _position++;
                var operand = ParseUnary();
                return operand is null ? null : new CellNegateSyntax(operand, op.Location);
            }

            if (Current.Is("+"))
            {
                _position++;
                return ParseUnary();
            }

            return ParsePrimary();
        }

        private CellSyntax? ParsePrimary()
        {
            var token = Current;
            switch (token.Kind)
            {
                case CellTokenKind.Number:
                    _position++;
                    return new CellNumberSyntax(token.Number, token.Location);
                case CellTokenKind.Name:
                    _position++;
                    if (!Current.Is("("))
                    {
                        return NameOf(token);
                    }

                    _position++;
                    var args = ImmutableArray.CreateBuilder<CellSyntax>();
                    if (Current.Is(")"))
                    {
                        _position++;
                        return new CellCallSyntax(token.Text, args.ToImmutable(), token.Location);
                    }

                    while (true)
                    {
                        var arg = ParseArgument();
                        if (arg is null)
                        {
                            return null;
                        }

                        args.Add(arg);
                        if (Current.Is(","))
                        {
                            _position++;
                            continue;
                        }

                        if (Current.Is(")"))
                        {
                            _position++;
                            return new CellCallSyntax(token.Text, args.ToImmutable(), token.Location);
                        }

                        return Error(Current, $"Expected ',' or ')' in the arguments of {token.Text}(), found {Current.Describe()}.");
                    }

                case CellTokenKind.Symbol when token.Is("("):
                    _position++;
                    var inner = ParseExpression();
                    if (inner is null)
                    {
                        return null;
                    }

                    if (!Current.Is(")"))
                    {
                        return Error(Current, $"Expected ')' to close the '(' at column {token.Location.Column}, found {Current.Describe()}.");
                    }

                    _position++;
                    return inner;
                default:
                    return Error(token, $"Expected a name, a number or '(', found {token.Describe()}.");
            }
        }
    }
}

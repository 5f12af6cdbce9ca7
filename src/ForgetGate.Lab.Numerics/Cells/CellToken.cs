namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>Kinds of token in a step line.</summary>
public enum CellTokenKind
{
    /// <summary>A name, possibly primed (<c>c'</c>).</summary>
    Name,

    /// <summary>A decimal number (<c>0.5</c>, <c>1e-3</c>).</summary>
    Number,

    /// <summary>One of <c>+ - * / ( ) , =</c> or a comparison <c>&gt;= &gt; &lt;= &lt;</c>.</summary>
    Symbol,

    /// <summary>The end of the line.</summary>
    End,
}

/// <summary>One token of a step line: its text, its number value, and its location.</summary>
public readonly record struct CellToken(CellTokenKind Kind, string Text, double Number, CellLocation Location)
{
    /// <summary>Whether this token is the symbol <paramref name="symbol"/>.</summary>
    public bool Is(string symbol) => Kind == CellTokenKind.Symbol && Text == symbol;

    /// <summary>How the token reads in an error message.</summary>
    public string Describe() => Kind == CellTokenKind.End ? "the end of the line" : $"'{Text}'";
}

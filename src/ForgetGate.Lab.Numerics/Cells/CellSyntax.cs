using System.Collections.Immutable;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>A node of a parsed step expression (immutable; no evaluation here: see <see cref="CellChecker"/>).</summary>
public abstract record CellSyntax(CellLocation Location);

/// <summary>A number literal.</summary>
public sealed record CellNumberSyntax(double Value, CellLocation Location) : CellSyntax(Location);

/// <summary>A name; <see cref="Primed"/> for a new value such as <c>c'</c> (<see cref="Name"/> without the prime).</summary>
public sealed record CellNameSyntax(string Name, bool Primed, CellLocation Location) : CellSyntax(Location)
{
    /// <summary>The name as written.</summary>
    public string Written => Primed ? Name + "'" : Name;
}

/// <summary>Unary minus.</summary>
public sealed record CellNegateSyntax(CellSyntax Operand, CellLocation Location) : CellSyntax(Location);

/// <summary>A binary operation: one of '+', '-', '*', '/'.</summary>
public sealed record CellBinarySyntax(char Operator, CellSyntax Left, CellSyntax Right, CellLocation Location) : CellSyntax(Location);

/// <summary>A comparison (only valid as the first argument of where()): ">=", ">", "&lt;=", "&lt;".</summary>
public sealed record CellComparisonSyntax(string Operator, CellSyntax Left, CellSyntax Right, CellLocation Location) : CellSyntax(Location);

/// <summary>A function call such as <c>sigmoid(f)</c> or <c>where(u &gt;= 0, a, b)</c>.</summary>
public sealed record CellCallSyntax(string Function, ImmutableArray<CellSyntax> Arguments, CellLocation Location) : CellSyntax(Location);

/// <summary>One step line <c>target = value</c>; <see cref="Target"/> may be primed.</summary>
public sealed record CellLineSyntax(CellNameSyntax Target, CellSyntax Value, int Index);

using System.Text.Json.Serialization;

namespace ForgetGate.Lab.Storage;

/// <summary>Source-generated JSON for the few JSON columns the store writes.</summary>
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(long[]))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;

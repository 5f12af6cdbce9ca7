using ForgetGate.Lab.Storage.Postgres;
using Npgsql;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>The PostgreSQL forms of <c>--db</c>: URL and keyword string, defaults, password masking, errors naming the value.</summary>
public sealed class PostgresConnectionTests
{
    [Theory]
    [InlineData("postgres://lab@db.lab:6543/forgetgate", "db.lab", 6543, "forgetgate", "lab")]
    [InlineData("postgresql://lab@db.lab/forgetgate", "db.lab", 5432, "forgetgate", "lab")]
    [InlineData("postgres://l%40b:s%3Acret@10.0.0.5:5433/fg%20lab", "10.0.0.5", 5433, "fg lab", "l@b")]
    [InlineData("Host=db.lab;Port=5999;Database=forgetgate;Username=lab", "db.lab", 5999, "forgetgate", "lab")]
    public void Parse_UrlOrKeywords_HostPortDatabaseUser(string value, string host, int port, string database, string user)
    {
        Assert.True(RunStores.IsPostgres(value));
        var parsed = new NpgsqlConnectionStringBuilder(PostgresConnection.Parse(value).ConnectionString);
        Assert.Equal((host, port, database, user), (parsed.Host, parsed.Port, parsed.Database, parsed.Username));
    }

    [Fact]
    public void Parse_PasswordAndSslMode_PasswordKeptButNeverDisplayed()
    {
        var connection = PostgresConnection.Parse("postgres://lab:s3cret@db.lab:5432/forgetgate?sslmode=require&application_name=sweeper");
        var parsed = new NpgsqlConnectionStringBuilder(connection.ConnectionString);
        Assert.Equal(("s3cret", SslMode.Require, "sweeper"), (parsed.Password, parsed.SslMode, parsed.ApplicationName));
        Assert.Equal("postgres://lab@db.lab:5432/forgetgate", connection.Display);
        Assert.Equal("postgres://lab@db.lab:5432/forgetgate", RunStores.Describe("postgres://lab:s3cret@db.lab:5432/forgetgate"));
        Assert.DoesNotContain("s3cret", PostgresConnection.Mask("postgres://lab:s3cret@db.lab/forgetgate"), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", PostgresConnection.Mask("Host=db.lab;Database=fg;Password=s3cret"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://lab:pw@db.lab:5432/", "no database name")]
    [InlineData("postgres://lab@db.lab/fg?frobnicate=1", "URL parameter 'frobnicate=1' is not understood")]
    [InlineData("Host=;Database=fg", "no host")]
    [InlineData("Host=db.lab;Database=fg;Colour=blue", "not a valid PostgreSQL connection string")]
    public void Parse_Malformed_ErrorNamesTheProblemWithoutThePassword(string value, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => PostgresConnection.Parse(value));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw@", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("results/forgetgate.db")]
    [InlineData("/tmp/postgres.db")]
    public void IsPostgres_FilePaths_AreSqlite(string value) => Assert.False(RunStores.IsPostgres(value));
}

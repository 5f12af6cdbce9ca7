namespace ForgetGate.Lab.Cli.Errors;

/// <summary>The process exit codes of <c>forgetgate</c> (README, "Command line"): scripts branch on them.</summary>
internal static class ExitCodes
{
    /// <summary>The command did its job.</summary>
    public const int Success = 0;

    /// <summary>The command ran, but what it reports is a failure: a run failed, a reproduction differs, a check found a mismatch, nothing could be retried.</summary>
    public const int Failed = 1;

    /// <summary>Bad input: an unknown option or argument, an invalid spec or <c>--set</c>, an unknown sweep or run, a file or folder that does not exist.</summary>
    public const int BadInput = 2;

    /// <summary>The store or a file cannot be used: database locked, read-only, full, corrupt or unreachable; a file that cannot be read or written.</summary>
    public const int Unavailable = 3;

    /// <summary>An unexpected error (a bug): the message asks for <c>--verbose</c> and a report.</summary>
    public const int Internal = 4;

    /// <summary>Interrupted (Ctrl-C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}

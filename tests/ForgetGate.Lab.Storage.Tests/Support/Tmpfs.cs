using System.Diagnostics;
using System.Globalization;

namespace ForgetGate.Lab.Storage.Tests.Support;

/// <summary>A small tmpfs mounted for one test (needs root with CAP_SYS_ADMIN); unmounted on dispose.</summary>
internal sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB at a fresh directory, or returns null when mounting is not permitted here.</summary>
    public static Tmpfs? TryMount(int megabytes)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fg-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        if (Run("mount", string.Create(CultureInfo.InvariantCulture, $"-t tmpfs -o size={megabytes}m tmpfs {path}")) == 0)
        {
            return new Tmpfs(path);
        }

        Directory.Delete(path);
        return null;
    }

    public void Remount(string options) => Assert.Equal(0, Run("mount", $"-o remount,{options} {Path}"));

    /// <summary>Fills the file system with a file until the kernel says no space is left; returns the file.</summary>
    public string Fill()
    {
        string filler = System.IO.Path.Combine(Path, "filler");
        var block = new byte[64 * 1024];
        using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                stream.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full now. Smaller writes take the last partial block.
        }

        try
        {
            while (true)
            {
                stream.Write(block, 0, 512);
            }
        }
        catch (IOException)
        {
        }

        return filler;
    }

    public void Dispose()
    {
        Run("umount", "-l " + Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}

using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Numerics.Tests.Serialization;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_CreatesTheFolder_AndReplacesTheFileWhole()
    {
        var path = Path.Combine(_dir, "a", "b", "x.bin");
        AtomicFile.Write(path, [1, 2, 3]);
        AtomicFile.Write(path, [4, 5]);
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Equal(["x.bin"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void FailedWrite_KeepsTheOldContent_AndLeavesNoTemporaryFile()
    {
        var path = Path.Combine(_dir, "x.bin");
        AtomicFile.Write(path, [7, 7, 7]);
        var error = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[4096]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", error.Message);
        Assert.Equal([7, 7, 7], File.ReadAllBytes(path));
        Assert.Equal(["x.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ConcurrentWriters_LeaveOneWholeContent()
    {
        // A worker and its zombie may write the same checkpoint path: each writer has its own temporary file, so the
        // result is one writer's bytes, never a mix (with one shared temporary name they interleave or fail).
        var path = Path.Combine(_dir, "x.bin");
        var contents = Enumerable.Range(1, 4).Select(w => Enumerable.Repeat((byte)w, 1 << 20).ToArray()).ToArray();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, w =>
        {
            for (int i = 0; i < 10; i++)
            {
                AtomicFile.Write(path, contents[w]);
            }
        });
        var final = File.ReadAllBytes(path);
        Assert.Equal(1 << 20, final.Length);
        Assert.Contains(contents, c => c.AsSpan().SequenceEqual(final));
        Assert.Equal(["x.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}

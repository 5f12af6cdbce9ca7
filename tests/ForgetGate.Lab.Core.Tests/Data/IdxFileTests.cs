using ForgetGate.Lab.Core.Data;

namespace ForgetGate.Lab.Core.Tests.Data;

public sealed class IdxFileTests
{
    private static InvalidDataException Rejects(byte[] content, int rank, bool gzip = true)
    {
        using var f = new IdxFixture();
        f.Write("bad", content, gzip);
        var path = f.PathOf("bad");
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path, rank));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_ValidImages_GzipOrRaw(bool gzip)
    {
        using var f = new IdxFixture(gzip: gzip);
        var a = IdxFile.Read(f.PathOf("train-images-idx3-ubyte"), 3);
        Assert.Equal([200, 6, 6], a.Dimensions);
        Assert.Equal(200 * 36, a.Data.Length);
    }

    [Fact]
    public void Read_ForeignFile_NamesMagic() =>
        Assert.Contains("not an IDX file", Rejects("PK\u0003\u0004 zip"u8.ToArray(), 3).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_WrongElementType_IsRejected() =>
        Assert.Contains("element type 0x0d", Rejects(IdxFixture.Header(0x0D, 1, [3]).Concat(new byte[12]).ToArray(), 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_LabelsWhereImagesExpected_NamesRank() =>
        Assert.Contains("1 dimension(s); expected 3 (images)", Rejects(IdxFixture.Labels(10, 10), 3).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_TruncatedData_SaysTruncated() =>
        Assert.Contains("truncated", Rejects(IdxFixture.Labels(10, 10)[..^3], 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_TrailingBytes_SaysLonger() =>
        Assert.Contains("longer than its header says", Rejects([.. IdxFixture.Labels(10, 10), 1, 2], 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_TruncatedHeader_IsRejected() =>
        Assert.Contains("truncated IDX header", Rejects([0, 0, 8, 3, 0, 0], 3, gzip: false).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_ZeroDimension_IsRejected() =>
        Assert.Contains("dimension 0 is 0", Rejects(IdxFixture.Header(0x08, 1, [0]), 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Read_CorruptGzip_NamesTheFile()
    {
        using var f = new IdxFixture();
        var path = f.PathOf("train-images-idx3-ubyte");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path, 3));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFrom_CountMismatch_NamesBothFiles()
    {
        using var f = new IdxFixture();
        f.Write("train-labels-idx1-ubyte", IdxFixture.Labels(199, 10), gzip: true);
        Assert.True(DatasetLocator.TryFind("fixture", f.Directory, out var location));
        var e = Assert.Throws<InvalidDataException>(() => ImageDataset.LoadFrom("fixture", location));
        Assert.Contains("199 labels for 200 images", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Find_Missing_ListsEveryFolderAndHowToGetIt()
    {
        var e = Assert.Throws<DatasetNotFoundException>(() => DatasetLocator.Find("kmnist", "/nonexistent/kmnist"));
        Assert.Contains("/nonexistent/kmnist (given path)", e.Message, StringComparison.Ordinal);
        Assert.Contains("/usr/share/datasets/kmnist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fingerprint_DoesNotDependOnCompression()
    {
        using var gz = new IdxFixture(gzip: true);
        using var raw = new IdxFixture(gzip: false);
        DatasetLocator.TryFind("a", gz.Directory, out var a);
        DatasetLocator.TryFind("b", raw.Directory, out var b);
        Assert.Equal(ImageDataset.LoadFrom("a", a).Fingerprint, ImageDataset.LoadFrom("b", b).Fingerprint);
    }

    [Fact]
    public void Load_RealFashionMnist_HasKnownShapeBalanceAndHashes()
    {
        // CI installs Debian's dataset-fashion-mnist; without it this fails and says how to get it.
        var d = ImageDataset.Load("fashion-mnist", "/usr/share/datasets/fashion-mnist");
        Assert.Equal(60_000, d.TrainLabels.Length);
        Assert.Equal(10_000, d.TestLabels.Length);
        Assert.Equal((28, 28, 10), (d.Rows, d.Columns, d.Classes));
        Assert.All(d.TrainLabels.CountBy(l => l), c => Assert.Equal(6000, c.Value));
        Assert.All(d.TestLabels.CountBy(l => l), c => Assert.Equal(1000, c.Value));
        // SHA-256 of the decompressed files (`zcat FILE | sha256sum`), independent of how the package gzipped them.
        Assert.Equal("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", d.FileHashes["train-images-idx3-ubyte"]);
        Assert.Equal("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", d.FileHashes["train-labels-idx1-ubyte"]);
        Assert.Equal("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", d.FileHashes["t10k-images-idx3-ubyte"]);
        Assert.Equal("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", d.FileHashes["t10k-labels-idx1-ubyte"]);
    }
}

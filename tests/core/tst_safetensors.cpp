// SPDX-License-Identifier: MIT
// Safetensors reader/writer: round trips, the on-disk layout, and malformed files built byte by
// byte, each of which must be rejected with a core::Error that names the file and the problem.
#include "error.h"
#include "io/safetensors.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

using namespace astpeft::core;

Q_DECLARE_METATYPE(astpeft::core::DType)
Q_DECLARE_METATYPE(astpeft::core::ErrorKind)
Q_DECLARE_METATYPE(std::vector<std::int64_t>)

namespace {

// 8-byte little-endian length prefix followed by `header` and `data`.
QByteArray fileBytes(std::uint64_t headerLen, const QByteArray &header, const QByteArray &data = {})
{
    QByteArray out(8, '\0');
    std::memcpy(out.data(), &headerLen, 8);
    return out + header + data;
}

QByteArray fileBytes(const QByteArray &header, const QByteArray &data = {})
{
    return fileBytes(std::uint64_t(header.size()), header, data);
}

void writeRaw(const std::filesystem::path &path, const QByteArray &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.constData(), bytes.size());
    QVERIFY(out.good());
}

QByteArray readRaw(const std::filesystem::path &path)
{
    QFile f(QString::fromStdString(path.string()));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

// Deterministic, non-trivial content (so that misplaced bytes are noticed).
std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> bytes(n);
    for (std::size_t i = 0; i < n; ++i)
        bytes[i] = std::byte((i * 131 + seed * 17 + 7) & 0xff);
    return bytes;
}

std::size_t byteSize(const std::vector<std::int64_t> &shape, DType dtype)
{
    std::size_t n = dtypeSize(dtype);
    for (auto d : shape)
        n *= std::size_t(d);
    return n;
}

QByteArray asQBytes(std::span<const std::byte> bytes)
{
    return QByteArray(reinterpret_cast<const char *>(bytes.data()), qsizetype(bytes.size()));
}

} // namespace

class TestSafetensors : public QObject
{
    Q_OBJECT

private slots:
    void init();

    void dtypes_data();
    void dtypes();
    void roundTrip_data();
    void roundTrip();
    void roundTripManyTensors();
    void layout();
    void acceptsValidEdgeCases_data();
    void acceptsValidEdgeCases();
    void moveSemantics();
    void malformed_data();
    void malformed();
    void missingFile();
    void writerRejects_data();
    void writerRejects();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::filesystem::path file(const QString &name) const
    {
        return std::filesystem::path(m_dir->filePath(name).toStdString());
    }
};

void TestSafetensors::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestSafetensors::dtypes_data()
{
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("size");
    QTest::addRow("F64") << DType::F64 << "F64" << 8;
    QTest::addRow("F32") << DType::F32 << "F32" << 4;
    QTest::addRow("F16") << DType::F16 << "F16" << 2;
    QTest::addRow("BF16") << DType::BF16 << "BF16" << 2;
    QTest::addRow("I64") << DType::I64 << "I64" << 8;
    QTest::addRow("I32") << DType::I32 << "I32" << 4;
    QTest::addRow("I16") << DType::I16 << "I16" << 2;
    QTest::addRow("I8") << DType::I8 << "I8" << 1;
    QTest::addRow("U8") << DType::U8 << "U8" << 1;
    QTest::addRow("BOOL") << DType::Bool << "BOOL" << 1;
}

void TestSafetensors::dtypes()
{
    QFETCH(DType, dtype);
    QFETCH(QString, name);
    QFETCH(int, size);
    QCOMPARE(QString::fromStdString(dtypeName(dtype)), name);
    QCOMPARE(int(dtypeSize(dtype)), size);
    QVERIFY(parseDType(name.toStdString()) == dtype);
    QVERIFY(!parseDType(name.toLower().toStdString()));
    QVERIFY(!parseDType("F8_E4M3"));
}

void TestSafetensors::roundTrip_data()
{
    QTest::addColumn<DType>("dtype");
    QTest::addColumn<std::vector<std::int64_t>>("shape");
    using Shape = std::vector<std::int64_t>;
    QTest::addRow("f32 2x3") << DType::F32 << Shape { 2, 3 };
    QTest::addRow("f64 vector") << DType::F64 << Shape { 5 };
    QTest::addRow("f16 3x1x2") << DType::F16 << Shape { 3, 1, 2 };
    QTest::addRow("bf16 4x4") << DType::BF16 << Shape { 4, 4 };
    QTest::addRow("i64 2") << DType::I64 << Shape { 2 };
    QTest::addRow("i32 1x1x1x7") << DType::I32 << Shape { 1, 1, 1, 7 };
    QTest::addRow("i16 3") << DType::I16 << Shape { 3 };
    QTest::addRow("i8 odd length") << DType::I8 << Shape { 13 };
    QTest::addRow("u8 5x5") << DType::U8 << Shape { 5, 5 };
    QTest::addRow("bool 9") << DType::Bool << Shape { 9 };
    QTest::addRow("0-d scalar") << DType::F32 << Shape {};
    QTest::addRow("zero-size") << DType::F32 << Shape { 0, 768 };
    QTest::addRow("rank 8") << DType::U8 << Shape { 1, 2, 1, 2, 1, 2, 1, 2 };
}

void TestSafetensors::roundTrip()
{
    QFETCH(DType, dtype);
    QFETCH(std::vector<std::int64_t>, shape);
    const auto bytes = pattern(byteSize(shape, dtype), 1);
    const auto other = pattern(12, 2); // a neighbour, so that offsets are not all zero
    const std::map<std::string, std::string> metadata { { "format", "pt" },
        { "note", "ünïcode \"quoted\"" } };
    const auto path = file("t.safetensors");
    writeSafetensors(path,
        { { "z.tensor", dtype, shape, bytes }, { "a.neighbour", DType::F32, { 3 }, other } },
        metadata);

    SafetensorsFile st(path);
    QCOMPARE(st.path(), path);
    QVERIFY(st.metadata() == metadata);
    QCOMPARE(st.tensors().size(), std::size_t(2));
    QCOMPARE(QString::fromStdString(st.tensors()[0].name), QString("a.neighbour"));
    const TensorInfo *t = st.find("z.tensor");
    QVERIFY(t);
    QVERIFY(t->dtype == dtype);
    QVERIFY(t->shape == shape);
    std::int64_t numel = 1;
    for (auto d : shape)
        numel *= d;
    QCOMPARE(t->numel(), numel);
    // Name order: the neighbour comes first.
    QCOMPARE(t->begin, std::uint64_t(12));
    QCOMPARE(t->end, std::uint64_t(12 + bytes.size()));
    QCOMPARE(asQBytes(st.data(*t)), asQBytes(bytes));
    QCOMPARE(asQBytes(st.data(*st.find("a.neighbour"))), asQBytes(other));
    QVERIFY(!st.find("missing"));
}

void TestSafetensors::roundTripManyTensors()
{
    // Write, read, write what was read: the two files must be byte-identical.
    std::vector<std::vector<std::byte>> storage;
    std::vector<TensorToWrite> tensors;
    const std::vector<std::pair<DType, std::vector<std::int64_t>>> specs {
        { DType::F32, { 4, 3 } },
        { DType::F16, {} },
        { DType::BF16, { 0 } },
        { DType::I64, { 2, 0, 5 } },
        { DType::U8, { 7 } },
        { DType::Bool, { 1 } },
        { DType::F64, { 3 } },
    };
    storage.reserve(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
        storage.push_back(pattern(byteSize(specs[i].second, specs[i].first), unsigned(i)));
        tensors.push_back({ "layer." + std::to_string(specs.size() - i) + ".weight", specs[i].first,
            specs[i].second, storage.back() });
    }
    const auto first = file("first.safetensors");
    writeSafetensors(first, tensors, { { "format", "pt" } });

    SafetensorsFile st(first);
    QCOMPARE(st.tensors().size(), specs.size());
    std::vector<TensorToWrite> again;
    for (const auto &t : st.tensors())
        again.push_back({ t.name, t.dtype, t.shape, st.data(t) });
    const auto second = file("second.safetensors");
    writeSafetensors(second, again, st.metadata());
    QCOMPARE(readRaw(second), readRaw(first));

    for (std::size_t i = 0; i < specs.size(); ++i) {
        const TensorInfo *t = st.find(tensors[i].name);
        QVERIFY(t);
        QCOMPARE(asQBytes(st.data(*t)), asQBytes(storage[i]));
    }
}

void TestSafetensors::layout()
{
    // What safetensors.torch.save_file writes for these tensors, up to the tensor order (the
    // reference sorts by alignment first, we by name): metadata first, fields in the order
    // dtype, shape, data_offsets, no spaces, then spaces up to a multiple of 8.
    const std::vector<float> a { 1.0f, 2.0f };
    const std::vector<std::int16_t> b { -1, 2, 3 };
    const auto path = file("layout.safetensors");
    writeSafetensors(path,
        { { "b", DType::I16, { 3 }, std::as_bytes(std::span(b)) },
            { "a", DType::F32, { 1, 2 }, std::as_bytes(std::span(a)) } },
        { { "format", "pt" } });
    const QByteArray raw = readRaw(path);
    const QByteArray json = R"({"__metadata__":{"format":"pt"},)"
                            R"("a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"I16","shape":[3],"data_offsets":[8,14]}})";
    const qsizetype padded = (json.size() + 7) / 8 * 8;
    QVERIFY(raw.size() >= 8);
    std::uint64_t headerLen = 0;
    std::memcpy(&headerLen, raw.constData(), 8);
    QCOMPARE(headerLen, std::uint64_t(padded));
    QCOMPARE(headerLen % 8, std::uint64_t(0));
    QCOMPARE(raw.mid(8, json.size()), json);
    QCOMPARE(raw.mid(8 + json.size(), padded - json.size()), QByteArray(padded - json.size(), ' '));
    QCOMPARE(raw.size(), 8 + padded + 14);
    QCOMPARE(raw.mid(8 + padded, 8),
        QByteArray(reinterpret_cast<const char *>(a.data()), 8)); // little-endian floats
    QCOMPARE(raw.mid(8 + padded + 8, 6), QByteArray("\xff\xff\x02\x00\x03\x00", 6));

    // A file without metadata has no "__metadata__" key at all.
    writeSafetensors(path, { { "a", DType::F32, { 1, 2 }, std::as_bytes(std::span(a)) } });
    const QByteArray bare = readRaw(path);
    QVERIFY(!bare.contains("__metadata__"));
    std::memcpy(&headerLen, bare.constData(), 8);
    QCOMPARE(bare.mid(8, int(headerLen)).trimmed(),
        QByteArray(R"({"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})"));
}

void TestSafetensors::acceptsValidEdgeCases_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("tensorCount");
    QTest::addColumn<int>("metadataCount");
    QTest::addRow("empty header object") << fileBytes("{}") << 0 << 0;
    QTest::addRow("trailing spaces") << fileBytes("{}      ") << 0 << 0;
    QTest::addRow("trailing newline and tab") << fileBytes("{}\n\t") << 0 << 0;
    QTest::addRow("metadata only") << fileBytes(R"({"__metadata__":{"a":"b","c":""}})") << 0 << 2;
    QTest::addRow("zero-size tensors at shared offsets") << fileBytes(
        R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
        R"("a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},)"
        R"("z":{"dtype":"F16","shape":[2,0],"data_offsets":[0,0]},)"
        R"("b":{"dtype":"U8","shape":[],"data_offsets":[4,5]}})",
        "abcde") << 4 << 0;
    QTest::addRow("header not padded to 8")
        << fileBytes(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "!") << 1 << 0;
}

void TestSafetensors::acceptsValidEdgeCases()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, tensorCount);
    QFETCH(int, metadataCount);
    const auto path = file("valid.safetensors");
    writeRaw(path, bytes);
    try {
        SafetensorsFile st(path);
        QCOMPARE(int(st.tensors().size()), tensorCount);
        QCOMPARE(int(st.metadata().size()), metadataCount);
        for (std::size_t i = 1; i < st.tensors().size(); ++i)
            QVERIFY(st.tensors()[i - 1].name < st.tensors()[i].name);
        for (const auto &t : st.tensors())
            QCOMPARE(st.data(t).size(), std::size_t(t.end - t.begin));
    } catch (const Error &e) {
        QFAIL(e.what());
    }
}

void TestSafetensors::moveSemantics()
{
    const std::vector<float> v { 1.5f, -2.5f, 3.25f };
    const auto pathA = file("a.safetensors");
    const auto pathB = file("b.safetensors");
    writeSafetensors(pathA, { { "v", DType::F32, { 3 }, std::as_bytes(std::span(v)) } });
    writeSafetensors(pathB, { { "w", DType::F32, { 1 }, std::as_bytes(std::span(v).first(1)) } });

    SafetensorsFile a(pathA);
    SafetensorsFile moved(std::move(a));
    QCOMPARE(moved.path(), pathA);
    const auto span = moved.data(*moved.find("v"));
    QCOMPARE(asQBytes(span), asQBytes(std::as_bytes(std::span(v))));

    SafetensorsFile b(pathB);
    b = std::move(moved); // unmaps b's file, takes over a's mapping
    QCOMPARE(b.path(), pathA);
    QVERIFY(b.find("v"));
    QVERIFY(!b.find("w"));
    QCOMPARE(asQBytes(b.data(*b.find("v"))), asQBytes(std::as_bytes(std::span(v))));

    // The mapping is independent of the path: replacing the file leaves the old view intact.
    const std::vector<float> w { 9.0f, 9.0f, 9.0f };
    writeSafetensors(pathA, { { "v", DType::F32, { 3 }, std::as_bytes(std::span(w)) } });
    QCOMPARE(asQBytes(b.data(*b.find("v"))), asQBytes(std::as_bytes(std::span(v))));
}

void TestSafetensors::malformed_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<QString>("phrase");

    const auto format = ErrorKind::Format;
    auto one = [](const char *entry, const QByteArray &data = {}) {
        return fileBytes(QByteArray(R"({"t":)") + entry + "}", data);
    };

    QTest::addRow("empty file") << QByteArray() << format << "too short";
    QTest::addRow("too short") << QByteArray("\x08\x00\x00", 3) << format << "too short";
    QTest::addRow("header length exceeds file")
        << fileBytes(100, "{}      ") << format << "header length 100 exceeds the file size of 16";
    QTest::addRow("zero header length")
        << fileBytes(0, "{}      ") << format << "header length is 0";
    QTest::addRow("huge header length")
        << fileBytes(std::uint64_t(1) << 40, "{}      ") << format << "exceeds the maximum";
    QTest::addRow("all-ones header length")
        << fileBytes(~std::uint64_t(0), "{}      ") << format << "exceeds the maximum";
    QTest::addRow("invalid JSON") << fileBytes(R"({"t": )") << format << "header is not valid JSON";
    QTest::addRow("trailing garbage") << fileBytes("{} xx") << format << "header is not valid JSON";
    QTest::addRow("invalid UTF-8")
        << fileBytes("{\"\xff\":1}") << format << "header is not valid JSON";
    QTest::addRow("JSON array") << fileBytes("[1, 2, 3]") << format
                                << "header is not a JSON object";
    QTest::addRow("leading space") << fileBytes(" {}") << format << "does not start with '{'";
    QTest::addRow("duplicate tensor name") << fileBytes(
        R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
        R"("t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
        "ab") << format << "duplicate header key 't'";
    QTest::addRow("unknown dtype F8_E4M3")
        << one(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})", "a")
        << ErrorKind::Unsupported << "tensor 't': unsupported dtype 'F8_E4M3'";
    QTest::addRow("unknown dtype Q4") << one(R"({"dtype":"Q4","shape":[1],"data_offsets":[0,1]})",
        "a") << ErrorKind::Unsupported << "unsupported dtype 'Q4'";
    QTest::addRow("dtype not a string") << one(R"({"dtype":4,"shape":[1],"data_offsets":[0,1]})",
        "a") << format << "dtype is not a string";
    QTest::addRow("negative shape") << one(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,0]})")
                                    << format << "shape dimension -1 is negative";
    QTest::addRow("fractional shape")
        << one(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})", "abcd") << format
        << "shape dimension 1.5 is not an integer";
    QTest::addRow("string shape") << one(R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})",
        "abcd") << format << "is not an integer";
    QTest::addRow("shape not an array") << one(R"({"dtype":"F32","shape":1,"data_offsets":[0,4]})",
        "abcd") << format << "shape is not an array";
    QTest::addRow("rank 9") << one(
        R"({"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]})", "a")
                            << format << "rank 9";
    QTest::addRow("element count overflow")
        << one(R"({"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]})")
        << format << "overflows the element count";
    QTest::addRow("data_offsets three entries")
        << one(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})", "a") << format
        << "data_offsets must be an array of exactly 2";
    QTest::addRow("data_offsets one entry")
        << one(R"({"dtype":"U8","shape":[1],"data_offsets":[1]})", "a") << format
        << "data_offsets must be an array of exactly 2";
    QTest::addRow("negative data_offsets")
        << one(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})", "a") << format
        << "is not a non-negative integer";
    QTest::addRow("begin > end") << one(R"({"dtype":"U8","shape":[1],"data_offsets":[2,1]})", "abc")
                                 << format << "data_offsets begin 2 is greater than end 1";
    QTest::addRow("byte count mismatch")
        << one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", "abcd") << format
        << "byte count mismatch: shape [2] of F32 needs 8 bytes but data_offsets span 4";
    QTest::addRow("truncated data") << one(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})",
        "abcdefgh") << format << "but the data section has only 8 bytes (out of range; truncated";
    QTest::addRow("end beyond data") << fileBytes(
        R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1000,1002]}})",
        "ab") << format << "tensor 'b' ends at data byte 1002";
    QTest::addRow("overlapping tensors") << fileBytes(
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
        "0123456789ab") << format << "tensors 'a' and 'b' overlap";
    QTest::addRow("identical offsets") << fileBytes(
        R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
        "0123") << format << "overlap";
    QTest::addRow("hole between tensors") << fileBytes(
        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
        "0123456789ab") << format << "hole in the data section: bytes 4 to 8";
    QTest::addRow("hole at the start") << one(R"({"dtype":"U8","shape":[2],"data_offsets":[2,4]})",
        "abcd") << format << "hole in the data section: bytes 0 to 2";
    QTest::addRow("trailing data") << one(R"({"dtype":"U8","shape":[2],"data_offsets":[0,2]})",
        "abcd") << format << "hole in the data section: bytes 2 to 4 at its end";
    QTest::addRow("data without tensors") << fileBytes("{}", "junk") << format << "hole";
    QTest::addRow("metadata value not a string")
        << fileBytes(R"({"__metadata__":{"epochs":3}})") << format
        << "__metadata__ must map strings to strings, but key 'epochs' has a number value";
    QTest::addRow("metadata nested object") << fileBytes(R"({"__metadata__":{"a":{"b":"c"}}})")
                                            << format << "must map strings to strings";
    QTest::addRow("metadata not an object")
        << fileBytes(R"({"__metadata__":["a"]})") << format << "__metadata__ is not a JSON object";
    QTest::addRow("missing dtype") << one(R"({"shape":[1],"data_offsets":[0,1]})", "a") << format
                                   << "tensor 't': missing field 'dtype'";
    QTest::addRow("missing shape")
        << one(R"({"dtype":"U8","data_offsets":[0,1]})", "a") << format << "missing field 'shape'";
    QTest::addRow("missing data_offsets")
        << one(R"({"dtype":"U8","shape":[1]})", "a") << format << "missing field 'data_offsets'";
    QTest::addRow("extra field") << one(
        R"({"dtype":"U8","shape":[1],"data_offsets":[0,1],"stride":[1]})", "a")
                                 << format << "unexpected field 'stride'";
    QTest::addRow("entry not an object")
        << one("[1]") << format << "tensor 't': header entry is not a JSON object";
    QTest::addRow("empty tensor name")
        << fileBytes(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "a") << format
        << "empty tensor name";
}

void TestSafetensors::malformed()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorKind, kind);
    QFETCH(QString, phrase);
    // A distinct name per row, so that the file name check cannot pass by accident.
    const QString name =
        QString("bad_%1.safetensors").arg(QTest::currentDataTag()).replace(' ', '_');
    const auto path = file(name);
    writeRaw(path, bytes);
    try {
        SafetensorsFile st(path);
        QFAIL("accepted a malformed file");
    } catch (const Error &e) {
        const QString what = QString::fromUtf8(e.what());
        QVERIFY2(what.contains(name), qPrintable(what));
        QVERIFY2(what.startsWith(QString::fromStdString(path.string()) + ": "), qPrintable(what));
        QVERIFY2(what.contains(phrase), qPrintable(what));
        QVERIFY2(e.kind() == kind, qPrintable(what));
        QCOMPARE(e.file(), path);
    }
}

void TestSafetensors::missingFile()
{
    const auto path = file("nowhere.safetensors");
    try {
        SafetensorsFile st(path);
        QFAIL("opened a missing file");
    } catch (const Error &e) {
        QVERIFY(e.kind() == ErrorKind::Io);
        QVERIFY2(QString(e.what()).contains("nowhere.safetensors"), e.what());
    }
    try {
        SafetensorsFile st(std::filesystem::path(m_dir->path().toStdString()));
        QFAIL("opened a folder");
    } catch (const Error &e) {
        QVERIFY(e.kind() == ErrorKind::Io);
    }
}

void TestSafetensors::writerRejects_data()
{
    QTest::addColumn<int>("which");
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<QString>("phrase");
    QTest::addRow("duplicate names") << 0 << ErrorKind::Usage << "duplicate tensor name 'x'";
    QTest::addRow("too few bytes") << 1 << ErrorKind::Internal << "needs 12 bytes but 8 were given";
    QTest::addRow("too many bytes") << 2 << ErrorKind::Internal << "needs 4 bytes but 8 were given";
    QTest::addRow("empty name") << 3 << ErrorKind::Usage << "empty name";
    QTest::addRow("negative dimension") << 4 << ErrorKind::Usage << "negative dimension";
    QTest::addRow("reserved name") << 5 << ErrorKind::Usage << "'__metadata__' is not a valid";
}

void TestSafetensors::writerRejects()
{
    QFETCH(int, which);
    QFETCH(ErrorKind, kind);
    QFETCH(QString, phrase);
    const auto bytes = pattern(8, 0);
    const std::span<const std::byte> eight(bytes);
    std::vector<TensorToWrite> tensors;
    switch (which) {
    case 0:
        tensors = { { "x", DType::F32, { 2 }, eight }, { "x", DType::U8, { 8 }, eight } };
        break;
    case 1:
        tensors = { { "x", DType::F32, { 3 }, eight } };
        break;
    case 2:
        tensors = { { "x", DType::F32, {}, eight } };
        break;
    case 3:
        tensors = { { "", DType::U8, { 8 }, eight } };
        break;
    case 4:
        tensors = { { "x", DType::U8, { -8 }, eight } };
        break;
    case 5:
        tensors = { { "__metadata__", DType::U8, { 8 }, eight } };
        break;
    }
    const auto path = file("out.safetensors");
    try {
        writeSafetensors(path, tensors);
        QFAIL("wrote an invalid file");
    } catch (const Error &e) {
        QVERIFY2(e.kind() == kind, e.what());
        QVERIFY2(QString(e.what()).contains(phrase), e.what());
        QVERIFY2(QString(e.what()).contains("out.safetensors"), e.what());
    }
    QVERIFY(!std::filesystem::exists(path));
    QCOMPARE(QDir(m_dir->path()).entryList(QDir::Files | QDir::Hidden).size(), 0);
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"

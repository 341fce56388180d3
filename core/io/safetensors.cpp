// SPDX-License-Identifier: MIT
#include "io/safetensors.h"

#include "error.h"
#include "io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace astpeft::core {

static_assert(
    std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxRank = 8;

struct DTypeEntry
{
    DType dtype;
    const char *name;
    std::size_t size; // bytes per element
};

constexpr std::array<DTypeEntry, 10> kDTypes { {
    { DType::F64, "F64", 8 },
    { DType::F32, "F32", 4 },
    { DType::F16, "F16", 2 },
    { DType::BF16, "BF16", 2 },
    { DType::I64, "I64", 8 },
    { DType::I32, "I32", 4 },
    { DType::I16, "I16", 2 },
    { DType::I8, "I8", 1 },
    { DType::U8, "U8", 1 },
    { DType::Bool, "BOOL", 1 },
} };

const DTypeEntry &entryOf(DType dtype)
{
    for (const auto &e : kDTypes) {
        if (e.dtype == dtype)
            return e;
    }
    throw Error(ErrorKind::Internal, "invalid DType value " + std::to_string(int(dtype)));
}

std::string inQuotes(const std::string &name)
{
    return "'" + name + "'";
}

std::string shapeString(const std::vector<std::int64_t> &shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// numel * dtypeSize in bytes; nullopt when the product does not fit 63 bits. All dimensions must
// already be non-negative.
std::optional<std::uint64_t> byteCount(const std::vector<std::int64_t> &shape, DType dtype)
{
    std::uint64_t count = 1;
    for (auto d : shape) {
        if (__builtin_mul_overflow(count, std::uint64_t(d), &count))
            return std::nullopt;
    }
    if (__builtin_mul_overflow(count, std::uint64_t(dtypeSize(dtype)), &count))
        return std::nullopt;
    if (count > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        return std::nullopt;
    return count;
}

// The fd is owned for the scope of the reader's constructor only; the mapping outlives it.
class FdGuard
{
public:
    explicit FdGuard(int fd)
        : m_fd(fd)
    { }
    ~FdGuard()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    FdGuard(const FdGuard &) = delete;
    FdGuard &operator=(const FdGuard &) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

TensorInfo parseTensorEntry(
    const std::string &name, const Json &entry, const std::filesystem::path &path)
{
    const std::string t = "tensor " + inQuotes(name);
    if (!entry.is_object())
        throw Error(ErrorKind::Format, t + ": header entry is not a JSON object", path);
    for (const auto &[key, value] : entry.items()) {
        (void)value;
        if (key != "dtype" && key != "shape" && key != "data_offsets")
            throw Error(ErrorKind::Format, t + ": unexpected field " + inQuotes(key), path);
    }
    for (const char *key : { "dtype", "shape", "data_offsets" }) {
        if (!entry.contains(key))
            throw Error(ErrorKind::Format, t + ": missing field '" + key + "'", path);
    }

    TensorInfo info;
    info.name = name;

    const Json &dtype = entry.at("dtype");
    if (!dtype.is_string())
        throw Error(ErrorKind::Format, t + ": dtype is not a string", path);
    const auto parsed = parseDType(dtype.get<std::string>());
    if (!parsed) {
        throw Error(ErrorKind::Unsupported,
            t + ": unsupported dtype " + inQuotes(dtype.get<std::string>()), path);
    }
    info.dtype = *parsed;

    const Json &shape = entry.at("shape");
    if (!shape.is_array())
        throw Error(ErrorKind::Format, t + ": shape is not an array", path);
    if (shape.size() > kMaxRank) {
        throw Error(ErrorKind::Format,
            t + ": shape has rank " + std::to_string(shape.size()) + ", more than "
                + std::to_string(kMaxRank),
            path);
    }
    for (const Json &d : shape) {
        if (d.is_number_unsigned()) {
            const auto v = d.get<std::uint64_t>();
            if (v > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
                throw Error(
                    ErrorKind::Format, t + ": shape dimension " + d.dump() + " is too large", path);
            }
            info.shape.push_back(std::int64_t(v));
        } else if (d.is_number_integer()) {
            throw Error(
                ErrorKind::Format, t + ": shape dimension " + d.dump() + " is negative", path);
        } else {
            throw Error(ErrorKind::Format,
                t + ": shape dimension " + d.dump() + " is not an integer", path);
        }
    }

    const Json &offsets = entry.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2) {
        throw Error(ErrorKind::Format,
            t + ": data_offsets must be an array of exactly 2 integers, got " + offsets.dump(),
            path);
    }
    for (const Json &o : offsets) {
        if (!o.is_number_unsigned()) {
            throw Error(ErrorKind::Format,
                t + ": data_offsets entry " + o.dump() + " is not a non-negative integer", path);
        }
    }
    info.begin = offsets[0].get<std::uint64_t>();
    info.end = offsets[1].get<std::uint64_t>();
    if (info.begin > info.end) {
        throw Error(ErrorKind::Format,
            t + ": data_offsets begin " + std::to_string(info.begin) + " is greater than end "
                + std::to_string(info.end),
            path);
    }

    const auto expected = byteCount(info.shape, info.dtype);
    if (!expected) {
        throw Error(ErrorKind::Format,
            t + ": shape " + shapeString(info.shape) + " overflows the element count", path);
    }
    const std::uint64_t actual = info.end - info.begin;
    if (actual != *expected) {
        throw Error(ErrorKind::Format,
            t + ": byte count mismatch: shape " + shapeString(info.shape) + " of "
                + dtypeName(info.dtype) + " needs " + std::to_string(*expected)
                + " bytes but data_offsets span " + std::to_string(actual) + " bytes",
            path);
    }
    return info;
}

} // namespace

std::size_t dtypeSize(DType dtype)
{
    return entryOf(dtype).size;
}

std::string dtypeName(DType dtype)
{
    return entryOf(dtype).name;
}

std::optional<DType> parseDType(const std::string &name)
{
    for (const auto &e : kDTypes) {
        if (name == e.name)
            return e.dtype;
    }
    return std::nullopt;
}

std::int64_t TensorInfo::numel() const
{
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path &path)
    : m_path(path)
{
    FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        throw Error(ErrorKind::Io, std::string("cannot open file: ") + std::strerror(errno), path);
    struct stat st
    {
    };
    if (::fstat(fd.get(), &st) != 0)
        throw Error(ErrorKind::Io, std::string("cannot stat file: ") + std::strerror(errno), path);
    if (!S_ISREG(st.st_mode))
        throw Error(ErrorKind::Io, "not a regular file", path);
    const auto fileSize = std::uint64_t(st.st_size);
    if (fileSize < 8) {
        throw Error(ErrorKind::Format,
            "file is " + std::to_string(fileSize)
                + " bytes, too short for a safetensors file (need at least 8)",
            path);
    }
    if (fileSize > std::numeric_limits<std::size_t>::max())
        throw Error(ErrorKind::Unsupported, "file is too large to map", path);

    void *map = ::mmap(nullptr, std::size_t(fileSize), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (map == MAP_FAILED)
        throw Error(ErrorKind::Io, std::string("cannot map file: ") + std::strerror(errno), path);
    m_map = static_cast<const std::byte *>(map);
    m_mapSize = std::size_t(fileSize);

    // From here on the destructor does not run if we throw, so unmap by hand.
    try {
        std::uint64_t headerLen = 0;
        std::memcpy(&headerLen, m_map, 8);
        if (headerLen == 0)
            throw Error(ErrorKind::Format, "header length is 0", path);
        if (headerLen > kMaxSafetensorsHeader) {
            throw Error(ErrorKind::Format,
                "header length " + std::to_string(headerLen) + " exceeds the maximum of "
                    + std::to_string(kMaxSafetensorsHeader) + " bytes",
                path);
        }
        if (8 + headerLen > fileSize) {
            throw Error(ErrorKind::Format,
                "header length " + std::to_string(headerLen) + " exceeds the file size of "
                    + std::to_string(fileSize) + " bytes",
                path);
        }
        m_dataStart = std::size_t(8 + headerLen);
        const std::uint64_t dataSize = fileSize - m_dataStart;

        const char *headerBegin = reinterpret_cast<const char *>(m_map + 8);
        const char *headerEnd = headerBegin + headerLen;
        // nlohmann keeps the last of duplicated keys silently; remember top-level keys to reject
        // duplicated tensor names instead.
        std::set<std::string> seen;
        std::string duplicate;
        const Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event,
                                                     Json &parsed) {
            if (depth == 1 && event == Json::parse_event_t::key && duplicate.empty()) {
                const auto key = parsed.get<std::string>();
                if (!seen.insert(key).second)
                    duplicate = key;
            }
            return true;
        };
        Json header;
        try {
            header = Json::parse(headerBegin, headerEnd, callback);
        } catch (const Json::exception &e) {
            throw Error(
                ErrorKind::Format, std::string("header is not valid JSON: ") + e.what(), path);
        }
        if (!header.is_object()) {
            throw Error(ErrorKind::Format,
                std::string("header is not a JSON object but a JSON ") + header.type_name(), path);
        }
        if (*headerBegin != '{')
            throw Error(ErrorKind::Format, "header does not start with '{'", path);
        if (!duplicate.empty())
            throw Error(ErrorKind::Format, "duplicate header key " + inQuotes(duplicate), path);

        for (const auto &[key, value] : header.items()) {
            if (key == "__metadata__") {
                if (!value.is_object())
                    throw Error(ErrorKind::Format, "__metadata__ is not a JSON object", path);
                for (const auto &[mk, mv] : value.items()) {
                    if (!mv.is_string()) {
                        throw Error(ErrorKind::Format,
                            "__metadata__ must map strings to strings, but key " + inQuotes(mk)
                                + " has a " + mv.type_name() + " value",
                            path);
                    }
                    m_metadata.emplace(mk, mv.get<std::string>());
                }
                continue;
            }
            if (key.empty())
                throw Error(ErrorKind::Format, "empty tensor name", path);
            m_tensors.push_back(parseTensorEntry(key, value, path));
        }
        // nlohmann objects iterate in key order, so m_tensors is already sorted by name.

        // Bounds first: a data section shorter than the largest end means a truncated file.
        const TensorInfo *last = nullptr;
        for (const auto &t : m_tensors) {
            if (!last || t.end > last->end)
                last = &t;
        }
        if (last && last->end > dataSize) {
            throw Error(ErrorKind::Format,
                "tensor " + inQuotes(last->name) + " ends at data byte " + std::to_string(last->end)
                    + " but the data section has only " + std::to_string(dataSize)
                    + " bytes (out of range; truncated file?)",
                path);
        }

        // Coverage as the reference implementation checks it: sorted by (begin, end), each tensor
        // starts where the previous one ended and the last one ends at the end of the file.
        std::vector<const TensorInfo *> order;
        order.reserve(m_tensors.size());
        for (const auto &t : m_tensors)
            order.push_back(&t);
        std::sort(order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
            return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
        });
        std::uint64_t position = 0;
        const TensorInfo *previous = nullptr;
        for (const TensorInfo *t : order) {
            if (t->begin < position) {
                throw Error(ErrorKind::Format,
                    "tensors " + inQuotes(previous->name) + " and " + inQuotes(t->name)
                        + " overlap in the data section (bytes " + std::to_string(t->begin) + " to "
                        + std::to_string(position) + ")",
                    path);
            }
            if (t->begin > position) {
                throw Error(ErrorKind::Format,
                    "hole in the data section: bytes " + std::to_string(position) + " to "
                        + std::to_string(t->begin) + " belong to no tensor",
                    path);
            }
            position = t->end;
            previous = t;
        }
        if (position != dataSize) {
            throw Error(ErrorKind::Format,
                "hole in the data section: bytes " + std::to_string(position) + " to "
                    + std::to_string(dataSize) + " at its end belong to no tensor",
                path);
        }
    } catch (...) {
        ::munmap(const_cast<std::byte *>(m_map), m_mapSize);
        m_map = nullptr;
        throw;
    }
}

SafetensorsFile::~SafetensorsFile()
{
    if (m_map)
        ::munmap(const_cast<std::byte *>(m_map), m_mapSize);
}

SafetensorsFile::SafetensorsFile(SafetensorsFile &&other) noexcept
    : m_path(std::move(other.m_path))
    , m_tensors(std::move(other.m_tensors))
    , m_metadata(std::move(other.m_metadata))
    , m_map(std::exchange(other.m_map, nullptr))
    , m_mapSize(std::exchange(other.m_mapSize, 0))
    , m_dataStart(std::exchange(other.m_dataStart, 0))
{ }

SafetensorsFile &SafetensorsFile::operator=(SafetensorsFile &&other) noexcept
{
    if (this != &other) {
        if (m_map)
            ::munmap(const_cast<std::byte *>(m_map), m_mapSize);
        m_path = std::move(other.m_path);
        m_tensors = std::move(other.m_tensors);
        m_metadata = std::move(other.m_metadata);
        m_map = std::exchange(other.m_map, nullptr);
        m_mapSize = std::exchange(other.m_mapSize, 0);
        m_dataStart = std::exchange(other.m_dataStart, 0);
    }
    return *this;
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const
{
    const auto it = std::lower_bound(m_tensors.begin(), m_tensors.end(), name,
        [](const TensorInfo &t, const std::string &n) { return t.name < n; });
    return it != m_tensors.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo &tensor) const
{
    // Guards against a TensorInfo from another file or a moved-from object.
    if (!m_map || tensor.begin > tensor.end || tensor.end > m_mapSize - m_dataStart) {
        throw Error(ErrorKind::Internal,
            "tensor " + inQuotes(tensor.name) + " does not lie inside this file's data", m_path);
    }
    return { m_map + m_dataStart + tensor.begin, std::size_t(tensor.end - tensor.begin) };
}

void SafetensorsFile::release(const TensorInfo &tensor) const
{
    const std::span<const std::byte> bytes = data(tensor);
    const std::uintptr_t page = std::uintptr_t(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t first =
        (reinterpret_cast<std::uintptr_t>(bytes.data()) + page - 1) / page * page;
    const std::uintptr_t last =
        (reinterpret_cast<std::uintptr_t>(bytes.data()) + bytes.size()) / page * page;
    if (last > first) // advisory: a failure only means the pages stay resident
        ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}

void writeSafetensors(const std::filesystem::path &path, const std::vector<TensorToWrite> &tensors,
    const std::map<std::string, std::string> &metadata)
{
    std::vector<const TensorToWrite *> order;
    order.reserve(tensors.size());
    for (const auto &t : tensors) {
        if (t.name.empty())
            throw Error(ErrorKind::Usage, "cannot write a tensor with an empty name", path);
        if (t.name == "__metadata__")
            throw Error(ErrorKind::Usage, "'__metadata__' is not a valid tensor name", path);
        if (t.shape.size() > kMaxRank) {
            throw Error(ErrorKind::Usage,
                "tensor " + inQuotes(t.name) + " has rank " + std::to_string(t.shape.size())
                    + ", more than " + std::to_string(kMaxRank),
                path);
        }
        for (auto d : t.shape) {
            if (d < 0) {
                throw Error(ErrorKind::Usage,
                    "tensor " + inQuotes(t.name) + " has a negative dimension in shape "
                        + shapeString(t.shape),
                    path);
            }
        }
        const auto expected = byteCount(t.shape, t.dtype);
        if (!expected || *expected != t.bytes.size()) {
            throw Error(ErrorKind::Internal,
                "tensor " + inQuotes(t.name) + ": shape " + shapeString(t.shape) + " of "
                    + dtypeName(t.dtype) + " needs "
                    + (expected ? std::to_string(*expected) : std::string("too many"))
                    + " bytes but " + std::to_string(t.bytes.size()) + " were given",
                path);
        }
        order.push_back(&t);
    }
    std::sort(order.begin(), order.end(),
        [](const TensorToWrite *a, const TensorToWrite *b) { return a->name < b->name; });
    for (std::size_t i = 1; i < order.size(); ++i) {
        if (order[i]->name == order[i - 1]->name) {
            throw Error(
                ErrorKind::Usage, "duplicate tensor name " + inQuotes(order[i]->name), path);
        }
    }

    // Built by hand rather than as one nlohmann object so that "__metadata__" comes first and each
    // entry keeps the reference field order (dtype, shape, data_offsets).
    std::string header = "{";
    try {
        if (!metadata.empty())
            header += "\"__metadata__\":" + Json(metadata).dump();
        std::uint64_t offset = 0;
        for (const TensorToWrite *t : order) {
            if (header.size() > 1)
                header += ',';
            const std::uint64_t end = offset + t->bytes.size();
            header += Json(t->name).dump() + ":{\"dtype\":" + Json(dtypeName(t->dtype)).dump()
                + ",\"shape\":" + Json(t->shape).dump() + ",\"data_offsets\":["
                + std::to_string(offset) + "," + std::to_string(end) + "]}";
            offset = end;
        }
    } catch (const Json::exception &e) {
        // Invalid UTF-8 in a name or metadata string.
        throw Error(ErrorKind::Usage, std::string("cannot encode the header: ") + e.what(), path);
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');
    if (header.size() > kMaxSafetensorsHeader)
        throw Error(ErrorKind::Usage, "header would exceed the maximum size", path);

    std::array<std::byte, 8> prefix {};
    const std::uint64_t headerLen = header.size();
    std::memcpy(prefix.data(), &headerLen, 8);

    AtomicFile file(path);
    file.write(std::span<const std::byte>(prefix));
    file.write(header);
    for (const TensorToWrite *t : order)
        file.write(t->bytes);
    file.commit();
}

} // namespace astpeft::core

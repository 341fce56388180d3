// SPDX-License-Identifier: MIT
#include "io/npy.h"

#include "error.h"
#include "io/atomic_file.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

namespace astpeft::core {

static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

void writeNpy(const std::filesystem::path &path, std::span<const float> data,
    const std::vector<std::int64_t> &shape)
{
    std::int64_t count = 1;
    for (auto d : shape)
        count *= d;
    if (count != std::int64_t(data.size()))
        throw Error(ErrorKind::Internal, "npy shape does not match the data size", path);
    std::ostringstream dict;
    dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        dict << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? "," : "")
             << (i + 1 < shape.size() ? " " : "");
    }
    dict << "), }";
    std::string header = dict.str();
    // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header.push_back('\n');
    std::string out("\x93NUMPY\x01\x00", 8);
    out.push_back(char(header.size() & 0xff));
    out.push_back(char(header.size() >> 8));
    out += header;
    AtomicFile file(path);
    file.write(out);
    file.write(std::as_bytes(data));
    file.commit();
}

NpyArray readNpy(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(ErrorKind::Io, "cannot open file", path);
    char magic[8];
    if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        throw Error(ErrorKind::Format, "not a .npy file", path);
    std::uint32_t headerLen = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        in.read(reinterpret_cast<char *>(b), 2);
        headerLen = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        in.read(reinterpret_cast<char *>(b), 4);
        headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
    }
    if (!in || headerLen > (1u << 20))
        throw Error(ErrorKind::Format, "truncated or absurd .npy header", path);
    std::string header(headerLen, '\0');
    if (!in.read(header.data(), headerLen))
        throw Error(ErrorKind::Format, "truncated .npy header", path);
    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<>|]?[a-z][0-9]+)'")))
        throw Error(ErrorKind::Format, "missing dtype in .npy header", path);
    const std::string descr = m[1];
    if (descr != "<f4" && descr != "<f8") {
        throw Error(
            ErrorKind::Unsupported, "unsupported .npy dtype " + descr + " (need <f4)", path);
    }
    if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
        throw Error(ErrorKind::Unsupported, "Fortran-order .npy arrays are not supported", path);
    if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
        throw Error(ErrorKind::Format, "missing shape in .npy header", path);
    NpyArray array;
    std::int64_t count = 1;
    const std::string dims = m[1];
    const std::regex number("[0-9]+");
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number);
         it != std::sregex_iterator(); ++it) {
        array.shape.push_back(std::stoll(it->str()));
        count *= array.shape.back();
    }
    if (count < 0 || count > (std::int64_t(1) << 34))
        throw Error(ErrorKind::Format, "absurd .npy shape", path);
    array.data.resize(std::size_t(count));
    if (descr == "<f4") {
        in.read(reinterpret_cast<char *>(array.data.data()), std::streamsize(count * 4));
    } else {
        std::vector<double> tmp(static_cast<std::size_t>(count));
        in.read(reinterpret_cast<char *>(tmp.data()), std::streamsize(count * 8));
        for (std::size_t i = 0; i < tmp.size(); ++i)
            array.data[i] = float(tmp[i]);
    }
    if (!in)
        throw Error(ErrorKind::Format, "truncated .npy data", path);
    return array;
}

} // namespace astpeft::core

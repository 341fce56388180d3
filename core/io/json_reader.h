// SPDX-License-Identifier: MIT
// Typed reading of JSON files with errors that name the file and the field (core::Error
// Format). Core-internal (nlohmann_json is a private dependency of core).
#pragma once

#include "enum_names.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace astpeft::core {

// Typed access with errors that name the file and the field.
struct JsonReader
{
    const nlohmann::json &root;
    std::filesystem::path file;

    const nlohmann::json &at(
        const nlohmann::json &obj, const std::string &key, const std::string &path) const
    {
        if (!obj.is_object() || !obj.contains(key))
            throw Error(ErrorKind::Format, "missing field " + path, file);
        return obj.at(key);
    }
    // An integer in [min, max]; larger than max is refused before anything is sized from it.
    int integer(const nlohmann::json &obj, const std::string &key, const std::string &path, int min,
        int max = 1 << 24) const
    {
        const nlohmann::json &v = at(obj, key, path);
        const bool huge = v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(max);
        if (!v.is_number_integer() || (!huge && v.get<std::int64_t>() < min)) {
            throw Error(ErrorKind::Format,
                "field " + path + " must be an integer >= " + std::to_string(min), file);
        }
        if (huge || v.get<std::int64_t>() > max) {
            throw Error(ErrorKind::Format,
                "field " + path + " is " + v.dump() + ", more than " + std::to_string(max), file);
        }
        return v.get<int>();
    }
    // A non-negative integer up to `max` (seeds, step and byte counts).
    std::uint64_t unsignedInteger(const nlohmann::json &obj, const std::string &key,
        const std::string &path, std::uint64_t max = UINT64_MAX) const
    {
        const nlohmann::json &v = at(obj, key, path);
        if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
            throw Error(ErrorKind::Format, "field " + path + " must be an integer >= 0", file);
        if (v.get<std::uint64_t>() > max) {
            throw Error(ErrorKind::Format,
                "field " + path + " is " + v.dump() + ", more than " + std::to_string(max), file);
        }
        return v.get<std::uint64_t>();
    }
    double number(const nlohmann::json &obj, const std::string &key, const std::string &path) const
    {
        const nlohmann::json &v = at(obj, key, path);
        if (!v.is_number())
            throw Error(ErrorKind::Format, "field " + path + " must be a number", file);
        return v.get<double>();
    }
    bool boolean(const nlohmann::json &obj, const std::string &key, const std::string &path) const
    {
        const nlohmann::json &v = at(obj, key, path);
        if (!v.is_boolean())
            throw Error(ErrorKind::Format, "field " + path + " must be true or false", file);
        return v.get<bool>();
    }
    std::string string(
        const nlohmann::json &obj, const std::string &key, const std::string &path) const
    {
        const nlohmann::json &v = at(obj, key, path);
        if (!v.is_string())
            throw Error(ErrorKind::Format, "field " + path + " must be a string", file);
        return v.get<std::string>();
    }
    template<typename E>
    E enumeration(const nlohmann::json &obj, const std::string &key, const std::string &path) const
    {
        try {
            return parseEnum<E>(string(obj, key, path));
        } catch (const Error &e) {
            if (e.kind() != ErrorKind::Usage)
                throw;
            throw Error(ErrorKind::Format, "field " + path + ": " + e.reason(), file);
        }
    }
};

// Parses `text` as a JSON object whose "format" field is `format` (core::Error Format naming
// `file`: invalid JSON, or "not <what> (field format must be "<format>")").
inline nlohmann::json parseFormatDocument(const std::string &text,
    const std::filesystem::path &file, const std::string &format, const std::string &what)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &e) { // parse_error, or out_of_range for 1e400
        throw Error(ErrorKind::Format, std::string("not valid JSON: ") + e.what(), file);
    }
    if (!j.is_object() || !j.contains("format") || j["format"] != format) {
        throw Error(
            ErrorKind::Format, "not " + what + " (field format must be \"" + format + "\")", file);
    }
    return j;
}

} // namespace astpeft::core

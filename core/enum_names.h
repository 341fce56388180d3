// SPDX-License-Identifier: MIT
// One spelling per enum value, shared by the CLI, the GUI and the JSON files. Each enum that
// has names specialises EnumTable<E> next to its definition with `what` (for messages) and
// `items` (value, name) pairs. Torch-free.
#pragma once

#include "error.h"

#include <string>
#include <utility>
#include <vector>

namespace astpeft::core {

template<typename E> struct EnumTable; // specialised per enum

template<typename E> std::string enumName(E value)
{
    for (const auto &[v, name] : EnumTable<E>::items) {
        if (v == value)
            return name;
    }
    return "?";
}

template<typename E> std::vector<std::string> enumNames()
{
    std::vector<std::string> out;
    for (const auto &item : EnumTable<E>::items)
        out.push_back(item.second);
    return out;
}

// Throws core::Error(Usage): "<what> must be one of a, b, c (got 'x')".
template<typename E> E parseEnum(const std::string &text)
{
    std::string valid;
    for (const auto &[v, name] : EnumTable<E>::items) {
        if (text == name)
            return v;
        valid += (valid.empty() ? "" : ", ") + std::string(name);
    }
    throw Error(ErrorKind::Usage,
        std::string(EnumTable<E>::what) + " must be one of " + valid + " (got '" + text + "')");
}

} // namespace astpeft::core

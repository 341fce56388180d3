// SPDX-License-Identifier: MIT
#include "project/project.h"

#include "audio/audio_file.h"
#include "error.h"
#include "io/atomic_file.h"
#include "io/fnv1a.h"
#include "io/json_reader.h"
#include "peft/peft_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace astpeft::core {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char *kFormat = "astpeft-project";

bool pathExists(const fs::path &path)
{
    std::error_code ec;
    return fs::exists(path, ec);
}

fs::path normalAbsolute(const fs::path &path)
{
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec);
    if (ec)
        absolute = path;
    absolute = absolute.lexically_normal();
    // "dir/" normalises to "dir/" with an empty filename; drop it so that relative() works.
    if (!absolute.has_filename() && absolute.has_parent_path() && absolute != absolute.root_path())
        absolute = absolute.parent_path();
    return absolute;
}

// `path` relative to `base` when it lies inside it (lexically); empty otherwise.
fs::path inside(const fs::path &path, const fs::path &base)
{
    const fs::path relative = path.lexically_relative(base);
    if (relative.empty() || *relative.begin() == ".." || relative == ".")
        return {};
    return relative;
}

std::string pathText(const fs::path &path)
{
    return path.generic_string();
}

// Errors of the nested readers (peft, training) name their field without the prefix.
template<typename F> auto nested(const std::string &prefix, const fs::path &file, F &&f)
{
    try {
        return f();
    } catch (const Error &e) {
        throw Error(e.kind(), prefix + ": " + e.reason(), file);
    }
}

std::vector<std::string> stringArray(
    const JsonReader &r, const json &obj, const std::string &key, const std::string &path)
{
    const json &v = r.at(obj, key, path);
    if (!v.is_array())
        throw Error(ErrorKind::Format, "field " + path + " must be an array of strings", r.file);
    std::vector<std::string> out;
    for (const json &item : v) {
        if (!item.is_string()) {
            throw Error(
                ErrorKind::Format, "field " + path + " must be an array of strings", r.file);
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::vector<fs::path> pathArray(
    const JsonReader &r, const json &obj, const std::string &key, const std::string &path)
{
    std::vector<fs::path> out;
    for (const std::string &text : stringArray(r, obj, key, path))
        out.emplace_back(text);
    return out;
}

json clipJson(const ProjectClip &clip)
{
    return json { { "id", clip.id }, { "file", pathText(clip.file) }, { "label", clip.label },
        { "split", enumName(clip.split) }, { "fold", clip.fold }, { "group", clip.group },
        { "trim_start", clip.trimStart }, { "trim_end", clip.trimEnd }, { "seconds", clip.seconds },
        { "sample_rate", clip.sampleRate }, { "channels", clip.channels },
        { "recorded", clip.recorded } };
}

ProjectClip readClip(const JsonReader &r, const json &j, const std::string &where)
{
    if (!j.is_object())
        throw Error(ErrorKind::Format, "field " + where + " must be an object", r.file);
    ProjectClip clip;
    clip.id = r.unsignedInteger(j, "id", where + ".id");
    if (clip.id == 0)
        throw Error(ErrorKind::Format, "field " + where + ".id must be > 0", r.file);
    clip.file = r.string(j, "file", where + ".file");
    if (clip.file.empty())
        throw Error(ErrorKind::Format, "field " + where + ".file is empty", r.file);
    clip.label = r.string(j, "label", where + ".label");
    clip.split = r.enumeration<Split>(j, "split", where + ".split");
    clip.fold = r.integer(j, "fold", where + ".fold", 0);
    clip.group = r.string(j, "group", where + ".group");
    clip.trimStart = r.number(j, "trim_start", where + ".trim_start");
    clip.trimEnd = r.number(j, "trim_end", where + ".trim_end");
    if (!(clip.trimStart >= 0.0) || !(clip.trimEnd >= 0.0)
        || (clip.trimEnd > 0.0 && clip.trimEnd <= clip.trimStart)) {
        throw Error(ErrorKind::Format,
            "fields " + where + ".trim_start/trim_end: need 0 <= start < end (end 0 = to the end)",
            r.file);
    }
    clip.seconds = r.number(j, "seconds", where + ".seconds");
    clip.sampleRate = r.integer(j, "sample_rate", where + ".sample_rate", 0);
    clip.channels = r.integer(j, "channels", where + ".channels", 0);
    clip.recorded = r.boolean(j, "recorded", where + ".recorded");
    return clip;
}

std::string csvCell(const std::string &text)
{
    if (text.find_first_of(",\"\n\r\t") == std::string::npos)
        return text;
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

// 16 hex digits over the file's bytes and the trim window.
std::string trimKey(const fs::path &file, const ProjectClip &clip)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(ErrorKind::Io, "cannot open the clip", file);
    Fnv1a hash;
    const std::string tag = "astpeft trim v1\n";
    hash.add(tag.data(), tag.size());
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        hash.add(buffer.data(), std::size_t(in.gcount()));
    }
    if (in.bad())
        throw Error(ErrorKind::Io, "cannot read the clip", file);
    hash.add(&clip.trimStart, sizeof clip.trimStart);
    hash.add(&clip.trimEnd, sizeof clip.trimEnd);
    std::ostringstream hex;
    hex << std::hex << std::setw(16) << std::setfill('0') << hash.h;
    return hex.str();
}

// Cuts the trim window out of `source` into `target` (native rate and channels, float WAV),
// through a temporary file renamed into place, so an interrupted render never leaves a partial
// file under the final name.
void renderTrim(const fs::path &source, const ProjectClip &clip, const fs::path &target)
{
    const AudioInfo info = probeAudio(source);
    const int channels = std::max(1, info.channels);
    std::vector<std::vector<float>> perChannel;
    for (int c = 0; c < channels; ++c) {
        perChannel.push_back(
            decodeAudio(source, { .targetRate = info.sampleRate, .channel = channels > 1 ? c : -1 })
                .samples);
    }
    const std::int64_t frames = std::int64_t(perChannel.front().size());
    const std::int64_t begin =
        std::clamp<std::int64_t>(std::llround(clip.trimStart * info.sampleRate), 0, frames);
    const std::int64_t end = clip.trimEnd > 0.0
        ? std::clamp<std::int64_t>(std::llround(clip.trimEnd * info.sampleRate), 0, frames)
        : frames;
    if (end <= begin) {
        std::ostringstream message;
        message << "the trim " << clip.trimStart << "-" << clip.trimEnd
                << " s leaves no audio (the file has " << info.seconds() << " s)";
        throw Error(ErrorKind::Usage, message.str(), source);
    }
    std::vector<float> interleaved(std::size_t(end - begin) * std::size_t(channels));
    for (std::int64_t i = begin; i < end; ++i) {
        for (int c = 0; c < channels; ++c) {
            interleaved[std::size_t(i - begin) * std::size_t(channels) + std::size_t(c)] =
                perChannel[std::size_t(c)][std::size_t(i)];
        }
    }

    fs::path partial = target;
    partial.replace_extension(".partial.wav");
    try {
        writeAudio(partial, interleaved, info.sampleRate, channels, "FLOAT");
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
    std::error_code ec;
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw Error(ErrorKind::Io, "cannot store the trimmed clip: " + ec.message(), target);
    }
}

} // namespace

bool isProjectDir(const fs::path &dir)
{
    std::error_code ec;
    return fs::is_regular_file(dir / ProjectFiles::project, ec);
}

fs::path resolvePath(const Project &project, const fs::path &path)
{
    if (path.empty() || path.is_absolute())
        return path;
    return (project.dir / path).lexically_normal();
}

fs::path storedPath(const Project &project, const fs::path &path)
{
    if (path.empty() || !path.is_absolute())
        return path.lexically_normal();
    const fs::path absolute = path.lexically_normal();
    const fs::path dir = normalAbsolute(project.dir);
    if (const fs::path relative = inside(absolute, dir); !relative.empty())
        return relative;
    // The same folder reached through a symbolic link (/tmp vs /private/tmp).
    std::error_code ec1, ec2;
    const fs::path canonicalPath = fs::weakly_canonical(absolute, ec1);
    const fs::path canonicalDir = fs::weakly_canonical(dir, ec2);
    if (!ec1 && !ec2) {
        if (const fs::path relative = inside(canonicalPath, canonicalDir); !relative.empty())
            return relative;
    }
    return absolute;
}

std::string projectJson(const Project &p)
{
    json j;
    j["format"] = kFormat;
    j["version"] = kProjectVersion;
    j["name"] = p.name;
    j["backbone"] = pathText(storedPath(p, p.backbone));
    j["classes"] = p.classes;
    json clips = json::array();
    for (const ProjectClip &clip : p.clips) {
        ProjectClip stored = clip;
        stored.file = storedPath(p, clip.file);
        clips.push_back(clipJson(stored));
    }
    j["clips"] = std::move(clips);
    json noise = json::array();
    for (const fs::path &file : p.noise)
        noise.push_back(pathText(storedPath(p, file)));
    j["noise"] = std::move(noise);
    j["imports"] = p.imports;
    writePeftJson(j["peft"], p.peft);
    j["budget"] = p.budget;
    j["training"] = json::parse(trainOptionsJson(p.training));
    json runs = json::array();
    for (const fs::path &run : p.runs)
        runs.push_back(pathText(storedPath(p, run)));
    j["runs"] = std::move(runs);
    j["next_clip_id"] = p.nextClipId;
    return j.dump(2) + "\n";
}

Project createProject(const fs::path &dirIn, const std::string &name)
{
    const fs::path dir = normalAbsolute(dirIn);
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec))
            throw Error(ErrorKind::Usage, "not a folder", dir);
        if (isProjectDir(dir)) {
            throw Error(ErrorKind::Usage, "the folder already holds a project; open it instead",
                dir / ProjectFiles::project);
        }
        if (!fs::is_empty(dir, ec) || ec) {
            throw Error(ErrorKind::Usage,
                "the folder is not empty and holds no project; choose a new or empty folder", dir);
        }
    }
    createDirectories(dir / ProjectFiles::recordings);
    createDirectories(dir / ProjectFiles::runs);
    Project project;
    project.dir = dir;
    project.name = name.empty() ? dir.filename().string() : name;
    saveProject(project);
    return project;
}

Project loadProject(const fs::path &dirIn)
{
    const fs::path dir = normalAbsolute(dirIn);
    const fs::path file = dir / ProjectFiles::project;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        throw Error(ErrorKind::Io,
            fs::exists(file, ec) ? "not a file" : "missing: the folder holds no project", file);
    }
    const std::string text = readTextFile(file);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception &e) { // parse_error, or out_of_range for 1e400
        throw Error(ErrorKind::Format, std::string("not valid JSON: ") + e.what(), file);
    }
    if (!j.is_object() || !j.contains("format") || j["format"] != kFormat) {
        throw Error(ErrorKind::Format,
            std::string("not an AST PEFT Studio project (field format must be \"") + kFormat
                + "\")",
            file);
    }
    const JsonReader r { j, file };
    Project p;
    p.dir = dir;
    p.version = r.integer(j, "version", "version", 1);
    if (p.version > kProjectVersion) {
        throw Error(ErrorKind::Unsupported,
            "written by a newer version of AST PEFT Studio (project version "
                + std::to_string(p.version) + "; this one reads up to "
                + std::to_string(kProjectVersion) + ")",
            file);
    }
    p.name = r.string(j, "name", "name");
    p.backbone = r.string(j, "backbone", "backbone");
    p.classes = stringArray(r, j, "classes", "classes");
    std::set<std::string> classes;
    for (const std::string &label : p.classes) {
        if (label.empty())
            throw Error(ErrorKind::Format, "field classes: empty class name", file);
        if (!classes.insert(label).second)
            throw Error(ErrorKind::Format, "field classes: '" + label + "' twice", file);
    }
    const json &clips = r.at(j, "clips", "clips");
    if (!clips.is_array())
        throw Error(ErrorKind::Format, "field clips must be an array", file);
    std::set<std::uint64_t> ids;
    std::uint64_t maxId = 0;
    for (std::size_t i = 0; i < clips.size(); ++i) {
        const std::string where = "clips[" + std::to_string(i) + "]";
        ProjectClip clip = readClip(r, clips[i], where);
        if (!ids.insert(clip.id).second) {
            throw Error(ErrorKind::Format,
                "field " + where + ".id: " + std::to_string(clip.id) + " is used twice", file);
        }
        if (!classes.contains(clip.label)) {
            throw Error(ErrorKind::Format,
                "field " + where + ".label: '" + clip.label + "' is not one of the classes", file);
        }
        maxId = std::max(maxId, clip.id);
        p.clips.push_back(std::move(clip));
    }
    p.noise = pathArray(r, j, "noise", "noise");
    p.imports = stringArray(r, j, "imports", "imports");
    p.peft = nested("peft", file, [&] { return readPeftJson(r, r.at(j, "peft", "peft")); });
    p.budget = r.string(j, "budget", "budget");
    const json &training = r.at(j, "training", "training");
    p.training = nested("training", file, [&] { return parseTrainOptions(training.dump(), file); });
    p.runs = pathArray(r, j, "runs", "runs");
    p.nextClipId = std::max(r.unsignedInteger(j, "next_clip_id", "next_clip_id"), maxId + 1);
    return p;
}

void saveProject(const Project &project)
{
    if (project.dir.empty())
        throw Error(ErrorKind::Usage, "the project has no folder");
    writeFileAtomic(project.dir / ProjectFiles::project, projectJson(project));
}

std::vector<std::uint64_t> addDataset(Project &project, const Dataset &dataset)
{
    std::unordered_set<std::string> known;
    for (const ProjectClip &clip : project.clips)
        known.insert(clipPath(project, clip).string());
    std::set<std::string> classes(project.classes.begin(), project.classes.end());

    std::vector<std::uint64_t> added;
    for (const Clip &clip : dataset.clips) {
        if (clip.label < 0 || std::size_t(clip.label) >= dataset.labels.size())
            continue;
        const fs::path absolute = normalAbsolute(clip.file);
        if (!known.insert(absolute.string()).second)
            continue;
        const std::string &label = dataset.labels[std::size_t(clip.label)];
        if (classes.insert(label).second)
            project.classes.push_back(label);
        ProjectClip c;
        c.id = project.nextClipId++;
        c.file = storedPath(project, absolute);
        c.label = label;
        c.split = clip.split;
        c.fold = clip.fold;
        c.group = clip.group;
        c.seconds = clip.seconds;
        c.sampleRate = clip.sampleRate;
        c.channels = clip.channels;
        project.clips.push_back(std::move(c));
        added.push_back(project.clips.back().id);
    }
    std::unordered_set<std::string> noise;
    for (const fs::path &file : project.noise)
        noise.insert(resolvePath(project, file).string());
    for (const fs::path &file : dataset.noise) {
        const fs::path absolute = normalAbsolute(file);
        if (noise.insert(absolute.string()).second)
            project.noise.push_back(storedPath(project, absolute));
    }
    project.imports.push_back(
        pathText(normalAbsolute(dataset.root)) + " (" + enumName(dataset.layout) + ")");
    return added;
}

std::string sanitizeFileName(const std::string &text)
{
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        out += (c >= 0x80 || std::isalnum(c) || c == '-' || c == '_') ? ch : '_';
    }
    if (out.find_first_not_of('_') == std::string::npos)
        return "clip";
    return out;
}

fs::path newRecordingPath(const Project &project, const std::string &label)
{
    const std::string name = sanitizeFileName(label);
    const fs::path folder = project.dir / ProjectFiles::recordings / name;
    std::unordered_set<std::string> used;
    for (const ProjectClip &clip : project.clips)
        used.insert(clipPath(project, clip).string());
    for (int n = 1;; ++n) {
        std::ostringstream file;
        file << name << '_' << std::setw(3) << std::setfill('0') << n << ".wav";
        const fs::path path = (folder / file.str()).lexically_normal();
        if (!used.contains(path.string()) && !pathExists(path))
            return path;
    }
}

fs::path clipPath(const Project &project, const ProjectClip &clip)
{
    return resolvePath(project, clip.file);
}

const ProjectClip *findClip(const Project &project, std::uint64_t id)
{
    for (const ProjectClip &clip : project.clips) {
        if (clip.id == id)
            return &clip;
    }
    return nullptr;
}

bool isTrimmed(const ProjectClip &clip)
{
    return clip.trimStart > 0.0
        || (clip.trimEnd > 0.0 && (clip.seconds <= 0.0 || clip.trimEnd < clip.seconds));
}

double trimmedSeconds(const ProjectClip &clip)
{
    const double end = clip.trimEnd <= 0.0 ? clip.seconds
        : clip.seconds > 0.0               ? std::min(clip.trimEnd, clip.seconds)
                                           : clip.trimEnd;
    return std::max(0.0, end - clip.trimStart);
}

fs::path writeTrainingManifest(const Project &project)
{
    const fs::path cache = project.dir / ProjectFiles::cache;
    const fs::path trimmed = project.dir / ProjectFiles::trimmed;
    const fs::path manifest = project.dir / ProjectFiles::manifest;
    createDirectories(cache);
    const std::set<std::string> classes(project.classes.begin(), project.classes.end());

    std::ostringstream out;
    out << "path,label,split,fold,group\n";
    std::set<std::string> rendered; // names used by this manifest
    for (const ProjectClip &clip : project.clips) {
        if (!classes.contains(clip.label))
            continue;
        fs::path file = clipPath(project, clip);
        if (isTrimmed(clip)) {
            std::string name = trimKey(file, clip);
            // The same bytes with the same trim twice (a copied file): keep both clips.
            if (!rendered.insert(name).second) {
                name.append("-").append(std::to_string(clip.id));
                rendered.insert(name);
            }
            const fs::path target = trimmed / (name + ".wav");
            bool usable = false;
            if (pathExists(target)) {
                try {
                    probeAudio(target);
                    usable = true;
                } catch (const Error &) {
                    // a damaged render: made again below
                }
            }
            if (!usable) {
                createDirectories(trimmed);
                renderTrim(file, clip, target);
            }
            file = target;
        }
        const fs::path relative = inside(file, cache);
        const fs::path listed = relative.empty()
            ? (inside(file, project.dir).empty() ? file : file.lexically_relative(cache))
            : relative;
        out << csvCell(pathText(listed)) << ',' << csvCell(clip.label) << ','
            << (clip.split == Split::Unassigned ? std::string() : enumName(clip.split)) << ','
            << (clip.fold > 0 ? std::to_string(clip.fold) : std::string()) << ','
            << csvCell(clip.group) << '\n';
    }
    writeFileAtomic(manifest, out.str());
    return manifest;
}

fs::path newRunDir(const Project &project, const std::string &method)
{
    const std::time_t now = std::time(nullptr);
    std::tm local {};
    localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    const std::string base = std::string(stamp) + "-" + sanitizeFileName(method);
    std::unordered_set<std::string> listed;
    for (const fs::path &run : project.runs)
        listed.insert(resolvePath(project, run).string());
    for (int n = 1;; ++n) {
        const fs::path dir =
            project.dir / ProjectFiles::runs / (n == 1 ? base : base + "-" + std::to_string(n));
        if (!listed.contains(dir.string()) && !pathExists(dir))
            return dir;
    }
}

std::vector<ClassCount> classCounts(const Project &project)
{
    std::vector<ClassCount> counts;
    std::unordered_map<std::string, std::size_t> index;
    for (const std::string &label : project.classes) {
        index.emplace(label, counts.size());
        counts.push_back({ .label = label });
    }
    for (const ProjectClip &clip : project.clips) {
        const auto it = index.find(clip.label);
        if (it == index.end())
            continue;
        ++counts[it->second].clips;
        counts[it->second].seconds += trimmedSeconds(clip);
    }
    return counts;
}

int classesWithClips(const Project &project)
{
    int n = 0;
    for (const ClassCount &c : classCounts(project))
        n += c.clips > 0;
    return n;
}

std::vector<std::string> balanceWarnings(const Project &project)
{
    constexpr int kMinimum = 5;
    const std::vector<ClassCount> counts = classCounts(project);
    if (counts.empty())
        return {};
    std::vector<int> sorted;
    for (const ClassCount &c : counts)
        sorted.push_back(c.clips);
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);

    std::vector<std::string> warnings;
    for (const ClassCount &c : counts) {
        std::ostringstream line;
        if (c.clips == 0) {
            line << "'" << c.label << "' has no clips";
        } else if (c.clips < kMinimum) {
            line << "'" << c.label << "' has only " << c.clips
                 << (c.clips == 1 ? " clip" : " clips") << " (at least " << kMinimum
                 << " recommended)";
        } else if (c.clips < 0.5 * median) {
            line << "'" << c.label << "' has " << c.clips
                 << " clips, fewer than half the median of the classes (" << median << ")";
        } else {
            continue;
        }
        warnings.push_back(line.str());
    }
    return warnings;
}

} // namespace astpeft::core

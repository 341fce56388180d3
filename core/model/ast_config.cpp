// SPDX-License-Identifier: MIT
#include "model/ast_config.h"

#include "error.h"
#include "io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

namespace astpeft::core {

namespace {

using Json = nlohmann::json;

constexpr const char *kModelType = "audio-spectrogram-transformer";
constexpr int kAudioSetLabels = 527;

std::string inQuotes(const std::string &s)
{
    return "'" + s + "'";
}

Json parseJsonText(const std::string &text, const std::filesystem::path &file, const char *what)
{
    Json json;
    try {
        json = Json::parse(text);
    } catch (const Json::exception &e) {
        throw Error(ErrorKind::Format, std::string(what) + " is not valid JSON: " + e.what(), file);
    }
    if (!json.is_object()) {
        throw Error(ErrorKind::Format,
            std::string(what) + " is not a JSON object but a JSON " + json.type_name(), file);
    }
    return json;
}

// Typed field access on one JSON object; every error names the file and the field.
class Fields
{
public:
    Fields(const Json &json, const std::filesystem::path &file)
        : m_json(json)
        , m_file(file)
    { }

    // Absent and null both mean "use the default".
    const Json *find(const char *key) const
    {
        const auto it = m_json.find(key);
        return it == m_json.end() || it->is_null() ? nullptr : &*it;
    }

    [[noreturn]] void fail(
        const char *key, const std::string &message, ErrorKind kind = ErrorKind::Format) const
    {
        throw Error(kind, "field " + inQuotes(key) + " " + message, m_file);
    }

    void readInt(const char *key, int &out) const
    {
        const Json *v = find(key);
        if (!v)
            return;
        if (!v->is_number_integer())
            fail(key, std::string("must be an integer, got ") + v->dump());
        if (v->is_number_unsigned()) {
            const auto u = v->get<std::uint64_t>();
            if (u > std::uint64_t(std::numeric_limits<int>::max()))
                fail(key, "is out of range: " + v->dump());
            out = int(u);
        } else {
            const auto s = v->get<std::int64_t>();
            if (s < std::numeric_limits<int>::min() || s > std::numeric_limits<int>::max())
                fail(key, "is out of range: " + v->dump());
            out = int(s);
        }
    }

    void readDouble(const char *key, double &out) const
    {
        const Json *v = find(key);
        if (!v)
            return;
        if (!v->is_number())
            fail(key, std::string("must be a number, got ") + v->dump());
        out = v->get<double>();
        if (!std::isfinite(out))
            fail(key, "must be finite");
    }

    void readFloat(const char *key, float &out) const
    {
        double d = out;
        readDouble(key, d);
        if (std::abs(d) > double(std::numeric_limits<float>::max()))
            fail(key, "is out of range for float32");
        out = float(d);
    }

    void readBool(const char *key, bool &out) const
    {
        const Json *v = find(key);
        if (!v)
            return;
        if (!v->is_boolean())
            fail(key, std::string("must be true or false, got ") + v->dump());
        out = v->get<bool>();
    }

    void readString(const char *key, std::string &out) const
    {
        const Json *v = find(key);
        if (!v)
            return;
        if (!v->is_string())
            fail(key, std::string("must be a string, got ") + v->dump());
        out = v->get<std::string>();
    }

    void readStringList(const char *key, std::vector<std::string> &out) const
    {
        const Json *v = find(key);
        if (!v)
            return;
        if (!v->is_array())
            fail(key, std::string("must be an array of strings, got ") + v->dump());
        out.clear();
        for (const Json &item : *v) {
            if (!item.is_string())
                fail(key, std::string("must be an array of strings, but holds ") + item.dump());
            out.push_back(item.get<std::string>());
        }
    }

    void requirePositive(const char *key, int value) const
    {
        if (value <= 0)
            fail(key, "must be positive, got " + std::to_string(value));
    }

    void requireAtMost(const char *key, int value, int limit) const
    {
        if (value > limit) {
            fail(key,
                "is absurdly large: " + std::to_string(value) + " (at most " + std::to_string(limit)
                    + ")");
        }
    }

private:
    const Json &m_json;
    const std::filesystem::path &m_file;
};

// id2label: {"0": "label", ...} with ids exactly 0..n-1, each spelled canonically.
std::vector<std::string> readLabels(const Fields &fields)
{
    const Json *v = fields.find("id2label");
    if (!v)
        return {};
    if (!v->is_object())
        fields.fail("id2label", std::string("must be an object of id -> label, got ") + v->dump());
    const std::size_t n = v->size();
    std::vector<std::string> labels(n);
    std::vector<bool> present(n, false);
    for (const auto &[key, value] : v->items()) {
        std::size_t id = 0;
        const char *first = key.data();
        const char *last = key.data() + key.size();
        const auto [ptr, ec] = std::from_chars(first, last, id);
        if (ec != std::errc() || ptr != last || key.empty() || std::to_string(id) != key)
            fields.fail("id2label", "has key " + inQuotes(key) + ", which is not a label id");
        if (id >= n) {
            fields.fail("id2label",
                "has id " + key + " but only " + std::to_string(n)
                    + " labels: ids must be exactly 0.." + std::to_string(n - 1));
        }
        if (!value.is_string())
            fields.fail("id2label", "has a non-string label for id " + key + ": " + value.dump());
        labels[id] = value.get<std::string>();
        present[id] = true;
    }
    // n distinct canonical keys below n cover 0..n-1; this only guards the invariant.
    for (std::size_t i = 0; i < n; ++i) {
        if (!present[i])
            fields.fail("id2label", "lacks id " + std::to_string(i));
    }
    return labels;
}

// The shortest decimal that reads back as the same float, as a JSON double: -4.2677393f is
// written as -4.2677393 (as Python writes it), not as -4.267739295959473.
Json floatJson(float value)
{
    char buf[64];
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec != std::errc())
        return double(value);
    return std::stod(std::string(buf, ptr));
}

// Pretty-printed with a 2-space indent and a final newline, as transformers writes it.
std::string dumpJson(const Json &j)
{
    try {
        return j.dump(2) + "\n";
    } catch (const Json::exception &e) {
        // Only invalid UTF-8 in a label or architecture name can get here.
        throw Error(ErrorKind::Usage, std::string("cannot encode the configuration: ") + e.what());
    }
}

// The most frames whose tokens stay within kMaxTokens on `c`'s patch geometry.
int longestInput(const AstConfig &c)
{
    const int timePatches = (kMaxTokens - 2) / std::max(1, c.frequencyPatches());
    return std::min(kMaxInputFrames, c.patchSize + (timePatches - 1) * c.timeStride);
}

void validate(const AstConfig &c, const Fields &f)
{
    f.requirePositive("hidden_size", c.hiddenSize);
    f.requirePositive("num_hidden_layers", c.numHiddenLayers);
    f.requirePositive("num_attention_heads", c.numAttentionHeads);
    f.requirePositive("intermediate_size", c.intermediateSize);
    f.requirePositive("patch_size", c.patchSize);
    f.requirePositive("frequency_stride", c.frequencyStride);
    f.requirePositive("time_stride", c.timeStride);
    f.requirePositive("max_length", c.maxLength);
    f.requirePositive("num_mel_bins", c.numMelBins);
    f.requireAtMost("hidden_size", c.hiddenSize, kMaxHiddenSize);
    f.requireAtMost("intermediate_size", c.intermediateSize, kMaxIntermediateSize);
    f.requireAtMost("num_hidden_layers", c.numHiddenLayers, kMaxLayers);
    f.requireAtMost("max_length", c.maxLength, kMaxInputFrames);
    f.requireAtMost("num_mel_bins", c.numMelBins, kMaxMelBins);
    if (c.hiddenSize % c.numAttentionHeads != 0) {
        f.fail("hidden_size",
            std::to_string(c.hiddenSize) + " is not divisible by num_attention_heads "
                + std::to_string(c.numAttentionHeads));
    }
    if (c.patchSize > c.numMelBins) {
        f.fail("patch_size",
            std::to_string(c.patchSize) + " is larger than num_mel_bins "
                + std::to_string(c.numMelBins));
    }
    if (c.patchSize > c.maxLength) {
        f.fail("patch_size",
            std::to_string(c.patchSize) + " is larger than max_length "
                + std::to_string(c.maxLength));
    }
    if (const std::string problem = inputLengthProblem(c, c.maxLength); !problem.empty())
        f.fail("max_length", problem);
    if (c.labels.size() > std::size_t(kMaxLabels)) {
        f.fail("id2label",
            "has " + std::to_string(c.labels.size()) + " labels (at most "
                + std::to_string(kMaxLabels) + ")");
    }
    if (c.hiddenAct != "gelu") {
        f.fail("hidden_act",
            "is " + inQuotes(c.hiddenAct) + "; only the exact (erf) 'gelu' is supported",
            ErrorKind::Unsupported);
    }
    if (c.hiddenDropoutProb < 0 || c.hiddenDropoutProb >= 1)
        f.fail("hidden_dropout_prob", "must lie in [0, 1)");
    if (c.attentionProbsDropoutProb < 0 || c.attentionProbsDropoutProb >= 1)
        f.fail("attention_probs_dropout_prob", "must lie in [0, 1)");
    if (c.layerNormEps <= 0)
        f.fail("layer_norm_eps", "must be positive");
    if (c.initializerRange < 0)
        f.fail("initializer_range", "must not be negative");
    if (c.problemType == "regression") {
        f.fail("problem_type", "'regression' is not supported (classification only)",
            ErrorKind::Unsupported);
    }
    if (!c.problemType.empty() && c.problemType != "single_label_classification"
        && c.problemType != "multi_label_classification")
        f.fail("problem_type", "has unknown value " + inQuotes(c.problemType));
}

} // namespace

std::string inputLengthProblem(const AstConfig &c, int maxLength)
{
    if (maxLength < c.patchSize) {
        return std::to_string(maxLength) + " frames is shorter than one patch ("
            + std::to_string(c.patchSize) + " frames)";
    }
    if (maxLength > kMaxInputFrames) {
        return std::to_string(maxLength) + " frames is more than " + std::to_string(kMaxInputFrames)
            + " (" + std::to_string(kMaxInputFrames / 100) + " s)";
    }
    AstConfig sized = c;
    sized.maxLength = maxLength;
    if (sized.numTokens() > kMaxTokens) {
        return std::to_string(maxLength) + " frames makes " + std::to_string(sized.numTokens())
            + " tokens on this backbone, more than " + std::to_string(kMaxTokens) + " (at most "
            + std::to_string(longestInput(c)) + " frames)";
    }
    return {};
}

void requireInputLength(const AstConfig &config, int maxLength)
{
    if (const std::string problem = inputLengthProblem(config, maxLength); !problem.empty())
        throw Error(ErrorKind::Usage, "max_length: " + problem);
}

bool AstConfig::multiLabel() const
{
    // HF trains with BCE (sigmoid outputs) for "multi_label_classification". The AudioSet
    // checkpoints (MIT/ast-finetuned-audioset-*) carry no problem_type although they are
    // multi-label, so an unset problem_type with exactly AudioSet's 527 classes counts as
    // multi-label too; any other unset case is single-label (softmax), as in HF.
    if (problemType == "multi_label_classification")
        return true;
    return problemType.empty() && labels.size() == std::size_t(kAudioSetLabels);
}

AstConfig parseAstConfig(const std::string &json, const std::filesystem::path &file)
{
    const Json root = parseJsonText(json, file, "config");
    const Fields f(root, file);
    AstConfig c;

    if (const Json *v = f.find("model_type")) {
        if (!v->is_string())
            f.fail("model_type", std::string("must be a string, got ") + v->dump());
        if (v->get<std::string>() != kModelType) {
            f.fail("model_type",
                "is " + inQuotes(v->get<std::string>())
                    + ", not an Audio Spectrogram Transformer ('" + kModelType + "')",
                ErrorKind::Model);
        }
    }
    f.readInt("hidden_size", c.hiddenSize);
    f.readInt("num_hidden_layers", c.numHiddenLayers);
    f.readInt("num_attention_heads", c.numAttentionHeads);
    f.readInt("intermediate_size", c.intermediateSize);
    f.readString("hidden_act", c.hiddenAct);
    f.readDouble("hidden_dropout_prob", c.hiddenDropoutProb);
    f.readDouble("attention_probs_dropout_prob", c.attentionProbsDropoutProb);
    f.readDouble("layer_norm_eps", c.layerNormEps);
    f.readDouble("initializer_range", c.initializerRange);
    f.readInt("patch_size", c.patchSize);
    f.readBool("qkv_bias", c.qkvBias);
    f.readInt("frequency_stride", c.frequencyStride);
    f.readInt("time_stride", c.timeStride);
    f.readInt("max_length", c.maxLength);
    f.readInt("num_mel_bins", c.numMelBins);
    c.labels = readLabels(f);
    // label2id is deliberately not read: id2label is authoritative (HF rebuilds label2id from
    // it), and published configs carry label2id maps with stringified ids or collapsed
    // duplicate names that we must not reject.
    f.readString("problem_type", c.problemType);
    f.readStringList("architectures", c.architectures);
    validate(c, f);
    return c;
}

AstConfig loadAstConfig(const std::filesystem::path &dir)
{
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw Error(ErrorKind::Io, "model folder does not exist or is not a folder", dir);
    const auto configPath = dir / "config.json";
    if (!std::filesystem::is_regular_file(configPath, ec))
        throw Error(ErrorKind::Io, "missing config.json", configPath);
    AstConfig c = parseAstConfig(readTextFile(configPath), configPath);

    const auto prePath = dir / "preprocessor_config.json";
    if (!std::filesystem::exists(prePath, ec))
        return c;
    const Json root = parseJsonText(readTextFile(prePath), prePath, "preprocessor config");
    const Fields f(root, prePath);
    f.readInt("sampling_rate", c.samplingRate);
    if (c.samplingRate != 16000) {
        f.fail("sampling_rate",
            "is " + std::to_string(c.samplingRate) + " Hz; AST models need 16000 Hz",
            ErrorKind::Unsupported);
    }
    int melBins = c.numMelBins;
    f.readInt("num_mel_bins", melBins);
    if (melBins != c.numMelBins) {
        f.fail("num_mel_bins",
            "is " + std::to_string(melBins) + " but config.json says "
                + std::to_string(c.numMelBins));
    }
    // max_length is read only for its type; config.json's value defines the model input.
    int maxLength = c.maxLength;
    f.readInt("max_length", maxLength);
    f.readFloat("mean", c.featureMean);
    f.readFloat("std", c.featureStd);
    if (!(c.featureStd > 0))
        f.fail("std", "must be positive, got " + std::to_string(c.featureStd));
    f.readBool("do_normalize", c.doNormalize);
    return c;
}

std::string astConfigJson(const AstConfig &c)
{
    Json j;
    j["model_type"] = kModelType;
    if (!c.architectures.empty())
        j["architectures"] = c.architectures;
    j["hidden_size"] = c.hiddenSize;
    j["num_hidden_layers"] = c.numHiddenLayers;
    j["num_attention_heads"] = c.numAttentionHeads;
    j["intermediate_size"] = c.intermediateSize;
    j["hidden_act"] = c.hiddenAct;
    j["hidden_dropout_prob"] = c.hiddenDropoutProb;
    j["attention_probs_dropout_prob"] = c.attentionProbsDropoutProb;
    j["layer_norm_eps"] = c.layerNormEps;
    j["initializer_range"] = c.initializerRange;
    j["patch_size"] = c.patchSize;
    j["qkv_bias"] = c.qkvBias;
    j["frequency_stride"] = c.frequencyStride;
    j["time_stride"] = c.timeStride;
    j["max_length"] = c.maxLength;
    j["num_mel_bins"] = c.numMelBins;
    if (!c.labels.empty()) {
        Json id2label = Json::object();
        Json label2id = Json::object();
        for (std::size_t i = 0; i < c.labels.size(); ++i) {
            id2label[std::to_string(i)] = c.labels[i];
            label2id[c.labels[i]] = i;
        }
        j["id2label"] = std::move(id2label);
        j["label2id"] = std::move(label2id);
    }
    if (!c.problemType.empty())
        j["problem_type"] = c.problemType;
    j["torch_dtype"] = c.torchDtype;
    // Keys come out sorted, as HF writes them (sort_keys=True).
    return dumpJson(j);
}

std::string preprocessorConfigJson(const AstConfig &c)
{
    Json j;
    j["feature_extractor_type"] = "ASTFeatureExtractor";
    j["feature_size"] = 1;
    j["sampling_rate"] = c.samplingRate;
    j["num_mel_bins"] = c.numMelBins;
    j["max_length"] = c.maxLength;
    j["mean"] = floatJson(c.featureMean);
    j["std"] = floatJson(c.featureStd);
    j["do_normalize"] = c.doNormalize;
    j["padding_value"] = 0.0;
    j["padding_side"] = "right";
    j["return_attention_mask"] = false;
    return dumpJson(j);
}

void saveAstConfig(const AstConfig &config, const std::filesystem::path &dir)
{
    createDirectories(dir);
    writeFileAtomic(dir / "config.json", astConfigJson(config));
    writeFileAtomic(dir / "preprocessor_config.json", preprocessorConfigJson(config));
}

} // namespace astpeft::core

// SPDX-License-Identifier: MIT
#include "peft/adapter_manifest.h"
#include "peft/peft_json.h"

#include "audio/audio_file.h"
#include "error.h"
#include "io/atomic_file.h"
#include "io/fnv1a.h"
#include "io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace astpeft::core {

using nlohmann::json;

void writePeftJson(json &j, const PeftConfig &p)
{
    j["method"] = methodName(p.method);
    j["init"] = enumName(p.init);
    j["lora"] = { { "rank", p.lora.rank }, { "alpha", p.lora.alpha },
        { "targets", std::string(p.lora.targets.begin(), p.lora.targets.end()) },
        { "paper_scaling", p.lora.paperScaling } };
    j["adapter"] = { { "block", enumName(p.adapter.block) },
        { "placement", enumName(p.adapter.placement) }, { "mode", enumName(p.adapter.mode) },
        { "residual", p.adapter.residual }, { "bottleneck", p.adapter.bottleneck },
        { "kernel", p.adapter.kernel }, { "activation", enumName(p.adapter.activation) },
        { "official_layernorm_bug", p.adapter.officialLayerNormBug } };
    j["prompts"] = p.prompts;
    j["prefix_tokens"] = p.prefixTokens;
}

PeftConfig readPeftJson(const JsonReader &r, const json &j)
{
    const std::filesystem::path &file = r.file;
    PeftConfig p;
    try {
        p.method = parseMethod(r.string(j, "method", "method"));
    } catch (const Error &e) {
        throw Error(ErrorKind::Format, "field method: " + e.reason(), file);
    }
    p.init = r.enumeration<PeftInit>(j, "init", "init");
    const json &lora = r.at(j, "lora", "lora");
    p.lora.rank = r.integer(lora, "rank", "lora.rank", kRankRange.min, kRankRange.max);
    p.lora.alpha = r.number(lora, "alpha", "lora.alpha");
    const std::string targets = r.string(lora, "targets", "lora.targets");
    p.lora.targets.assign(targets.begin(), targets.end());
    for (char t : p.lora.targets) {
        if (std::string("qkvo").find(t) == std::string::npos) {
            throw Error(
                ErrorKind::Format, "field lora.targets must use the letters q, k, v, o", file);
        }
    }
    p.lora.paperScaling = r.boolean(lora, "paper_scaling", "lora.paper_scaling");
    const json &a = r.at(j, "adapter", "adapter");
    p.adapter.block = r.enumeration<AdapterBlock>(a, "block", "adapter.block");
    p.adapter.placement = r.enumeration<AdapterPlacement>(a, "placement", "adapter.placement");
    p.adapter.mode = r.enumeration<AdapterMode>(a, "mode", "adapter.mode");
    p.adapter.residual = r.boolean(a, "residual", "adapter.residual");
    p.adapter.bottleneck = r.integer(
        a, "bottleneck", "adapter.bottleneck", kBottleneckRange.min, kBottleneckRange.max);
    p.adapter.kernel = r.integer(a, "kernel", "adapter.kernel", kKernelRange.min, kKernelRange.max);
    p.adapter.activation = r.enumeration<Activation>(a, "activation", "adapter.activation");
    p.adapter.officialLayerNormBug =
        r.boolean(a, "official_layernorm_bug", "adapter.official_layernorm_bug");
    p.prompts = r.integer(j, "prompts", "prompts", kPromptsRange.min, kPromptsRange.max);
    p.prefixTokens = r.integer(
        j, "prefix_tokens", "prefix_tokens", kPrefixTokensRange.min, kPrefixTokensRange.max);
    if (p.prefixTokens % 2)
        throw Error(ErrorKind::Format, "field prefix_tokens must be even", file);

    return p;
}

std::string adapterManifestJson(const AdapterManifest &m)
{
    json j;
    j["format"] = "astpeft-adapter";
    j["format_version"] = kAdapterFormatVersion;
    writePeftJson(j, m.peft);
    j["labels"] = m.labels;
    j["head"] = enumName(m.head);
    j["positions"] = enumName(m.positions);
    const FrontEnd &f = m.frontEnd;
    j["preprocessing"] = { { "sampling_rate", f.fbank.sampleRate },
        { "num_mel_bins", f.fbank.numMelBins }, { "frame_length", f.fbank.frameLength },
        { "frame_shift", f.fbank.frameShift }, { "low_freq", f.fbank.lowFreq },
        { "high_freq", f.fbank.highFreq }, { "preemphasis", f.fbank.preemphasis },
        { "max_length", f.maxLength }, { "do_normalize", f.normalize }, { "mean", f.mean },
        { "std", f.std } };
    j["backbone"] = { { "fingerprint", m.backboneFingerprint }, { "hidden_size", m.hiddenSize },
        { "num_hidden_layers", m.numHiddenLayers } };
    return j.dump(2) + "\n";
}

AdapterManifest parseAdapterManifest(const std::string &text, const std::filesystem::path &file)
{
    const json j = parseFormatDocument(text, file, "astpeft-adapter", "an astpeft adapter");
    const JsonReader r { j, file };
    const int version = r.integer(j, "format_version", "format_version", 1);
    if (version > kAdapterFormatVersion) {
        throw Error(ErrorKind::Unsupported,
            "adapter format version " + std::to_string(version) + " is newer than this program's ("
                + std::to_string(kAdapterFormatVersion) + ")",
            file);
    }
    AdapterManifest m;
    m.peft = readPeftJson(r, j);

    const json &labels = r.at(j, "labels", "labels");
    if (!labels.is_array() || labels.empty()) {
        throw Error(ErrorKind::Format,
            "field labels must be a non-empty array of strings (an adapter always has its head)",
            file);
    }
    if (labels.size() > std::size_t(kMaxLabels)) {
        throw Error(ErrorKind::Format,
            "field labels has " + std::to_string(labels.size()) + " labels, more than "
                + std::to_string(kMaxLabels),
            file);
    }
    for (const json &l : labels) {
        if (!l.is_string() || l.get<std::string>().empty())
            throw Error(ErrorKind::Format, "field labels must hold non-empty strings", file);
        const std::string label = l.get<std::string>();
        // A label twice would make one head output unreachable (and evaluation find no clip
        // of it): say which, and where.
        if (const auto first = std::find(m.labels.begin(), m.labels.end(), label);
            first != m.labels.end()) {
            throw Error(ErrorKind::Format,
                "field labels: '" + label + "' is duplicated (labels["
                    + std::to_string(first - m.labels.begin()) + "] and labels["
                    + std::to_string(m.labels.size()) + "])",
                file);
        }
        m.labels.push_back(label);
    }
    m.head = r.enumeration<HeadKind>(j, "head", "head");
    m.positions = r.enumeration<PositionMode>(j, "positions", "positions");

    const json &pre = r.at(j, "preprocessing", "preprocessing");
    FrontEnd &f = m.frontEnd;
    f.fbank.sampleRate = r.integer(
        pre, "sampling_rate", "preprocessing.sampling_rate", kMinSampleRate, kMaxSampleRate);
    f.fbank.numMelBins =
        r.integer(pre, "num_mel_bins", "preprocessing.num_mel_bins", 1, kMaxMelBins);
    // A frame of at most one second, shifted by at most a frame.
    f.fbank.frameLength =
        r.integer(pre, "frame_length", "preprocessing.frame_length", 2, f.fbank.sampleRate);
    f.fbank.frameShift =
        r.integer(pre, "frame_shift", "preprocessing.frame_shift", 1, f.fbank.frameLength);
    f.fbank.lowFreq = r.number(pre, "low_freq", "preprocessing.low_freq");
    f.fbank.highFreq = r.number(pre, "high_freq", "preprocessing.high_freq");
    const double nyquist = 0.5 * f.fbank.sampleRate;
    const double high = f.fbank.highFreq > 0 ? f.fbank.highFreq : nyquist + f.fbank.highFreq;
    if (!(f.fbank.lowFreq >= 0 && f.fbank.lowFreq < high && high <= nyquist)) {
        throw Error(ErrorKind::Format,
            "fields preprocessing.low_freq and high_freq must give 0 <= low < high <= "
                + std::to_string(int(nyquist)) + " Hz (half the sampling rate)",
            file);
    }
    f.fbank.preemphasis = float(r.number(pre, "preemphasis", "preprocessing.preemphasis"));
    if (!(f.fbank.preemphasis >= 0.0f && f.fbank.preemphasis <= 1.0f))
        throw Error(ErrorKind::Format, "field preprocessing.preemphasis must lie in [0, 1]", file);
    f.maxLength = r.integer(pre, "max_length", "preprocessing.max_length", 1, kMaxInputFrames);
    f.normalize = r.boolean(pre, "do_normalize", "preprocessing.do_normalize");
    f.mean = float(r.number(pre, "mean", "preprocessing.mean"));
    f.std = float(r.number(pre, "std", "preprocessing.std"));
    if (!(f.std > 0.0f))
        throw Error(ErrorKind::Format, "field preprocessing.std must be positive", file);
    if (!std::isfinite(f.mean) || !std::isfinite(f.std))
        throw Error(ErrorKind::Format, "fields preprocessing.mean and std must fit a float", file);

    const json &b = r.at(j, "backbone", "backbone");
    m.backboneFingerprint = r.string(b, "fingerprint", "backbone.fingerprint");
    m.hiddenSize = r.integer(b, "hidden_size", "backbone.hidden_size", 1, kMaxHiddenSize);
    m.numHiddenLayers =
        r.integer(b, "num_hidden_layers", "backbone.num_hidden_layers", 1, kMaxLayers);
    return m;
}

void checkAdapterFits(
    const AdapterManifest &m, const AstConfig &backbone, const std::filesystem::path &file)
{
    const auto refuse = [&](const std::string &field, const std::string &reason) {
        throw Error(ErrorKind::Model, "field " + field + " " + reason, file);
    };
    const auto differs = [&](const std::string &field, long long ours, long long theirs,
                             const std::string &what) {
        if (ours != theirs) {
            refuse(field,
                "is " + std::to_string(ours) + " but the backbone's " + what + " is "
                    + std::to_string(theirs));
        }
    };
    differs("backbone.hidden_size", m.hiddenSize, backbone.hiddenSize, "hidden size");
    differs("backbone.num_hidden_layers", m.numHiddenLayers, backbone.numHiddenLayers, "layers");
    const FbankOptions &fbank = m.frontEnd.fbank;
    differs("preprocessing.num_mel_bins", fbank.numMelBins, backbone.numMelBins, "num_mel_bins");
    differs(
        "preprocessing.sampling_rate", fbank.sampleRate, backbone.samplingRate, "sampling rate");
    if (const std::string problem = inputLengthProblem(backbone, m.frontEnd.maxLength);
        !problem.empty())
        refuse("preprocessing.max_length", problem);
    if (const auto knob = knobProblem(m.peft, backbone, m.frontEnd.maxLength))
        refuse(knob->field, knob->reason);
}

AdapterManifest loadAdapterManifest(const std::filesystem::path &dir, const AstConfig &backbone)
{
    AdapterManifest manifest = loadAdapterManifest(dir);
    checkAdapterFits(manifest, backbone, dir / kAdapterConfigFile);
    return manifest;
}

void saveAdapterManifest(const AdapterManifest &manifest, const std::filesystem::path &dir)
{
    createDirectories(dir);
    writeFileAtomic(dir / kAdapterConfigFile, adapterManifestJson(manifest));
}

AdapterManifest loadAdapterManifest(const std::filesystem::path &dir)
{
    const std::filesystem::path file = dir / kAdapterConfigFile;
    if (!std::filesystem::exists(file)) {
        throw Error(ErrorKind::Io,
            std::filesystem::exists(dir) ? "no adapter_config.json in the adapter folder"
                                         : "no such adapter folder",
            std::filesystem::exists(dir) ? file : dir);
    }
    return parseAdapterManifest(readTextFile(file), file);
}

std::string backboneFingerprint(const std::filesystem::path &modelDir)
{
    const AstConfig c = loadAstConfig(modelDir);
    Fnv1a h;
    for (int v : { c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.intermediateSize,
             c.patchSize, c.frequencyStride, c.timeStride, c.numMelBins, c.maxLength })
        h.add(&v, sizeof v);
    const SafetensorsFile file(modelDir / "model.safetensors");
    constexpr std::size_t kSample = 4096;
    for (const TensorInfo &t : file.tensors()) {
        if (t.name.rfind("classifier.", 0) == 0)
            continue;
        h.add(t.name);
        h.add(dtypeName(t.dtype));
        for (std::int64_t d : t.shape)
            h.add(&d, sizeof d);
        const auto bytes = file.data(t);
        const std::size_t n = bytes.size();
        for (std::size_t start : { std::size_t(0), n / 2, n > kSample ? n - kSample : 0 })
            h.add(bytes.data() + std::min(start, n), std::min(kSample, n - std::min(start, n)));
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.h));
    return std::string("fnv1a64:") + hex;
}

} // namespace astpeft::core

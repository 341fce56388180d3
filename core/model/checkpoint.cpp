// SPDX-License-Identifier: MIT
#include "model/checkpoint.h"

#include "error.h"
#include "io/atomic_file.h"
#include "random.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace astpeft::core {

namespace {

bool isPickle(const std::filesystem::path &p)
{
    const std::string ext = p.extension().string();
    return ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".pkl";
}

[[noreturn]] void refusePickle(const std::filesystem::path &p)
{
    throw Error(ErrorKind::Unsupported,
        "pickle checkpoints are not loaded: unpickling can run arbitrary code. Convert a "
        "trusted file with `tools/convert_pickle_to_safetensors.py "
            + (std::filesystem::is_directory(p) ? p.string() : p.parent_path().string())
            + "` and load the resulting model.safetensors",
        p);
}

} // namespace

std::string shapeString(c10::IntArrayRef shape)
{
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < shape.size(); ++i)
        s << (i ? "," : "") << shape[i];
    s << ']';
    return s.str();
}

void throwIfTensorsMismatch(const std::string &context, const std::vector<std::string> &missing,
    const std::vector<std::string> &unexpected, const std::vector<std::string> &misshaped,
    const std::filesystem::path &file)
{
    if (missing.empty() && unexpected.empty() && misshaped.empty())
        return;
    // A stream, not string +: GCC 12 reports a false stringop-overflow for the latter.
    std::ostringstream message;
    message << context << ':';
    const char *separator = " ";
    for (const auto &[what, names] : { std::pair { "missing tensors", &missing },
             std::pair { "unexpected tensors", &unexpected },
             std::pair { "mis-shaped tensors", &misshaped } }) {
        if (names->empty())
            continue;
        message << separator << names->size() << ' ' << what << ": ";
        const std::size_t shown = std::min<std::size_t>(names->size(), 12);
        for (std::size_t i = 0; i < shown; ++i)
            message << (i ? ", " : "") << (*names)[i];
        if (shown < names->size())
            message << ", ... (" << names->size() - shown << " more)";
        separator = "; ";
    }
    throw Error(ErrorKind::Model, message.str(), file);
}

std::filesystem::path resolveModelDir(const std::filesystem::path &path)
{
    namespace fs = std::filesystem;
    if (!fs::exists(path))
        throw Error(ErrorKind::Io, "no such model folder or file", path);
    if (!fs::is_directory(path)) {
        if (isPickle(path))
            refusePickle(path);
        if (path.extension() == ".safetensors")
            return path.parent_path().empty() ? fs::path(".") : path.parent_path();
        throw Error(ErrorKind::Unsupported,
            "not a model: give a Hugging Face model folder (config.json + model.safetensors)",
            path);
    }
    if (!fs::exists(path / "model.safetensors")) {
        for (const char *name : { "pytorch_model.bin", "model.pt", "model.pth" })
            if (fs::exists(path / name))
                refusePickle(path / name);
        throw Error(ErrorKind::Io, "no model.safetensors in the model folder", path);
    }
    return path;
}

torch::Tensor loadTensor(const SafetensorsFile &file, const TensorInfo &info)
{
    torch::ScalarType type;
    switch (info.dtype) {
    case DType::F32:
        type = torch::kFloat32;
        break;
    case DType::F16:
        type = torch::kFloat16;
        break;
    case DType::BF16:
        type = torch::kBFloat16;
        break;
    case DType::F64:
        type = torch::kFloat64;
        break;
    default:
        throw Error(ErrorKind::Unsupported,
            "tensor " + info.name + " has dtype " + dtypeName(info.dtype)
                + "; model weights must be F32, F16, BF16 or F64",
            file.path());
    }
    const auto bytes = file.data(info);
    // from_blob does not own the mapping: clone (or convert) before the file goes away.
    const torch::Tensor view = torch::from_blob(const_cast<std::byte *>(bytes.data()),
        std::vector<std::int64_t>(info.shape.begin(), info.shape.end()),
        torch::TensorOptions().dtype(type));
    return view.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
}

LoadedAst loadAstCheckpoint(const std::filesystem::path &path, const CheckpointLoadOptions &options)
{
    LoadedAst out;
    out.dir = resolveModelDir(path);
    out.config = loadAstConfig(out.dir);
    out.checkpointMaxLength = out.config.maxLength;
    if (options.maxLength > 0)
        out.config.maxLength = options.maxLength;
    requireInputLength(out.config, out.config.maxLength);

    const std::filesystem::path weights = out.dir / "model.safetensors";
    const SafetensorsFile file(weights);

    // HF ASTForAudioClassification keys carry the backbone prefix; a bare ASTModel's do not.
    const bool prefixed = std::any_of(file.tensors().begin(), file.tensors().end(),
        [](const TensorInfo &t) { return t.name.rfind(kBackbonePrefix, 0) == 0; });
    out.head = file.find("classifier.dense.weight") && !file.find("classifier.layernorm.weight")
        ? HeadKind::MeanTokens
        : HeadKind::Hf;
    AstConfig checkpointConfig = out.config;
    checkpointConfig.maxLength = out.checkpointMaxLength;
    // The model is built from config.json before the tensors are compared with it: refuse a
    // config.json that describes far more than the weights hold before allocating for it.
    std::int64_t stored = 0;
    for (const TensorInfo &t : file.tensors()) {
        std::int64_t n = 1;
        for (std::int64_t d : t.shape)
            n *= d;
        stored += n;
    }
    const std::int64_t described =
        backboneParameterCount(checkpointConfig) + headParameterCount(checkpointConfig, out.head);
    if (described > stored + (std::int64_t(1) << 20))
        throw Error(ErrorKind::Model,
            "describes " + std::to_string(described) + " parameters but model.safetensors holds "
                + std::to_string(stored),
            out.dir / "config.json");
    out.model = AstForAudioClassification(out.config, out.head);

    std::map<std::string, int> dtypeVotes;
    std::set<std::string> used;
    std::vector<std::string> missing, misshaped;
    torch::NoGradGuard noGrad;
    for (auto &item : out.model->named_parameters()) {
        const std::string &name = item.key();
        std::string fileName = name;
        if (!prefixed && name.rfind(kBackbonePrefix, 0) == 0)
            fileName = name.substr(std::string(kBackbonePrefix).size());
        const TensorInfo *info = file.find(fileName);
        if (!info) {
            missing.push_back(fileName);
            continue;
        }
        used.insert(fileName);
        ++dtypeVotes[dtypeName(info->dtype)];
        torch::Tensor &param = item.value();
        const std::vector<std::int64_t> want = param.sizes().vec();
        const bool positions = name.ends_with("embeddings.position_embeddings");
        if (info->shape == want) {
            param.copy_(loadTensor(file, *info));
            file.release(*info);
        } else if (positions && info->shape.size() == 3 && info->shape[0] == 1
            && info->shape[1] == checkpointConfig.numTokens() && info->shape[2] == want[2]) {
            if (options.positions == PositionMode::Zero)
                param.zero_();
            else
                param.copy_(adaptPositionEmbeddings(loadTensor(file, *info),
                    checkpointConfig.frequencyPatches(), checkpointConfig.timePatches(),
                    out.config.frequencyPatches(), out.config.timePatches()));
        } else {
            misshaped.push_back(fileName + " (file " + shapeString(info->shape) + ", model "
                + shapeString(want) + ")");
        }
    }
    std::vector<std::string> unexpected;
    for (const TensorInfo &t : file.tensors())
        if (!used.count(t.name))
            unexpected.push_back(t.name);
    throwIfTensorsMismatch(
        "checkpoint does not match its config.json", missing, unexpected, misshaped, weights);
    out.sourceDType = "F32";
    int best = 0;
    for (const auto &[name, votes] : dtypeVotes)
        if (votes > best) {
            best = votes;
            out.sourceDType = name;
        }
    out.model->eval();
    return out;
}

void saveAstCheckpoint(AstForAudioClassification &model, const AstConfig &config,
    const std::filesystem::path &dir, DType dtype)
{
    createDirectories(dir);
    torch::ScalarType type = torch::kFloat32;
    AstConfig stored = config;
    stored.torchDtype = "float32";
    if (dtype == DType::F16) {
        type = torch::kFloat16;
        stored.torchDtype = "float16";
    } else if (dtype == DType::BF16) {
        type = torch::kBFloat16;
        stored.torchDtype = "bfloat16";
    } else if (dtype != DType::F32) {
        throw Error(ErrorKind::Usage, "checkpoints are saved as F32, F16 or BF16");
    }
    std::vector<torch::Tensor> keep; // owns the bytes the spans point to
    std::vector<TensorToWrite> tensors;
    for (const auto &item : model->named_parameters()) {
        torch::Tensor t = item.value().detach().to(torch::kCPU, type).contiguous();
        keep.push_back(t);
        tensors.push_back({ item.key(), dtype, t.sizes().vec(),
            std::span<const std::byte>(
                static_cast<const std::byte *>(t.data_ptr()), std::size_t(t.nbytes())) });
    }
    writeSafetensors(dir / "model.safetensors", tensors, { { "format", "pt" } });
    saveAstConfig(stored, dir);
}

void randomInitialize(torch::nn::Module &model, double std, std::uint64_t seed)
{
    Rng rng { seed };
    torch::NoGradGuard noGrad;
    for (auto &item : model.named_parameters()) {
        const std::string &name = item.key();
        torch::Tensor cpu = torch::empty(item.value().sizes(), torch::kFloat32);
        float *p = cpu.data_ptr<float>();
        const std::int64_t n = cpu.numel();
        const bool isNorm = name.find("layernorm") != std::string::npos;
        const bool isBias = name.ends_with(".bias");
        for (std::int64_t i = 0; i < n; ++i) {
            double v;
            if (isNorm && !isBias) {
                v = 1.0 + 0.1 * rng.normal();
            } else if (isBias || name.ends_with("_token")
                || name.ends_with("position_embeddings")) {
                v = 0.02 * rng.normal();
            } else {
                do
                    v = rng.normal();
                while (std::abs(v) > 2.0);
                v *= std;
            }
            p[i] = float(v);
        }
        item.value().copy_(cpu);
    }
}

} // namespace astpeft::core

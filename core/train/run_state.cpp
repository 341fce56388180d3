// SPDX-License-Identifier: MIT
// Trainer state, optimizer moments, checkpoint folders and the metrics log (see run_state.h).
#include "train/run_state.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <span>
#include <vector>

namespace astpeft::core::detail {

namespace {

using nlohmann::json;

// Fields that may change between a run and its resumption.
bool resumableDifference(const std::string &key)
{
    static const char *allowed[] = { "epochs", "out", "command", "device", "patience",
        "evaluate_test", "feature_cache", "use_feature_cache" };
    return std::find(std::begin(allowed), std::end(allowed), key) != std::end(allowed);
}

} // namespace

std::string stateJson(const TrainerState &s)
{
    return json {
        { "format", "astpeft-trainer-state" }, { "epoch", s.epoch }, { "step", s.step },
        { "best_epoch", s.bestEpoch }, { "best_val_accuracy", s.bestAccuracy },
        { "best_val_loss", s.bestLoss }, { "stale_epochs", s.staleEpochs },
        { "metrics_bytes", s.metricsBytes }, { "seconds", s.seconds },
        { "loss_scale", s.lossScale }, { "good_steps", s.goodSteps }, { "world_size", s.worldSize }
    }.dump(2)
        + "\n";
}

TrainerState parseState(const std::filesystem::path &file)
{
    const json j =
        parseFormatDocument(readTextFile(file), file, "astpeft-trainer-state", "a trainer state");
    const JsonReader r { j, file };
    TrainerState s;
    s.epoch = r.integer(j, "epoch", "epoch", 1);
    s.step = std::int64_t(r.unsignedInteger(j, "step", "step", INT64_MAX));
    s.bestEpoch = r.integer(j, "best_epoch", "best_epoch", 0);
    s.bestAccuracy = r.number(j, "best_val_accuracy", "best_val_accuracy");
    s.bestLoss = r.number(j, "best_val_loss", "best_val_loss");
    s.staleEpochs = r.integer(j, "stale_epochs", "stale_epochs", 0);
    s.metricsBytes = r.unsignedInteger(j, "metrics_bytes", "metrics_bytes");
    s.seconds = r.number(j, "seconds", "seconds");
    s.lossScale = r.number(j, "loss_scale", "loss_scale");
    s.goodSteps = std::int64_t(r.unsignedInteger(j, "good_steps", "good_steps", INT64_MAX));
    if (j.contains("world_size")) // absent before data-parallel training: one process
        s.worldSize = r.integer(j, "world_size", "world_size", 1, kMaxWorldSize);
    return s;
}

void saveOptimizer(const AdamW &opt, const std::filesystem::path &file)
{
    std::vector<torch::Tensor> keep;
    std::vector<TensorToWrite> tensors;
    auto add = [&](const std::string &name, const torch::Tensor &t) {
        keep.push_back(t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
        const torch::Tensor &c = keep.back();
        tensors.push_back({ name, DType::F32, c.sizes().vec(),
            std::span<const std::byte>(
                static_cast<const std::byte *>(c.data_ptr()), std::size_t(c.nbytes())) });
    };
    for (std::size_t i = 0; i < opt.params.size(); ++i) {
        add("exp_avg." + opt.names[i], opt.m[i]);
        add("exp_avg_sq." + opt.names[i], opt.v[i]);
    }
    writeSafetensors(file, tensors, { { "step", std::to_string(opt.step) } });
}

void loadOptimizer(AdamW &opt, const std::filesystem::path &file)
{
    const SafetensorsFile f(file);
    std::vector<std::string> missing, misshaped;
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < opt.params.size(); ++i) {
        for (auto [prefix, target] :
            { std::pair { "exp_avg.", &opt.m[i] }, std::pair { "exp_avg_sq.", &opt.v[i] } }) {
            const std::string name = prefix + opt.names[i];
            const TensorInfo *info = f.find(name);
            if (!info)
                missing.push_back(name);
            else if (info->shape != target->sizes().vec())
                misshaped.push_back(name);
            else
                target->copy_(loadTensor(f, *info));
        }
    }
    throwIfTensorsMismatch("the optimizer state does not match the run's trainable parameters",
        missing, {}, misshaped, file);
    const auto step = f.metadata().find("step");
    if (step == f.metadata().end())
        throw Error(ErrorKind::Format, "no step in the optimizer state's metadata", file);
    opt.step = std::stoll(step->second);
}

void replaceFolder(const std::filesystem::path &dir,
    const std::function<void(const std::filesystem::path &)> &write)
{
    namespace fs = std::filesystem;
    const fs::path tmp = dir.string() + ".tmp";
    const fs::path old = dir.string() + ".old";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    createDirectories(tmp);
    write(tmp);
    fs::remove_all(old, ec);
    if (fs::exists(dir))
        fs::rename(dir, old);
    fs::rename(tmp, dir);
    fs::remove_all(old, ec);
}

std::filesystem::path findCheckpoint(const std::filesystem::path &run)
{
    const std::filesystem::path last = run / RunFiles::lastCheckpoint;
    if (std::filesystem::exists(last / kStateFile))
        return last;
    const std::filesystem::path old = last.string() + ".old";
    if (std::filesystem::exists(old / kStateFile))
        return old;
    return {};
}

void checkResumeOptions(const TrainOptions &now, const std::filesystem::path &run)
{
    const std::filesystem::path file = run / RunFiles::options;
    const json before = json::parse(trainOptionsJson(readRunOptions(run)));
    const json after = json::parse(trainOptionsJson(withAbsolutePaths(now)));
    std::string differences;
    for (const auto &[key, value] : after.items())
        if (!resumableDifference(key) && (!before.contains(key) || before[key] != value))
            differences += (differences.empty() ? "" : ", ") + key;
    if (!differences.empty())
        throw Error(ErrorKind::Usage,
            "cannot resume: these options differ from the run's options.json: " + differences
                + " (only epochs, device, patience and the caches may change)",
            file);
}

MetricsLog::~MetricsLog()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void MetricsLog::open(const std::filesystem::path &file, std::uintmax_t keep)
{
    m_file = file;
    m_fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st = {};
    if (m_fd < 0 || ::fstat(m_fd, &st) != 0)
        throw Error(ErrorKind::Io, "cannot write the metrics log: " + errnoText(errno), file);
    const auto size = std::uintmax_t(st.st_size);
    if (size < keep) { // cut short after the checkpoint was saved: its whole lines
        const std::string text = readTextFile(file);
        const std::size_t newline = text.rfind('\n');
        keep = newline == std::string::npos ? 0 : newline + 1;
    }
    if (size != keep && ::ftruncate(m_fd, off_t(keep)) != 0)
        throw Error(ErrorKind::Io, "cannot repair the metrics log: " + errnoText(errno), file);
    m_bytes = keep;
}

void MetricsLog::write(const std::string &line)
{
    if (m_fd < 0)
        return;
    const std::string text = line + '\n';
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(m_fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : ENOSPC;
            // Cut off the part that was written, if the file system lets us.
            [[maybe_unused]] const int cut = ::ftruncate(m_fd, off_t(m_bytes));
            throw Error(ErrorKind::Io, "cannot write the metrics log: " + errnoText(error), m_file);
        }
        done += std::size_t(n);
    }
    m_bytes += text.size();
}

} // namespace astpeft::core::detail

// SPDX-License-Identifier: MIT
// core/internal/train/optimizer.h: AdamW's foreach update is the per-tensor torch.optim.AdamW
// update bit for bit, leaves tensors without a gradient alone, and the fused kernel (libtorch 2.4+
// on the CPU, 2.0+ on CUDA) agrees with it; where the kernel is missing, asking for it is refused.
#include "error.h"
#include "runtime/torch_compat.h"
#include "train/optimizer.h"

#include <QtTest>

#include <cmath>

using namespace astpeft::core;

namespace {

// torch.optim.AdamW's single-tensor update (no amsgrad), written out.
struct Reference
{
    std::vector<torch::Tensor> params, m, v;
    std::int64_t step = 0;
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weightDecay = 0.1;
    void update(const std::vector<torch::Tensor> &grads, double lr)
    {
        torch::NoGradGuard noGrad;
        ++step;
        const double c1 = 1.0 - std::pow(beta1, double(step));
        const double c2 = 1.0 - std::pow(beta2, double(step));
        for (std::size_t i = 0; i < params.size(); ++i) {
            const torch::Tensor &g = grads[i];
            params[i].mul_(1.0 - lr * weightDecay);
            m[i].mul_(beta1).add_(g, 1.0 - beta1);
            v[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
            const torch::Tensor denom = (v[i].sqrt() / std::sqrt(c2)).add_(eps);
            params[i].addcdiv_(m[i], denom, -lr / c1);
        }
    }
};

std::vector<torch::Tensor> randomTensors(std::uint64_t seed)
{
    torch::manual_seed(seed);
    return { torch::randn({ 7, 5 }), torch::randn({ 5 }), torch::randn({ 3, 4, 2 }) };
}

// `opt` over copies of `start` (requiring gradients), stepped with the same gradients as
// returned by `gradsOf(step)`.
AdamW makeAdamW(const std::vector<torch::Tensor> &start, AdamWKernel kernel)
{
    AdamW opt;
    opt.kernel = kernel;
    for (std::size_t i = 0; i < start.size(); ++i) {
        std::string name = "param."; // (GCC 12 warns wrongly about "p" + to_string(i))
        name += std::to_string(i);
        opt.add(name, start[i].clone().requires_grad_(true));
    }
    return opt;
}

void stepWith(AdamW &opt, const std::vector<torch::Tensor> &grads, double lr)
{
    for (std::size_t i = 0; i < opt.params.size(); ++i)
        if (grads[i].defined())
            opt.params[i].mutable_grad() = grads[i].clone();
    opt.update(lr);
    opt.zeroGrad();
}

} // namespace

class TestOptimizer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void foreachIsTheReferenceBitForBit()
    {
        const std::vector<torch::Tensor> start = randomTensors(1);
        AdamW opt = makeAdamW(start, AdamWKernel::ForEach);
        QVERIFY(!opt.fused());
        Reference ref;
        for (const torch::Tensor &t : start) {
            ref.params.push_back(t.clone());
            ref.m.push_back(torch::zeros_like(t));
            ref.v.push_back(torch::zeros_like(t));
        }
        for (int step = 0; step < 6; ++step) {
            const std::vector<torch::Tensor> grads = randomTensors(100 + std::uint64_t(step));
            const double lr = 1e-3 * (step + 1);
            stepWith(opt, grads, lr);
            ref.update(grads, lr);
        }
        QCOMPARE(opt.step, std::int64_t(6));
        for (std::size_t i = 0; i < start.size(); ++i) {
            QVERIFY(torch::equal(opt.params[i].detach(), ref.params[i]));
            QVERIFY(torch::equal(opt.m[i], ref.m[i]));
            QVERIFY(torch::equal(opt.v[i], ref.v[i]));
            QVERIFY(!torch::equal(opt.params[i].detach(), start[i])); // it did move
        }
    }

    void tensorsWithoutGradientStay_data()
    {
        QTest::addColumn<bool>("fused");
        QTest::addRow("foreach") << false;
        QTest::addRow("fused") << true;
    }
    void tensorsWithoutGradientStay()
    {
        QFETCH(bool, fused);
        if (fused && !compat::fusedAdamWAvailable(torch::kCPU))
            QSKIP("no fused AdamW kernel for the CPU in this libtorch");
        const std::vector<torch::Tensor> start = randomTensors(2);
        AdamW opt = makeAdamW(start, fused ? AdamWKernel::Fused : AdamWKernel::ForEach);
        std::vector<torch::Tensor> grads = randomTensors(3);
        grads[1] = torch::Tensor();
        stepWith(opt, grads, 1e-2);
        QVERIFY(torch::equal(opt.params[1].detach(), start[1]));
        QVERIFY(torch::equal(opt.m[1], torch::zeros_like(start[1])));
        QVERIFY(!torch::equal(opt.params[0].detach(), start[0]));
    }

    // The fused kernel computes the same update in another order: equal to rounding.
    void fusedAgreesWithForeach()
    {
        const std::vector<torch::Tensor> start = randomTensors(4);
        if (!compat::fusedAdamWAvailable(torch::kCPU)) {
            AdamW opt = makeAdamW(start, AdamWKernel::Fused);
            QVERIFY(opt.fused());
            std::vector<torch::Tensor> grads = randomTensors(5);
            bool refused = false;
            try {
                stepWith(opt, grads, 1e-3);
            } catch (const Error &e) {
                refused = e.kind() == ErrorKind::Usage
                    && std::string(e.what()).find("fused AdamW") != std::string::npos;
            }
            QVERIFY(refused);
            QSKIP("no fused AdamW kernel for the CPU in this libtorch (refused, as it should be)");
        }
        AdamW fused = makeAdamW(start, AdamWKernel::Fused);
        AdamW foreach = makeAdamW(start, AdamWKernel::ForEach);
        for (int step = 0; step < 6; ++step) {
            const std::vector<torch::Tensor> grads = randomTensors(200 + std::uint64_t(step));
            stepWith(fused, grads, 2e-3);
            stepWith(foreach, grads, 2e-3);
        }
        for (std::size_t i = 0; i < start.size(); ++i) {
            QVERIFY(torch::allclose(fused.params[i], foreach.params[i], 1e-5, 1e-6));
            QVERIFY(torch::allclose(fused.m[i], foreach.m[i], 1e-5, 1e-7));
            QVERIFY(torch::allclose(fused.v[i], foreach.v[i], 1e-5, 1e-8));
        }
    }

    // Auto: fused on CUDA only, so CPU runs stay bit-identical across libtorch versions.
    void autoIsForeachOnTheCpu()
    {
        AdamW opt = makeAdamW(randomTensors(6), AdamWKernel::Auto);
        QVERIFY(!opt.fused());
    }
};

QTEST_GUILESS_MAIN(TestOptimizer)
#include "tst_optimizer.moc"

// SPDX-License-Identifier: MIT
#include "project/demo_project.h"

#include "data/dataset.h"
#include "error.h"
#include "runtime/resources.h"

#include <cstdlib>
#include <system_error>

namespace astpeft::core {

namespace fs = std::filesystem;

fs::path defaultDemoProjectDir()
{
    return userDataDir("the demo project") / "demo-project";
}

Project openDemoProject(const fs::path &dir, const fs::path &demoData, const fs::path &backbone)
{
    if (isProjectDir(dir)) {
        Project p = loadProject(dir);
        std::error_code ec;
        if (p.backbone.empty() || !fs::exists(resolvePath(p, p.backbone), ec)) {
            p.backbone = backbone;
            saveProject(p);
        }
        return p;
    }
    // Import before creating anything, so that a broken dataset leaves no half-made project.
    const Dataset dataset = importDataset(demoData, { .layout = DatasetLayout::Folders });
    if (dataset.clips.empty())
        throw Error(ErrorKind::Format, "the demo dataset has no usable clips", demoData);
    Project p = createProject(dir, "Demo");
    addDataset(p, dataset);
    p.backbone = backbone;
    saveProject(p);
    return p;
}

} // namespace astpeft::core

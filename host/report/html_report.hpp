#pragma once
#include <filesystem>

namespace betahedge {

/// Renders report.html into `dir` from the files beside it with scripts/render_report.py
/// (matplotlib; a self-contained page with the charts embedded). The script is found at
/// <exe dir>/../share/betahedge/render_report.py (an installed bundle), else in the source tree
/// the binary was built from. The interpreter and script can be overridden with
/// BETAHEDGE_PYTHON and BETAHEDGE_REPORT_SCRIPT. Throws InputError with
/// the renderer's own error line when it fails. `final_dir` is the directory's name once the
/// staged output is moved into place (shown in the report).
void render_html_report(const std::filesystem::path& dir, const std::filesystem::path& final_dir);

}  // namespace betahedge

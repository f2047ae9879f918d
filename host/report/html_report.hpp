#pragma once
#include <filesystem>

namespace betahedge {

/// Renders report.html into `dir` from the files beside it with the Python package's renderer,
/// betahedge/report.py, run as a script by /usr/bin/python3 (matplotlib; a self-contained page
/// with the charts embedded). The script is found at <exe dir>/../share/betahedge/report.py (an
/// installed bundle), else at python/betahedge/report.py in the source tree the binary was built
/// from. The interpreter and script can be overridden with
/// BETAHEDGE_PYTHON and BETAHEDGE_REPORT_SCRIPT. Throws InputError with
/// the renderer's own error line when it fails. `final_dir` is the directory's name once the
/// staged output is moved into place (shown in the report).
void render_html_report(const std::filesystem::path& dir, const std::filesystem::path& final_dir);

}  // namespace betahedge

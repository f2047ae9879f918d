#pragma once
/// The CLI's progress on stderr (SPEC 3): a status line redrawn in place when stderr is a
/// terminal, one line per event otherwise.
///
/// The events are the lines the engine hands its progress function (ProgressFn; the Python
/// package's callback receives the same lines). An event says how far along its task is with
/// "K of N", K units done of N: "backtest: 30 of 60 dates (2024-03-01), 2 fits", "[   0.52 s]
/// scenario stress-a: simulating (1 of 3 scenarios done)". The bar is drawn from that count.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <thread>

namespace betahedge::cli {

/// "K of N" in an event: `done` of `total` units, K starting at byte `offset` of the event.
struct ProgressCount {
  long long done = 0;
  long long total = 0;
  std::size_t offset = 0;
};

/// The first "K of N" in `event` whose K and N are whole numbers standing alone (no letter or
/// digit against them) with 0 <= K <= N and N > 0; none when there is no such count.
std::optional<ProgressCount> progress_count(std::string_view event);

/// Whether `next` continues `previous`'s count: both state one, over the same N, after the same
/// text ("backtest: 6 of 60 dates ..." then "backtest: 12 of 60 dates ..."). On a terminal such
/// an event replaces the one before instead of following it.
bool continues_count(std::string_view previous, std::string_view next);

/// The status line drawn on a terminal `width` columns wide for `event`, `elapsed_s` seconds
/// into the command:
///     "  12.3 s [#######.............] 6/17 backtest: 6 of 17 dates (2024-03-01), 1 fits"
/// the elapsed time; when the event states a count, a 20-column bar filled floor(20 K / N) and
/// "K/N"; then the event's text, cut to fit with "..." at its end. The line takes at most
/// width - 1 columns (a line that reaches the last column would make the terminal wrap): on
/// a narrow terminal the bar goes first, then the text. A column is one UTF-8 code point (the
/// text is never cut inside one); control characters in the text become spaces.
std::string progress_status_line(std::string_view event, double elapsed_s, int width);

/// Progress events of one command on stderr. Lines (stderr is no terminal, TERM is dumb, or
/// std::cerr has no buffer, as on MPI ranks other than 0): each event is written as one line
/// when it comes, exactly as given. Terminal: every event still ends up as a line, in order,
/// except one that a continuing count replaced (continues_count); the latest event is shown as
/// the status line (progress_status_line) beneath the lines, redrawn every 100 ms with the
/// elapsed time, until the next event or any other output commits it as a line. Anything else
/// written to std::cerr, or to std::cout when stdout is a terminal too, goes through a filter
/// that first takes the status line down, so warnings and results never share its line.
/// The destructor commits the latest event and restores both streams. Events may come from any
/// thread; the mode is chosen at the first event.
class ProgressDisplay {
 public:
  ProgressDisplay();
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  void event(const std::string& line);

 private:
  class StreamFilter;
  friend class StreamFilter;

  // All but write_through run with mutex_ held.
  void start_terminal();
  void write_terminal(std::string_view text);
  void draw_status();
  void erase_status();
  void commit_pending();
  void write_through(std::streambuf& target, const char* text, std::streamsize count);

  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  enum class Mode { undecided, lines, terminal } mode_ = Mode::undecided;
  std::optional<std::string> pending_;  ///< the latest event, not yet written as a line
  bool status_drawn_ = false;
  bool at_line_start_ = true;  ///< the terminal's cursor is in column 0 (nothing else half-written)
  std::streambuf* stderr_target_ = nullptr;
  std::streambuf* stdout_target_ = nullptr;  ///< set when std::cout was filtered
  std::unique_ptr<StreamFilter> stderr_filter_, stdout_filter_;
  std::condition_variable_any tick_;
  std::jthread ticker_;
};

}  // namespace betahedge::cli

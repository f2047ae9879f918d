#include "cli/progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace betahedge::cli {
namespace {

constexpr int kBarColumns = 20;
/// Below this many columns left for the event's text, the bar makes way for it.
constexpr std::size_t kMinTextColumns = 12;
constexpr std::chrono::milliseconds kRedrawEvery{100};
constexpr std::string_view kEraseLine = "\r\033[K";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/// UTF-8 code points: every byte but the continuation bytes 10xxxxxx.
std::size_t columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

/// The first `n` code points of `text`.
std::string_view first_columns(std::string_view text, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == n) return text.substr(0, i);
  return text;
}

/// `text` in at most `n` columns, its end replaced by "..." when it is cut.
std::string fitted(std::string_view text, std::size_t n) {
  if (columns(text) <= n) return std::string(text);
  if (n < 4) return std::string(first_columns(text, n));
  return std::string(first_columns(text, n - 3)) + "...";
}

std::string without_control_characters(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  return out;
}

int terminal_width() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

std::optional<ProgressCount> progress_count(std::string_view event) {
  constexpr std::string_view of = " of ";
  constexpr std::size_t kMaxDigits = 15;  // 20 x 10^15 still fits a long long
  for (std::size_t at = event.find(of); at != std::string_view::npos; at = event.find(of, at + 1)) {
    std::size_t k_begin = at;
    while (k_begin > 0 && is_digit(event[k_begin - 1])) --k_begin;
    const std::size_t n_begin = at + of.size();
    std::size_t n_end = n_begin;
    while (n_end < event.size() && is_digit(event[n_end])) ++n_end;
    if (k_begin == at || n_end == n_begin || at - k_begin > kMaxDigits || n_end - n_begin > kMaxDigits) continue;
    // Part of a longer token: "v2 of 3", "1.5 of 3", "2 of 3x", "2 of 3.5".
    if (k_begin > 0 && (is_letter(event[k_begin - 1]) || event[k_begin - 1] == '.' || event[k_begin - 1] == ','))
      continue;
    if (n_end < event.size() &&
        (is_letter(event[n_end]) ||
         ((event[n_end] == '.' || event[n_end] == ',') && n_end + 1 < event.size() && is_digit(event[n_end + 1]))))
      continue;
    const long long done = std::stoll(std::string(event.substr(k_begin, at - k_begin)));
    const long long total = std::stoll(std::string(event.substr(n_begin, n_end - n_begin)));
    if (total > 0 && done <= total) return ProgressCount{done, total, k_begin};
  }
  return std::nullopt;
}

bool continues_count(std::string_view previous, std::string_view next) {
  const std::optional<ProgressCount> a = progress_count(previous), b = progress_count(next);
  return a && b && a->total == b->total && previous.substr(0, a->offset) == next.substr(0, b->offset);
}

std::string progress_status_line(std::string_view event, double elapsed_s, int width) {
  const std::size_t room = width > 1 ? static_cast<std::size_t>(width - 1) : 0;
  char time[32];
  std::snprintf(time, sizeof time, "%6.1f s", std::max(0.0, elapsed_s));
  std::string bar, count;
  if (const std::optional<ProgressCount> c = progress_count(event)) {
    const int filled = static_cast<int>(kBarColumns * c->done / c->total);
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) of "literal" + std::string&&.
    bar.append(" [").append(filled, '#').append(kBarColumns - filled, '.').append("]");
    count.append(" ").append(std::to_string(c->done)).append("/").append(std::to_string(c->total));
  }
  std::string line = std::string(time).append(bar).append(count);
  if (columns(line) + 1 + kMinTextColumns > room) line = std::string(time).append(count);
  if (const std::size_t used = columns(line) + 1; used < room)
    line.append(" ").append(fitted(without_control_characters(event), room - used));
  return std::string(first_columns(line, room));
}

/// std::cerr's or std::cout's buffer while the status line is up: every write first takes the
/// status line down (ProgressDisplay::write_through). No buffer of its own, so each write passes
/// at once, in order with the status line's.
class ProgressDisplay::StreamFilter : public std::streambuf {
 public:
  StreamFilter(ProgressDisplay& owner, std::streambuf& target) : owner_(owner), target_(target) {}

 protected:
  std::streamsize xsputn(const char* text, std::streamsize count) override {
    owner_.write_through(target_, text, count);
    return count;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    owner_.write_through(target_, &ch, 1);
    return c;
  }
  int sync() override { return target_.pubsync(); }

 private:
  ProgressDisplay& owner_;
  std::streambuf& target_;
};

ProgressDisplay::ProgressDisplay() = default;

ProgressDisplay::~ProgressDisplay() {
  if (ticker_.joinable()) {
    ticker_.request_stop();
    ticker_.join();
  }
  const std::lock_guard lock(mutex_);
  if (mode_ != Mode::terminal) return;
  erase_status();
  commit_pending();
  if (std::cerr.rdbuf() == stderr_filter_.get()) std::cerr.rdbuf(stderr_target_);
  if (stdout_target_ && std::cout.rdbuf() == stdout_filter_.get()) std::cout.rdbuf(stdout_target_);
}

void ProgressDisplay::event(const std::string& line) {
  const std::lock_guard lock(mutex_);
  if (mode_ == Mode::undecided) {
    stderr_target_ = std::cerr.rdbuf();
    const char* term = std::getenv("TERM");
    const bool terminal = stderr_target_ != nullptr && ::isatty(STDERR_FILENO) == 1 &&
                          !(term && std::string_view(term) == "dumb");
    mode_ = terminal ? Mode::terminal : Mode::lines;
    if (terminal) start_terminal();
  }
  if (mode_ == Mode::lines) {
    std::cerr << line << "\n";
    return;
  }
  if (pending_ && !continues_count(*pending_, line)) {
    erase_status();
    commit_pending();
  }
  pending_ = line;
  if (at_line_start_) draw_status();
}

void ProgressDisplay::start_terminal() {
  stderr_filter_ = std::make_unique<StreamFilter>(*this, *stderr_target_);
  std::cerr.rdbuf(stderr_filter_.get());
  // Results on stdout share the terminal's lines with the status line only when stdout is it too.
  if (std::cout.rdbuf() != nullptr && ::isatty(STDOUT_FILENO) == 1) {
    std::cout.flush();
    stdout_target_ = std::cout.rdbuf();
    stdout_filter_ = std::make_unique<StreamFilter>(*this, *stdout_target_);
    std::cout.rdbuf(stdout_filter_.get());
  }
  ticker_ = std::jthread([this](std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {
      tick_.wait_for(lock, stop, kRedrawEvery, [] { return false; });
      if (!stop.stop_requested() && pending_ && at_line_start_) draw_status();
    }
  });
}

void ProgressDisplay::write_terminal(std::string_view text) {
  stderr_target_->sputn(text.data(), static_cast<std::streamsize>(text.size()));
  stderr_target_->pubsync();
}

void ProgressDisplay::draw_status() {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string text = "\r";
  text.append(progress_status_line(*pending_, elapsed, terminal_width())).append("\033[K");
  write_terminal(text);
  status_drawn_ = true;
}

void ProgressDisplay::erase_status() {
  if (!status_drawn_) return;
  write_terminal(kEraseLine);
  status_drawn_ = false;
}

void ProgressDisplay::commit_pending() {
  if (!pending_) return;
  write_terminal((at_line_start_ ? "" : "\n") + *pending_ + "\n");
  pending_.reset();
  at_line_start_ = true;
}

void ProgressDisplay::write_through(std::streambuf& target, const char* text, std::streamsize count) {
  if (count <= 0) return;
  const std::lock_guard lock(mutex_);
  // The status line goes, and its event becomes a line before this text, as without a terminal.
  erase_status();
  commit_pending();
  target.sputn(text, count);
  target.pubsync();
  at_line_start_ = text[count - 1] == '\n';
}

}  // namespace betahedge::cli

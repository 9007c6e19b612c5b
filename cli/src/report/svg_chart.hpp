// Small inline-SVG charts for the HTML report: axes with "nice" ticks, bars with whiskers,
// points, lines. Every data mark carries class="mark" (what the browser test counts) and a
// <title> (the hover tooltip). Output is self-contained SVG text: no scripts, no external refs.
#pragma once

#include <string>
#include <vector>

namespace accelab::report {

/// Text safe inside HTML/SVG element content and attribute values.
std::string xml_escape(const std::string& s);

/// A linear or base-10 log axis mapping [lo, hi] onto pixels [p0, p1].
struct Axis {
  double lo = 0, hi = 1;
  double p0 = 0, p1 = 1;
  bool log = false;
  [[nodiscard]] double px(double v) const;
  /// About `count` round tick values inside [lo, hi] (powers of ten for a log axis).
  [[nodiscard]] std::vector<double> ticks(int count = 5) const;
};

/// Expands [lo, hi] to round numbers (and a non-empty span).
void nice_range(double& lo, double& hi, bool log);

/// Tick label: short, trailing zeros dropped (1e-3 style for small log values).
std::string tick_label(double v);

/// An SVG chart being built: a plot area inside margins, then marks.
class SvgChart {
 public:
  SvgChart(std::string id, std::string title, int width, int height);
  Axis x, y, y2;  ///< y2: an optional right axis (has_y2)
  bool has_y2 = false;
  std::string x_label, y_label, y2_label;

  /// Room for long rotated category labels: wider left and bottom margins (call first).
  void margins(double left, double bottom);
  /// Frame, grid, ticks and axis labels for the current axes (call after setting them).
  void axes();
  /// A category axis on x: labels at the given x pixel positions.
  void x_categories(const std::vector<std::pair<double, std::string>>& labels);
  void bar(double x0, double x1, double y0, double y1, const std::string& css, const std::string& tip);
  void whisker(double x, double y_low, double y_high);
  void point(double x, double y, const std::string& css, const std::string& tip, double r = 4.5);
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& css);
  void hline(double y, const std::string& css, const std::string& label);
  void text(double x, double y, const std::string& s, const std::string& css, const char* anchor = "start");
  void legend(const std::vector<std::pair<std::string, std::string>>& css_and_label);
  [[nodiscard]] int marks() const { return marks_; }
  [[nodiscard]] std::string svg() const;

  [[nodiscard]] double left() const { return left_; }
  [[nodiscard]] double right() const { return width_ - right_margin_; }
  [[nodiscard]] double top() const { return top_; }
  [[nodiscard]] double bottom() const { return height_ - bottom_; }

 private:
  std::string id_, title_, body_;
  int width_, height_;
  double left_ = 64, right_margin_ = 64, top_ = 34, bottom_ = 64;
  int marks_ = 0;
};

}  // namespace accelab::report

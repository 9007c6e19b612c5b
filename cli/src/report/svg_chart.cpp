// Inline-SVG primitives for the HTML report.
#include "report/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace accelab::report {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

double Axis::px(double v) const {
  double a = lo, b = hi, t = v;
  if (log) {
    a = std::log10(lo);
    b = std::log10(hi);
    t = std::log10(std::max(v, lo));
  }
  return b == a ? (p0 + p1) / 2 : p0 + (t - a) / (b - a) * (p1 - p0);
}

std::vector<double> Axis::ticks(int count) const {
  std::vector<double> out;
  if (log) {
    for (double d = std::pow(10.0, std::ceil(std::log10(lo) - 1e-9)); d <= hi * (1 + 1e-9); d *= 10) out.push_back(d);
    return out;
  }
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

void nice_range(double& lo, double& hi, bool log) {
  if (log) {
    lo = std::pow(10.0, std::floor(std::log10(lo)));
    hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
    return;
  }
  if (hi <= lo) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
}

std::string tick_label(double v) {
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e6)) return fmt::format("{:.0e}", v);
  std::string s = fmt::format("{:.4f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

SvgChart::SvgChart(std::string id, std::string title, int width, int height)
    : id_(std::move(id)), title_(std::move(title)), width_(width), height_(height) {
  x.p0 = left_;
  x.p1 = width_ - right_margin_;
  y.p0 = y2.p0 = height_ - bottom_;
  y.p1 = y2.p1 = top_;
}

void SvgChart::margins(double left, double bottom) {
  left_ = left;
  bottom_ = bottom;
  x.p0 = left_;
  y.p0 = y2.p0 = height_ - bottom_;
}

void SvgChart::axes() {
  body_ += fmt::format(R"(<rect class="frame" x="{}" y="{}" width="{}" height="{}"/>)", left(), top(), right() - left(), bottom() - top());
  for (double t : y.ticks()) {
    const double py = y.px(t);
    body_ += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>)", left(), right(), py, py);
    text(left() - 6, py + 4, tick_label(t), "tick", "end");
  }
  if (has_y2)
    for (double t : y2.ticks()) text(right() + 6, y2.px(t) + 4, tick_label(t), "tick y2", "start");
  if (!x_label.empty() || x.hi != x.lo) {
    if (!x_label.empty()) text((left() + right()) / 2, height_ - 12, x_label, "axis-label", "middle");
  }
  if (!y_label.empty())
    body_ += fmt::format(R"~(<text class="axis-label" transform="translate(16,{:.1f}) rotate(-90)" text-anchor="middle">{}</text>)~",
                         (top() + bottom()) / 2, xml_escape(y_label));
  if (has_y2 && !y2_label.empty())
    body_ += fmt::format(R"~(<text class="axis-label y2" transform="translate({},{:.1f}) rotate(90)" text-anchor="middle">{}</text>)~",
                         width_ - 14, (top() + bottom()) / 2, xml_escape(y2_label));
}

void SvgChart::x_categories(const std::vector<std::pair<double, std::string>>& labels) {
  for (const auto& [px, label] : labels)
    body_ += fmt::format(R"~(<text class="tick" transform="translate({:.1f},{}) rotate(-30)" text-anchor="end">{}</text>)~", px,
                         bottom() + 14, xml_escape(label));
}

void SvgChart::bar(double x0, double x1, double y0, double y1, const std::string& css, const std::string& tip) {
  ++marks_;
  body_ += fmt::format(R"(<rect class="mark {}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"><title>{}</title></rect>)", css,
                       std::min(x0, x1), std::min(y0, y1), std::abs(x1 - x0), std::abs(y1 - y0), xml_escape(tip));
}

void SvgChart::whisker(double px, double y_low, double y_high) {
  body_ += fmt::format(R"(<path class="whisker" d="M{0:.1f},{1:.1f}V{2:.1f}M{3:.1f},{1:.1f}H{4:.1f}M{3:.1f},{2:.1f}H{4:.1f}"/>)", px,
                       y_low, y_high, px - 4, px + 4);
}

void SvgChart::point(double px, double py, const std::string& css, const std::string& tip, double r) {
  ++marks_;
  body_ += fmt::format(R"(<circle class="mark {}" cx="{:.1f}" cy="{:.1f}" r="{}"><title>{}</title></circle>)", css, px, py, r, xml_escape(tip));
}

void SvgChart::polyline(const std::vector<std::pair<double, double>>& pts, const std::string& css) {
  std::string d;
  for (const auto& [px, py] : pts) d += fmt::format("{:.1f},{:.1f} ", px, py);
  body_ += fmt::format(R"(<polyline class="{}" points="{}"/>)", css, d);
}

void SvgChart::hline(double py, const std::string& css, const std::string& label) {
  body_ += fmt::format(R"(<line class="{}" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>)", css, left(), right(), py, py);
  if (!label.empty()) text(right() - 4, py - 4, label, "ref-label", "end");
}

void SvgChart::text(double px, double py, const std::string& s, const std::string& css, const char* anchor) {
  body_ += fmt::format(R"(<text class="{}" x="{:.1f}" y="{:.1f}" text-anchor="{}">{}</text>)", css, px, py, anchor, xml_escape(s));
}

void SvgChart::legend(const std::vector<std::pair<std::string, std::string>>& css_and_label) {
  double px = left();
  for (const auto& [css, label] : css_and_label) {
    body_ += fmt::format(R"(<rect class="swatch {}" x="{:.1f}" y="10" width="10" height="10"/>)", css, px);
    text(px + 14, 19, label, "legend");
    px += 24 + 7.0 * static_cast<double>(label.size());
  }
}

std::string SvgChart::svg() const {
  return fmt::format(R"(<figure class="chart" id="{0}" data-marks="{1}"><figcaption>{2}</figcaption>)"
                     R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {3} {4}" width="{3}" height="{4}" role="img" aria-label="{2}">{5}</svg></figure>)",
                     id_, marks_, xml_escape(title_), width_, height_, body_);
}

}  // namespace accelab::report

#include "core/exposition.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace pgpulse::core {

Family& add_gauge(Families& families, std::string name, std::string help) {
  families.push_back(Family{std::move(name), std::move(help), prometheus::MetricType::Gauge, {}});
  return families.back();
}

Family& add_counter(Families& families, std::string name, std::string help) {
  families.push_back(Family{std::move(name), std::move(help), prometheus::MetricType::Counter, {}});
  return families.back();
}

void add_sample(Family& family, const LabelPairs& labels, double value) {
  prometheus::ClientMetric metric;
  metric.label.reserve(labels.size());
  for (const auto& [name, label_value] : labels) metric.label.push_back({name, label_value});
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length;
  std::uint32_t code;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (overlong || surrogate || code > 0x10FFFF) return 0;
  return length;
}

constexpr std::size_t kMaxLabelBytes = 128;

}  // namespace

std::string sanitize_label_value(std::string_view value) {
  return repair_utf8(value, kMaxLabelBytes);
}

std::string repair_utf8(std::string_view value, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(value.size(), max_bytes));
  for (std::size_t i = 0; i < value.size();) {
    std::size_t length = utf8_sequence_length(value, i);
    std::string_view piece = length ? value.substr(i, length) : std::string_view("\xEF\xBF\xBD");
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += length ? length : 1;
  }
  return out;
}

std::vector<RenderedFamily> render_families(std::string_view target, Families families) {
  std::vector<RenderedFamily> rendered;
  rendered.reserve(families.size());
  prometheus::TextSerializer serializer;
  for (auto& family : families) {
    if (family.metric.empty()) continue;
    for (auto& metric : family.metric) {
      for (auto& label : metric.label) label.value = sanitize_label_value(label.value);
      if (!target.empty()) {
        metric.label.insert(metric.label.begin(), {"target", sanitize_label_value(target)});
      }
    }
    std::string name = family.name;
    std::ostringstream out;
    serializer.Serialize(out, std::vector<Family>{std::move(family)});
    std::string text = out.str();
    // The serializer writes "# HELP ...\n# TYPE ...\n" then one line per sample.
    auto second_newline = text.find('\n', text.find('\n') + 1);
    rendered.push_back(RenderedFamily{std::move(name), text.substr(0, second_newline + 1),
                                      text.substr(second_newline + 1)});
  }
  return rendered;
}

}  // namespace pgpulse::core

// The exposition writer under database-provided strings: label values, the target name and help
// text are arbitrary bytes (invalid UTF-8, quotes, backslashes, newlines, NULs), sample values are
// arbitrary doubles. Properties: the rendered text is valid UTF-8; every family renders as
// "# HELP" and "# TYPE" lines then sample lines that parse under the text format 0.0.4 grammar;
// every label value parses back to sanitize_label_value of the input; sanitize is idempotent,
// bounded to 128 bytes and leaves short valid UTF-8 alone.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/exposition.hpp"

using namespace pgpulse::core;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_exposition: %s\n[%s]\n", what, detail.c_str());
  std::abort();
}

bool valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char lead = byte(i);
    std::size_t length;
    std::uint32_t code;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2, code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3, code = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4, code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += length;
  }
  return true;
}

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// One sample line of the text format: name{label="value",...} value
bool parse_sample(const std::string& line, Sample& sample) {
  std::size_t i = 0;
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i == 0) return false;
  sample.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::size_t start = i;
      while (i < line.size() && name_char(line[i], i == start)) ++i;
      if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
      std::string label = line.substr(start, i - start), value;
      i += 2;
      while (true) {
        if (i >= line.size()) return false;
        char c = line[i++];
        if (c == '"') break;
        if (c == '\n') return false;
        if (c == '\\') {
          if (i >= line.size()) return false;
          char escaped = line[i++];
          if (escaped == 'n') {
            value.push_back('\n');
          } else if (escaped == '\\' || escaped == '"') {
            value.push_back(escaped);
          } else {
            return false;
          }
        } else {
          value.push_back(c);
        }
      }
      sample.labels.emplace_back(label, value);
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return false;
  std::string number = line.substr(i + 1);
  auto space = number.find(' ');  // an optional timestamp
  if (space != std::string::npos) number = number.substr(0, space);
  if (number == "Nan" || number == "NaN") {
    sample.value = NAN;
  } else if (number == "+Inf") {
    sample.value = INFINITY;
  } else if (number == "-Inf") {
    sample.value = -INFINITY;
  } else {
    char* end = nullptr;
    sample.value = std::strtod(number.c_str(), &end);
    if (number.empty() || *end != '\0') return false;
  }
  return true;
}

const char* const kNames[] = {"pgpulse_connections", "pgpulse_rls_table_protected", "pgpulse_up",
                              "pgpulse_connect_errors_total"};
const char* const kLabels[] = {"datname", "usename", "application_name",
                               "state",   "schema",  "table"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);

  // sanitize_label_value and repair_utf8 alone.
  std::string raw = in.ConsumeRandomLengthString(300);
  std::string clean = sanitize_label_value(raw);
  if (!valid_utf8(clean)) fail("sanitize_label_value left invalid UTF-8", raw);
  if (clean.size() > 128) fail("sanitize_label_value longer than 128 bytes", raw);
  if (sanitize_label_value(clean) != clean) fail("sanitize_label_value is not idempotent", raw);
  if (valid_utf8(raw) && raw.size() <= 128 && clean != raw) fail("changed a valid value", raw);
  std::size_t limit = in.ConsumeIntegralInRange<std::size_t>(0, 200);
  std::string repaired = repair_utf8(raw, limit);
  if (!valid_utf8(repaired) || repaired.size() > limit) fail("repair_utf8 broke its bound", raw);

  // Families as collectors build them, then rendered.
  std::string target = in.ConsumeRandomLengthString(100);
  Families families;
  std::vector<std::vector<std::vector<std::string>>> inputs;  // family, sample, label values
  int family_count = in.ConsumeIntegralInRange(1, 4);
  for (int f = 0; f < family_count; ++f) {
    std::string name = kNames[f];
    // Help texts are pgpulse's own literals: printable, without backslashes or newlines
    // (prometheus-cpp 1.0 writes HELP unescaped).
    std::string help = "h" + in.ConsumeRandomLengthString(80);  // never empty, as theirs
    for (char& c : help) {
      if (c < 0x20 || c > 0x7e || c == '\\') c = '_';
    }
    auto& family =
        in.ConsumeBool() ? add_counter(families, name, help) : add_gauge(families, name, help);
    inputs.emplace_back();
    int samples = in.ConsumeIntegralInRange(0, 6);
    for (int s = 0; s < samples; ++s) {
      LabelPairs labels;
      std::vector<std::string> values;
      int label_count = in.ConsumeIntegralInRange(0, 6);
      for (int l = 0; l < label_count; ++l) {
        values.push_back(in.ConsumeRandomLengthString(200));
        labels.emplace_back(kLabels[l], values.back());
      }
      double value = in.ConsumeFloatingPoint<double>();
      if (in.ConsumeBool())
        value = in.PickValueInArray<double>({NAN, INFINITY, -INFINITY, 0.0, -0.0});
      add_sample(family, labels, value);
      inputs.back().push_back(values);
    }
  }
  auto rendered = render_families(target, std::move(families));

  std::size_t expected_families = 0;
  for (const auto& family : inputs) expected_families += family.empty() ? 0 : 1;
  if (rendered.size() != expected_families) fail("families lost or invented", target);
  std::size_t input_family = 0;
  for (const auto& family : rendered) {
    while (inputs[input_family].empty()) ++input_family;
    const auto& samples = inputs[input_family++];
    std::string text = family.header + family.samples;
    if (!valid_utf8(text)) fail("rendered text is not valid UTF-8", text);
    if (family.header.rfind("# HELP " + family.name + " ", 0) != 0) fail("bad HELP line", text);
    auto type_at = family.header.find("\n# TYPE " + family.name + " ");
    if (type_at == std::string::npos || family.header.back() != '\n' ||
        family.header.find('\n') != type_at) {
      fail("bad TYPE line or a raw newline in HELP", text);
    }
    std::size_t line_start = 0, sample_index = 0;
    while (line_start < family.samples.size()) {
      auto end = family.samples.find('\n', line_start);
      if (end == std::string::npos) fail("sample text without a final newline", text);
      std::string line = family.samples.substr(line_start, end - line_start);
      line_start = end + 1;
      Sample sample;
      if (!parse_sample(line, sample)) fail("a sample line does not parse", line);
      if (sample.name != family.name) fail("sample name differs from its family", line);
      if (sample_index >= samples.size()) fail("more samples than added", text);
      const auto& values = samples[sample_index++];
      std::size_t offset = target.empty() ? 0 : 1;
      if (sample.labels.size() != values.size() + offset) fail("labels lost", line);
      if (!target.empty() && (sample.labels[0].first != "target" ||
                              sample.labels[0].second != sanitize_label_value(target))) {
        fail("target label wrong", line);
      }
      for (std::size_t l = 0; l < values.size(); ++l) {
        if (sample.labels[l + offset].second != sanitize_label_value(values[l])) {
          fail("a label value does not round-trip", line);
        }
      }
    }
    if (sample_index != samples.size()) fail("samples lost", text);
  }
  return 0;
}

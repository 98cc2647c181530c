#include "collectors/query_text.hpp"

#include <cctype>

#include "core/exposition.hpp"

namespace pgpulse::collectors {

namespace {

bool is_word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         (static_cast<unsigned char>(c) >= 0x80);
}

// Index just past a dollar-quote opening tag ($$ or $tag$) at i, or i when there is none.
std::size_t dollar_tag_end(std::string_view q, std::size_t i) {
  std::size_t j = i + 1;
  while (j < q.size() && (std::isalnum(static_cast<unsigned char>(q[j])) || q[j] == '_')) ++j;
  return j < q.size() && q[j] == '$' ? j + 1 : i;
}

}  // namespace

std::string normalize_query(std::string_view q, std::size_t max_length) {
  std::string out;
  out.reserve(std::min(q.size(), max_length + 8));
  bool pending_space = false;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.append(piece);
  };
  for (std::size_t i = 0; i < q.size() && out.size() <= max_length * 2;) {
    char c = q[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = true;
      ++i;
    } else if (c == '/' && i + 1 < q.size() && q[i + 1] == '*') {
      // Comment bodies go: applications put secrets, customer data and trace ids there
      // (/* api_key=... */, sqlcommenter). Block comments nest in PostgreSQL.
      int depth = 0;
      while (i < q.size()) {
        if (q.compare(i, 2, "/*") == 0) {
          ++depth;
          i += 2;
        } else if (q.compare(i, 2, "*/") == 0) {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      emit("/* ? */");
    } else if (c == '-' && i + 1 < q.size() && q[i + 1] == '-') {  // to the end of the line
      auto end = q.find('\n', i);
      i = end == std::string_view::npos ? q.size() : end;
      emit("-- ?");
      pending_space = true;
    } else if (c == '\'') {  // 'string', with '' as an escaped quote; E'' and backslashes too
      bool backslashes = i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e');
      ++i;
      while (i < q.size()) {
        if (backslashes && q[i] == '\\') {
          i += 2;
        } else if (q[i] == '\'' && i + 1 < q.size() && q[i + 1] == '\'') {
          i += 2;
        } else if (q[i] == '\'') {
          ++i;
          break;
        } else {
          ++i;
        }
      }
      if (!out.empty() && (out.back() == 'E' || out.back() == 'e') &&
          (out.size() == 1 || !is_word(out[out.size() - 2]))) {
        out.pop_back();
      }
      emit("?");
    } else if (c == '$' && dollar_tag_end(q, i) != i && (i == 0 || !is_word(q[i - 1]))) {
      auto tag_end = dollar_tag_end(q, i);
      std::string_view tag = q.substr(i, tag_end - i);
      auto close = q.find(tag, tag_end);
      i = close == std::string_view::npos ? q.size() : close + tag.size();
      emit("?");
    } else if (std::isdigit(static_cast<unsigned char>(c)) && (i == 0 || !is_word(q[i - 1]))) {
      while (i < q.size() && (std::isalnum(static_cast<unsigned char>(q[i])) || q[i] == '.')) ++i;
      emit("?");
    } else if (c == '"') {  // quoted identifiers stay as they are
      auto close = q.find('"', i + 1);
      std::size_t end = close == std::string_view::npos ? q.size() : close + 1;
      emit(q.substr(i, end - i));
      i = end;
    } else {
      emit(q.substr(i, 1));
      ++i;
    }
  }
  if (out.size() > max_length) {
    out = core::repair_utf8(out, max_length) + "...";
  } else {
    out = core::repair_utf8(out, out.size());
  }
  return out;
}

}  // namespace pgpulse::collectors

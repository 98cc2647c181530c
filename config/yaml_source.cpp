#include "config/yaml_source.hpp"

#include <yaml-cpp/yaml.h>

namespace pgpulse::config {

namespace {

class Flattener {
 public:
  Flattener(const std::string& file, YamlDocument& doc) : file_(file), doc_(doc) {}

  std::string origin(const YAML::Node& node) const {
    return file_ + ":" + std::to_string(node.Mark().line + 1);
  }

  // A recursive alias (a: &x {b: *x}) would recurse until the stack overflows, and aliases of
  // aliases can expand exponentially: bound the depth and the number of nodes visited.
  void walk(const YAML::Node& node, const std::string& prefix, int depth = 0) {
    if (depth > 16 || ++visited_ > 100000) {
      if (!too_deep_) error(node, prefix, "nested too deeply or too large (a recursive alias?)");
      too_deep_ = true;
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Map:
        for (const auto& item : node) {
          if (too_deep_) return;
          if (!item.first.IsScalar()) {
            error(item.first, prefix, "keys must be plain names");
            continue;
          }
          std::string key = item.first.Scalar();
          std::string path = prefix.empty() ? key : prefix + "." + key;
          if (item.second.IsNull()) {  // "key:" with nothing after it: the key's own line
            doc_.empty[path] = origin(item.first);
            continue;
          }
          walk(item.second, path, depth + 1);
        }
        break;
      case YAML::NodeType::Scalar:
        doc_.values[prefix] = RawValue{node.Scalar(), origin(node)};
        break;
      case YAML::NodeType::Sequence:
        sequence(node, prefix);
        break;
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        doc_.empty[prefix] = origin(node);  // "key:" with nothing after it means "not set"
        break;
    }
  }

 private:
  void sequence(const YAML::Node& node, const std::string& key) {
    if (node.size() == 0) {
      doc_.empty[key] = origin(node);
      return;
    }
    bool all_maps = true;
    for (const auto& item : node) all_maps = all_maps && item.IsMap();
    if (all_maps) {
      auto& records = doc_.lists[key];
      for (const auto& item : node) records.push_back(record(item, key));
      return;
    }
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        error(item, key, "expected a list of plain values or a list of mappings");
        return;
      }
      joined += (joined.empty() ? "" : ",") + item.Scalar();
    }
    doc_.values[key] = RawValue{joined, origin(node)};
  }

  YamlRecord record(const YAML::Node& node, const std::string& list_key) {
    YamlRecord rec{origin(node), {}};
    for (const auto& field : node) {
      std::string name = field.first.IsScalar() ? field.first.Scalar() : "?";
      if (field.second.IsScalar()) {
        rec.fields[name] = RawValue{field.second.Scalar(), origin(field.second)};
      } else if (field.second.IsSequence()) {
        std::string joined;
        for (const auto& item : field.second) {
          if (item.IsScalar()) joined += (joined.empty() ? "" : ",") + item.Scalar();
        }
        rec.fields[name] = RawValue{joined, origin(field.second)};
      } else if (!field.second.IsNull()) {
        error(field.second, list_key + "." + name, "expected a plain value");
      }
    }
    return rec;
  }

  void error(const YAML::Node& node, const std::string& key, const std::string& message) {
    doc_.errors.push_back(ConfigError{origin(node), key, message});
  }

  const std::string& file_;
  YamlDocument& doc_;
  long visited_ = 0;
  bool too_deep_ = false;
};

}  // namespace

YamlDocument read_yaml(const std::string& text, const std::string& file_name) {
  YamlDocument doc;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    doc.errors.push_back(ConfigError{file_name + ":" + std::to_string(e.mark.line + 1), "",
                                     "invalid YAML: " + e.msg});
    return doc;
  }
  if (root.IsNull()) {  // an empty or comment-only file: the loader says it names nothing
    doc.blank = true;
    return doc;
  }
  if (!root.IsMap()) {
    doc.errors.push_back(ConfigError{file_name + ":" + std::to_string(root.Mark().line + 1), "",
                                     "the top level must be a mapping of keys to values"});
    return doc;
  }
  Flattener flattener(file_name, doc);
  try {
    flattener.walk(root, "");
  } catch (const YAML::Exception& e) {
    doc.errors.push_back(ConfigError{file_name + ":" + std::to_string(e.mark.line + 1), "",
                                     "invalid YAML: " + e.msg});
  }
  return doc;
}

}  // namespace pgpulse::config

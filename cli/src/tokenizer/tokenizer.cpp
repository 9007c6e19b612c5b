#include "tokenizer/tokenizer.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "util/error.hpp"

namespace accelab {
namespace {

// Byte fallback: the 256 byte tokens follow <unk>, <s>, </s> in llama2.c vocabularies.
constexpr int32_t kByteTokenOffset = 3;
// run.c starts its best-merge search at this score, so pieces scoring at or below it never merge.
constexpr float kNoMergeScore = -1e10f;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FileError("tokenizer file '" + path + "' " + what);
}

/// Sequential little-endian reader that knows how many bytes the file has left.
class FileReader {
 public:
  explicit FileReader(const std::string& path) : path_(path), file_(nullptr, &std::fclose) {
    namespace fs = std::filesystem;
    std::error_code ec;
    // Checked before opening so that a FIFO cannot block us; a missing file is left to fopen,
    // whose errno makes the better message.
    if (const fs::file_status status = fs::status(path, ec); !ec) {
      if (fs::is_directory(status)) fail(path_, "is a directory");
      if (!fs::is_regular_file(status)) fail(path_, "is not a regular file");
    }
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
      fail(path_, std::string("cannot be opened (") + std::strerror(errno) + ")");
    }
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) fail(path_, "cannot be sized (" + ec.message() + ")");
    remaining_ = size;
  }

  [[nodiscard]] std::uintmax_t remaining() const { return remaining_; }
  [[nodiscard]] std::uintmax_t offset() const { return offset_; }

  int32_t read_i32(const std::string& what) { return std::bit_cast<int32_t>(read_u32(what)); }

  float read_f32(const std::string& what) { return std::bit_cast<float>(read_u32(what)); }

  std::string read_string(std::size_t length, const std::string& what) {
    require(length, what);  // before allocating: the length may be hostile
    std::string bytes(length, '\0');
    read_exact(bytes.data(), length, what);
    return bytes;
  }

 private:
  uint32_t read_u32(const std::string& what) {
    unsigned char b[4];
    read_exact(b, sizeof b, what);
    return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
           (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }

  void require(std::size_t n, const std::string& what) const {
    if (n > remaining_) {
      fail(path_, "is truncated: " + what + " needs " + std::to_string(n) + " bytes at offset " +
                      std::to_string(offset_) + " but only " + std::to_string(remaining_) +
                      " are left");
    }
  }

  void read_exact(void* dst, std::size_t n, const std::string& what) {
    require(n, what);
    if (n == 0) return;
    const std::size_t got = std::fread(dst, 1, n, file_.get());
    if (got != n) {
      if (std::ferror(file_.get()) != 0) {
        fail(path_, "cannot be read at offset " + std::to_string(offset_ + got) + " (" +
                        std::strerror(errno) + ")");
      }
      fail(path_, "is truncated: it ended while reading " + what + " at offset " +
                      std::to_string(offset_ + got));
    }
    offset_ += n;
    remaining_ -= n;
  }

  std::string path_;
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file_;
  std::uintmax_t offset_ = 0;
  std::uintmax_t remaining_ = 0;
};

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::optional<unsigned char> hex_digit(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned char>(c - '0');
  if (c >= 'A' && c <= 'F') return static_cast<unsigned char>(c - 'A' + 10);
  if (c >= 'a' && c <= 'f') return static_cast<unsigned char>(c - 'a' + 10);
  return std::nullopt;
}

/// The byte of a raw byte piece "<0xNN>", if `piece` is one.
std::optional<unsigned char> byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece[5] != '>') return std::nullopt;
  const auto hi = hex_digit(piece[3]);
  const auto lo = hex_digit(piece[4]);
  if (!hi || !lo) return std::nullopt;
  return static_cast<unsigned char>(*hi << 4 | *lo);
}

std::string_view until_nul(std::string_view s) { return s.substr(0, s.find('\0')); }

}  // namespace

Tokenizer Tokenizer::load(const std::string& path, int32_t vocab_size) {
  if (vocab_size <= 0) {
    fail(path, "cannot be loaded: the vocabulary size must be positive, got " +
                   std::to_string(vocab_size));
  }
  FileReader reader(path);
  if (reader.remaining() == 0) fail(path, "is empty");

  const int32_t max_token_length = reader.read_i32("the max_token_length header");
  if (max_token_length <= 0) {
    fail(path,
         "has max_token_length " + std::to_string(max_token_length) + ", which must be positive");
  }

  std::vector<std::string> pieces;
  std::vector<float> scores;
  // A hostile vocab_size must not drive the allocation; each token takes at least 8 bytes.
  const auto plausible = static_cast<std::size_t>(
      std::min<std::uintmax_t>(static_cast<std::uintmax_t>(vocab_size), reader.remaining() / 8));
  pieces.reserve(plausible);
  scores.reserve(plausible);

  for (int32_t i = 0; i < vocab_size; ++i) {
    if (reader.remaining() == 0) {
      fail(path, "is truncated: it holds only " + std::to_string(i) + " of the " +
                     std::to_string(vocab_size) + " tokens of the model's vocabulary");
    }
    const std::string token = "token " + std::to_string(i);
    scores.push_back(reader.read_f32("the score of " + token));
    const int32_t length = reader.read_i32("the length of " + token);
    if (length < 0) {
      fail(path, "has a negative length " + std::to_string(length) + " for " + token +
                     " at offset " + std::to_string(reader.offset() - 4));
    }
    if (length > max_token_length) {
      fail(path, "has a length of " + std::to_string(length) + " bytes for " + token +
                     ", more than its max_token_length " + std::to_string(max_token_length));
    }
    pieces.push_back(reader.read_string(static_cast<std::size_t>(length), "the text of " + token));
  }

  if (reader.remaining() != 0) {
    fail(path, "has " + std::to_string(reader.remaining()) + " trailing bytes after its " +
                   std::to_string(vocab_size) +
                   " tokens (does the vocabulary size match the model?)");
  }
  return Tokenizer(std::move(pieces), std::move(scores));
}

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int32_t bos_id,
                     int32_t eos_id)
    : pieces_(std::move(pieces)), scores_(std::move(scores)), bos_id_(bos_id), eos_id_(eos_id) {
  if (pieces_.size() != scores_.size()) {
    throw Error("tokenizer: " + std::to_string(pieces_.size()) + " pieces but " +
                std::to_string(scores_.size()) + " scores");
  }
  if (pieces_.empty()) throw Error("tokenizer: the vocabulary is empty");
  if (pieces_.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error("tokenizer: the vocabulary has more than 2^31-1 pieces");
  }
  const auto size = static_cast<int32_t>(pieces_.size());
  if (bos_id_ < 0 || bos_id_ >= size || eos_id_ < 0 || eos_id_ >= size) {
    throw Error("tokenizer: BOS id " + std::to_string(bos_id_) + " or EOS id " +
                std::to_string(eos_id_) + " is outside the vocabulary of " + std::to_string(size) +
                " pieces");
  }
  ids_.reserve(pieces_.size());
  for (int32_t id = 0; id < size; ++id) {
    std::string& p = pieces_[static_cast<std::size_t>(id)];
    p.resize(until_nul(p).size());
    ids_.try_emplace(p, id);  // keeps the first, i.e. lowest, id of a duplicated piece
  }
}

int32_t Tokenizer::lookup(std::string_view text) const {
  const auto it = ids_.find(text);
  return it == ids_.end() ? -1 : it->second;
}

void Tokenizer::append_piece_or_bytes(std::string_view text, std::vector<int32_t>& tokens) const {
  if (const int32_t id = lookup(text); id >= 0) {
    tokens.push_back(id);
    return;
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const int32_t id = byte + kByteTokenOffset;
    if (id >= vocab_size()) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      throw Error(std::string("tokenizer: cannot encode byte ") + hex +
                  ": it is not in the vocabulary and its byte-fallback token " +
                  std::to_string(id) + " is outside the vocabulary of " +
                  std::to_string(vocab_size()) + " pieces");
    }
    tokens.push_back(id);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool bos, bool eos) const {
  text = until_nul(text);
  std::vector<int32_t> tokens;
  tokens.reserve(text.size() + 3);
  if (bos) tokens.push_back(bos_id_);
  if (!text.empty()) append_piece_or_bytes(" ", tokens);

  // Mirrors run.c's byte loop, including its handling of stray continuation bytes: a group is
  // a byte plus the continuation bytes after it, at most 4 bytes in all.
  std::size_t start = 0;
  std::size_t length = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_continuation_byte(text[i])) length = 0;
    if (length == 0) start = i;
    ++length;
    if (i + 1 < text.size() && is_continuation_byte(text[i + 1]) && length < 4) continue;
    append_piece_or_bytes(text.substr(start, length), tokens);
    length = 0;
  }

  // run.c rescans every adjacent pair after each merge; only the two pairs touching the merged
  // token change, so they alone are re-looked-up. The scan order and strict '>' are unchanged,
  // so the leftmost of equally scored pairs still wins.
  struct Merge {
    int32_t id;
    float score;
  };
  std::string buffer;
  const auto merge_of = [&](std::size_t i) {
    buffer.assign(pieces_[static_cast<std::size_t>(tokens[i])]);
    buffer.append(pieces_[static_cast<std::size_t>(tokens[i + 1])]);
    const int32_t id = lookup(buffer);
    return Merge{id, id >= 0 ? scores_[static_cast<std::size_t>(id)] : 0.0f};
  };
  std::vector<Merge> merges;
  if (tokens.size() >= 2) {
    merges.reserve(tokens.size() - 1);
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) merges.push_back(merge_of(i));
  }
  while (true) {
    float best_score = kNoMergeScore;
    std::size_t best = merges.size();
    for (std::size_t i = 0; i < merges.size(); ++i) {
      if (merges[i].id >= 0 && merges[i].score > best_score) {
        best_score = merges[i].score;
        best = i;
      }
    }
    if (best == merges.size()) break;

    tokens[best] = merges[best].id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    merges.erase(merges.begin() + static_cast<std::ptrdiff_t>(best));
    if (best < merges.size()) merges[best] = merge_of(best);
    if (best > 0) merges[best - 1] = merge_of(best - 1);
  }

  if (eos) tokens.push_back(eos_id_);
  return tokens;
}

std::string Tokenizer::decode(int32_t prev_token, int32_t token) const {
  std::string_view text = piece(token);
  if (prev_token == bos_id_ && text.starts_with(' ')) text.remove_prefix(1);
  if (const auto byte = byte_piece_value(text)) return std::string(1, static_cast<char>(*byte));
  return std::string(text);
}

std::string Tokenizer::decode_sequence(std::span<const int32_t> tokens) const {
  std::string text;
  for (std::size_t i = 1; i < tokens.size(); ++i) text += decode(tokens[i - 1], tokens[i]);
  return text;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(vocab_size()) + " pieces");
  }
}

const std::string& Tokenizer::piece(int32_t id) const {
  check_id(id);
  return pieces_[static_cast<std::size_t>(id)];
}

float Tokenizer::score(int32_t id) const {
  check_id(id);
  return scores_[static_cast<std::size_t>(id)];
}

}  // namespace accelab

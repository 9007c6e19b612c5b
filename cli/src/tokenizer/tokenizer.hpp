// The llama2.c byte-pair-encoding tokenizer (SentencePiece-style vocabulary with byte fallback),
// reproducing the behaviour of llama2.c's run.c token for token.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace accelab {

/// A vocabulary of pieces with merge scores, and llama2.c's encode/decode over it.
///
/// Differences from run.c, none of which change results on well-formed vocabularies:
/// - Lookups use a hash map instead of a sorted array + bsearch. When the same piece occurs more
///   than once, the lowest id wins (bsearch could return any of them).
/// - Pieces and texts are C strings in run.c, so each is cut at its first NUL byte here too.
/// - Where run.c would index out of bounds it throws Error instead: a vocabulary without " " uses
///   the byte token for the space as the dummy prefix, and a byte whose fallback token (byte + 3)
///   is outside the vocabulary cannot be encoded.
/// - decode() only turns pieces of exactly the form "<0xNN>" into bytes (run.c's sscanf also
///   accepts looser spellings such as "<0x4" or "<0x 4>"), and it does not drop unprintable
///   bytes the way run.c's safe_printf does.
///
/// All const member functions may be called concurrently.
class Tokenizer {
 public:
  /// Loads a llama2.c tokenizer file: int32 max_token_length, then for each of the vocab_size
  /// tokens a float32 score, an int32 byte length and the bytes (all little-endian).
  /// Throws FileError naming the file when vocab_size is not positive, or the file cannot be
  /// read, is truncated, declares a max_token_length that is not positive, a negative length or
  /// one longer than max_token_length or than what is left of the file, or has bytes after the
  /// last token (which usually means vocab_size does not match the model).
  static Tokenizer load(const std::string& path, int32_t vocab_size);

  /// Builds from in-memory parts (for tests and GGUF-embedded vocabularies). Throws Error when
  /// pieces and scores differ in length, the vocabulary is empty or too large for int32 ids,
  /// or bos_id / eos_id is not a valid id.
  Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int32_t bos_id = 1,
            int32_t eos_id = 2);

  /// Encodes text as llama2.c's encode(): optional BOS; the dummy-prefix token " " when text is
  /// not empty; each UTF-8 codepoint (a lead byte plus up to 3 continuation bytes) as its piece,
  /// or as byte tokens (byte + 3) when the vocabulary lacks it; then repeatedly the adjacent
  /// pair whose concatenation is the highest-scoring piece is merged (leftmost on ties; only
  /// pieces scoring above -1e10 are merged); optional EOS.
  /// Throws Error when a byte needs a fallback token the vocabulary does not have.
  [[nodiscard]] std::vector<int32_t> encode(std::string_view text, bool bos, bool eos) const;

  /// The text of `token` as llama2.c prints it after `prev_token`: the piece, without its
  /// leading space when prev_token is BOS, and a byte token "<0xNN>" as that single raw byte.
  /// Throws Error when token is not a valid id.
  [[nodiscard]] std::string decode(int32_t prev_token, int32_t token) const;

  /// decode(tokens[i - 1], tokens[i]) concatenated for i = 1 .. size - 1: the text llama2.c
  /// prints for a sequence that starts with BOS (the first token itself is not printed).
  [[nodiscard]] std::string decode_sequence(std::span<const int32_t> tokens) const;

  /// Number of tokens in the vocabulary.
  [[nodiscard]] int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  /// Id of the beginning-of-sequence token (1 in llama2.c).
  [[nodiscard]] int32_t bos_id() const { return bos_id_; }
  /// Id of the end-of-sequence token (2 in llama2.c).
  [[nodiscard]] int32_t eos_id() const { return eos_id_; }
  /// The raw piece of `id`. Throws Error when id is not a valid id.
  [[nodiscard]] const std::string& piece(int32_t id) const;
  /// The merge score of `id`. Throws Error when id is not a valid id.
  [[nodiscard]] float score(int32_t id) const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  /// Id of the piece equal to `text`, or -1.
  [[nodiscard]] int32_t lookup(std::string_view text) const;
  /// Appends the piece for `text`, or one byte-fallback token per byte when there is none.
  void append_piece_or_bytes(std::string_view text, std::vector<int32_t>& tokens) const;
  void check_id(int32_t id) const;

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
  int32_t bos_id_;
  int32_t eos_id_;
};

}  // namespace accelab

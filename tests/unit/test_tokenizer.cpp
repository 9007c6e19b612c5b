#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/temp_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

std::string data_dir() {
  const char* d = std::getenv("ACCELAB_DATA");
  return d ? d : std::string(ACCELAB_SOURCE_DIR) + "/../shared";
}

/// Path of a file in the shared data directory, or nullopt when it is missing.
std::optional<std::string> data_file(const std::string& relative) {
  const std::string path = data_dir() + "/" + relative;
  if (!fs::is_regular_file(path)) return std::nullopt;
  return path;
}

// Declares `var` as the path of a shared data file, or skips the test when the file is missing.
#define REQUIRE_DATA_FILE(var, relative)                                    \
  const auto var##_opt = data_file(relative);                               \
  if (!var##_opt) {                                                         \
    GTEST_SKIP() << "missing data file " << data_dir() << "/" << (relative) \
                 << " (set ACCELAB_DATA to the shared data directory)";     \
  }                                                                         \
  const std::string var = *var##_opt

/// Builds the bytes of a llama2.c tokenizer file.
class FileBytes {
 public:
  FileBytes& i32(int32_t v) {
    const auto u = std::bit_cast<uint32_t>(v);
    for (int shift = 0; shift < 32; shift += 8) {
      bytes_.push_back(static_cast<char>((u >> shift) & 0xFF));
    }
    return *this;
  }
  FileBytes& f32(float v) { return i32(std::bit_cast<int32_t>(v)); }
  FileBytes& raw(std::string_view s) {
    bytes_.append(s);
    return *this;
  }
  FileBytes& token(float score, std::string_view text) {
    return f32(score).i32(static_cast<int32_t>(text.size())).raw(text);
  }
  [[nodiscard]] const std::string& str() const { return bytes_; }

 private:
  std::string bytes_;
};

class TokenizerFileTest : public ::testing::Test {
 protected:

  std::string write(const std::string& name, const std::string& bytes) { return temp_.write(name, bytes); }

  /// Expects load() to throw a one-line FileError naming the file and containing `what`.
  static void expect_file_error(const std::string& path, int32_t vocab_size,
                                const std::string& what) {
    try {
      (void)Tokenizer::load(path, vocab_size);
      ADD_FAILURE() << "no FileError for " << path;
    } catch (const FileError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(what), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(e.exit_code(), 3);
    }
  }

  test_support::TempDir temp_{"accelab_test_tokenizer"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(TokenizerFileTest, LoadsWellFormedFile) {
  const auto path = write("ok.bin", FileBytes()
                                        .i32(5)
                                        .token(0.0f, "<unk>")
                                        .token(0.0f, "<s>")
                                        .token(-1.5f, "ab")
                                        .token(2.0f, "")
                                        .token(3.0f, std::string_view("x\0y", 3))
                                        .str());
  const Tokenizer t = Tokenizer::load(path, 5);
  EXPECT_EQ(t.vocab_size(), 5);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_EQ(t.piece(0), "<unk>");
  EXPECT_EQ(t.piece(2), "ab");
  EXPECT_EQ(t.score(2), -1.5f);
  EXPECT_EQ(t.piece(3), "");
  EXPECT_EQ(t.score(4), 3.0f);
  // llama2.c keeps pieces as C strings, so an embedded NUL ends the piece.
  EXPECT_EQ(t.piece(4), "x");
  EXPECT_THROW((void)t.piece(5), Error);
  EXPECT_THROW((void)t.score(-1), Error);
}

TEST_F(TokenizerFileTest, MissingFile) {
  expect_file_error((dir_ / "does_not_exist.bin").string(), 512, "cannot be opened");
}

TEST_F(TokenizerFileTest, Directory) { expect_file_error(dir_.string(), 512, "is a directory"); }

TEST_F(TokenizerFileTest, EmptyFile) { expect_file_error(write("empty.bin", ""), 1, "is empty"); }

TEST_F(TokenizerFileTest, TruncatedHeader) {
  expect_file_error(write("header.bin", std::string("\x05\x00", 2)), 1, "truncated");
}

TEST_F(TokenizerFileTest, NonPositiveMaxTokenLength) {
  expect_file_error(write("zero.bin", FileBytes().i32(0).token(0.0f, "").str()), 1,
                    "max_token_length 0");
  expect_file_error(write("negative.bin", FileBytes().i32(-7).token(0.0f, "").str()), 1,
                    "max_token_length -7");
}

TEST_F(TokenizerFileTest, NegativeLength) {
  const auto bytes = FileBytes().i32(4).token(0.0f, "a").f32(0.0f).i32(-1).raw("abcd").str();
  expect_file_error(write("neglen.bin", bytes), 2, "negative length -1 for token 1");
}

TEST_F(TokenizerFileTest, LengthAboveMaxTokenLength) {
  const auto bytes = FileBytes().i32(2).token(0.0f, "abc").str();
  expect_file_error(write("long.bin", bytes), 1, "more than its max_token_length 2");
}

TEST_F(TokenizerFileTest, HugeLength) {
  const int32_t huge = std::numeric_limits<int32_t>::max();
  const auto bytes = FileBytes().i32(huge).f32(0.0f).i32(huge).raw("abc").str();
  expect_file_error(write("huge.bin", bytes), 1, "truncated");
}

TEST_F(TokenizerFileTest, TruncatedPiece) {
  const auto bytes = FileBytes().i32(8).token(0.0f, "ok").f32(0.0f).i32(6).raw("abc").str();
  expect_file_error(write("piece.bin", bytes), 2, "the text of token 1");
}

TEST_F(TokenizerFileTest, TruncatedScore) {
  const auto bytes = FileBytes().i32(8).token(0.0f, "ok").raw("\x01\x02").str();
  expect_file_error(write("score.bin", bytes), 2, "the score of token 1");
}

TEST_F(TokenizerFileTest, FewerTokensThanVocabSize) {
  const auto bytes = FileBytes().i32(8).token(0.0f, "a").token(0.0f, "b").str();
  expect_file_error(write("few.bin", bytes), 3, "truncated");
  // A hostile vocabulary size must fail cleanly too, without a giant allocation.
  expect_file_error(write("few2.bin", bytes), std::numeric_limits<int32_t>::max(), "truncated");
}

TEST_F(TokenizerFileTest, TrailingBytes) {
  const auto bytes = FileBytes().i32(8).token(0.0f, "a").token(0.0f, "b").str();
  expect_file_error(write("trailing.bin", bytes), 1, "trailing bytes");
  expect_file_error(write("trailing2.bin", bytes + "x"), 2, "1 trailing bytes");
}

TEST_F(TokenizerFileTest, NonPositiveVocabSize) {
  const auto path = write("ok.bin", FileBytes().i32(8).token(0.0f, "a").str());
  expect_file_error(path, 0, "vocabulary size");
  expect_file_error(path, -512, "vocabulary size");
}

// ---------------------------------------------------------------------------------------------
// Hand-built vocabularies

/// <unk> <s> </s>, then the given pieces with their scores (ids from 3 on).
Tokenizer tiny(const std::vector<std::pair<std::string, float>>& entries) {
  std::vector<std::string> pieces{"<unk>", "<s>", "</s>"};
  std::vector<float> scores{0.0f, 0.0f, 0.0f};
  for (const auto& [piece, score] : entries) {
    pieces.push_back(piece);
    scores.push_back(score);
  }
  return Tokenizer(std::move(pieces), std::move(scores));
}

TEST(TokenizerTest, ConstructorValidates) {
  EXPECT_THROW(Tokenizer({"a", "b"}, {0.0f}), Error);
  EXPECT_THROW(Tokenizer({}, {}), Error);
  EXPECT_THROW(Tokenizer({"a", "b"}, {0.0f, 0.0f}), Error);  // default EOS id 2 is out of range
  EXPECT_NO_THROW(Tokenizer({"a", "b"}, {0.0f, 0.0f}, 0, 1));
}

TEST(TokenizerTest, MergePriority) {
  // ids: 3 " ", 4 "a", 5 "b", 6 "c", 7 "ab", 8 "bc"
  const auto with_scores = [](float ab, float bc) {
    return tiny({{" ", 0.0f}, {"a", 0.0f}, {"b", 0.0f}, {"c", 0.0f}, {"ab", ab}, {"bc", bc}});
  };
  EXPECT_EQ(with_scores(-1.0f, -2.0f).encode("abc", true, false), (Ids{1, 3, 7, 6}));
  EXPECT_EQ(with_scores(-2.0f, -1.0f).encode("abc", true, false), (Ids{1, 3, 4, 8}));
  // Equal scores: the leftmost pair wins, as with llama2.c's strict '>'.
  EXPECT_EQ(with_scores(-1.0f, -1.0f).encode("abc", true, false), (Ids{1, 3, 7, 6}));
  // Pieces scoring at or below llama2.c's starting best score of -1e10 never merge.
  EXPECT_EQ(with_scores(-1e10f, -2e10f).encode("abc", false, false), (Ids{3, 4, 5, 6}));
  EXPECT_EQ(with_scores(-1e10f, -9e9f).encode("abc", false, false), (Ids{3, 4, 8}));
}

TEST(TokenizerTest, MergesRepeatedly) {
  // ids: 3 " ", 4 "a", 5 "aa", 6 "aaaa", 7 " aaaa"
  const Tokenizer t =
      tiny({{" ", 0.0f}, {"a", 0.0f}, {"aa", -1.0f}, {"aaaa", -2.0f}, {" aaaa", -3.0f}});
  EXPECT_EQ(t.encode("aaaaa", true, true), (Ids{1, 7, 4, 2}));
  EXPECT_EQ(t.encode("aaa", false, false), (Ids{3, 5, 4}));
  EXPECT_EQ(t.decode_sequence(t.encode("aaaaa", true, true)), "aaaaa</s>");
}

TEST(TokenizerTest, DuplicatePiecesUseLowestId) {
  const Tokenizer t = tiny({{" ", 0.0f}, {"x", 0.0f}, {"x", 5.0f}, {" x", 1.0f}, {" x", 2.0f}});
  EXPECT_EQ(t.encode("x", false, false), (Ids{6}));
  EXPECT_EQ(t.encode("xx", false, false), (Ids{6, 4}));
}

TEST(TokenizerTest, EmptyText) {
  const Tokenizer t = tiny({{" ", 0.0f}});
  EXPECT_EQ(t.encode("", true, false), (Ids{1}));
  EXPECT_EQ(t.encode("", true, true), (Ids{1, 2}));
  EXPECT_EQ(t.encode("", false, false), (Ids{}));
  // Text is a C string to llama2.c: it ends at the first NUL.
  EXPECT_EQ(t.encode(std::string_view("\0  ", 3), true, false), (Ids{1}));
}

TEST(TokenizerTest, MissingByteFallbackTokenThrows) {
  const Tokenizer t = tiny({{" ", 0.0f}, {"a", 0.0f}});
  EXPECT_EQ(t.encode("a", false, false), (Ids{3, 4}));
  EXPECT_THROW((void)t.encode("b", false, false), Error);
}

TEST(TokenizerTest, Decode) {
  const Tokenizer t = tiny({{" hi", 0.0f},
                            {"<0x41>", 0.0f},
                            {" <0x0a>", 0.0f},
                            {"<0x4G>", 0.0f},
                            {"<0x41>>", 0.0f},
                            {"<0x00>", 0.0f}});
  EXPECT_EQ(t.decode(1, 3), "hi");   // after BOS the leading space goes
  EXPECT_EQ(t.decode(4, 3), " hi");  // elsewhere it stays
  EXPECT_EQ(t.decode(0, 4), "A");
  EXPECT_EQ(t.decode(1, 5), "\n");  // space stripped first, then the byte parsed
  EXPECT_EQ(t.decode(0, 5), " <0x0a>");
  EXPECT_EQ(t.decode(0, 6), "<0x4G>");
  EXPECT_EQ(t.decode(0, 7), "<0x41>>");
  EXPECT_EQ(t.decode(0, 8), std::string(1, '\0'));  // raw bytes are not filtered
  EXPECT_EQ(t.decode(0, 1), "<s>");
  EXPECT_THROW((void)t.decode(1, 9), Error);
  EXPECT_THROW((void)t.decode(1, -1), Error);

  const Ids ids{1, 3, 3, 4};
  EXPECT_EQ(t.decode_sequence(ids), "hi hiA");
  EXPECT_EQ(t.decode_sequence(Ids{}), "");
  EXPECT_EQ(t.decode_sequence(Ids{3}), "");
}

// ---------------------------------------------------------------------------------------------
// Real vocabularies

TEST(TokenizerDataTest, Tok512Basics) {
  REQUIRE_DATA_FILE(path, "models/tok512.bin");
  const Tokenizer t = Tokenizer::load(path, 512);
  EXPECT_EQ(t.vocab_size(), 512);
  EXPECT_EQ(t.piece(1), "\n<s>\n");
  EXPECT_EQ(t.piece(2), "\n</s>\n");
  EXPECT_EQ(t.piece(3), "<0x00>");
  EXPECT_EQ(t.piece(410), " ");
  EXPECT_EQ(t.encode("", true, false), (Ids{1}));
  EXPECT_EQ(t.encode("Tom", true, true), (Ids{1, 274, 287, 2}));
  EXPECT_THROW((void)Tokenizer::load(path, 511), FileError);
  EXPECT_THROW((void)Tokenizer::load(path, 513), FileError);
}

TEST(TokenizerDataTest, Tok512ByteFallback) {
  REQUIRE_DATA_FILE(path, "models/tok512.bin");
  const Tokenizer t = Tokenizer::load(path, 512);
  // U+65E5 is E6 97 A5 in UTF-8 and not in the vocabulary: one token per byte, byte + 3.
  EXPECT_EQ(t.encode("\xE6\x97\xA5", true, false), (Ids{1, 410, 0xE6 + 3, 0x97 + 3, 0xA5 + 3}));
  // Invalid UTF-8 falls back the same way: a lone continuation byte, and a 5-byte run split
  // into a 4-byte group and a 1-byte group.
  EXPECT_EQ(t.encode("\x80", false, false), (Ids{410, 0x80 + 3}));
  EXPECT_EQ(t.encode("\xF0\x80\x80\x80\x80", false, false),
            (Ids{410, 0xF0 + 3, 0x80 + 3, 0x80 + 3, 0x80 + 3, 0x80 + 3}));
}

TEST(TokenizerDataTest, LlamaKnownEncodings) {
  REQUIRE_DATA_FILE(path, "models/tokenizer.bin");
  const Tokenizer t = Tokenizer::load(path, 32000);
  EXPECT_EQ(t.vocab_size(), 32000);
  EXPECT_EQ(t.encode("Hello world", true, false), (Ids{1, 15043, 3186}));
  EXPECT_EQ(t.encode("I believe the meaning of life is", true, false),
            (Ids{1, 306, 4658, 278, 6593, 310, 2834, 338}));
  // U+1F999 (llama) is not in the vocabulary: its four bytes fall back.
  EXPECT_EQ(t.encode("\xF0\x9F\xA6\x99", false, true), (Ids{29871, 243, 162, 169, 156, 2}));
}

void expect_round_trips(const Tokenizer& t) {
  const std::vector<std::string> texts{
      "a",
      "Hello, world!",
      "Once upon a time, there was a little girl named Lily.",
      "  leading and trailing spaces  ",
      "tabs\tand\nnewlines\n\n",
      "\"Quotes\" and 'apostrophes' -- (parens) [brackets] {braces} 12345 67890 ~`@#$%^&*_+=|\\/",
      // "日本語 ✓ ünïcödé": none of its non-ASCII characters are in tok512.
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE2\x9C\x93 "
      "\xC3\xBCn\xC3\xAF"
      "c\xC3\xB6"
      "d\xC3\xA9",
      "emoji \xF0\x9F\xA6\x99 and \xF0\x9F\x98\x80!",
      "\x01\x02\x7F control bytes",
      "caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9",
  };
  for (const auto& text : texts) {
    const Ids ids = t.encode(text, true, false);
    EXPECT_EQ(t.decode_sequence(ids), text) << text;
    const Ids with_eos = t.encode(text, true, true);
    EXPECT_EQ(with_eos.back(), t.eos_id());
    EXPECT_EQ(Ids(with_eos.begin(), with_eos.end() - 1), ids);
  }
}

TEST(TokenizerDataTest, Tok512RoundTrips) {
  REQUIRE_DATA_FILE(path, "models/tok512.bin");
  expect_round_trips(Tokenizer::load(path, 512));
}

TEST(TokenizerDataTest, LlamaRoundTrips) {
  REQUIRE_DATA_FILE(path, "models/tokenizer.bin");
  expect_round_trips(Tokenizer::load(path, 32000));
}

TEST(TokenizerDataTest, GoldenStories260K) {
  REQUIRE_DATA_FILE(golden, "golden/stories260K-greedy.jsonl");
  std::ifstream in(golden);
  ASSERT_TRUE(in) << golden;
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    const auto tokenizer_file = record.at("tokenizer").get<std::string>();
    REQUIRE_DATA_FILE(tokenizer_path, tokenizer_file);
    const Tokenizer t = Tokenizer::load(tokenizer_path, 512);

    const auto prompt = record.at("prompt").get<std::string>();
    const auto tokens = record.at("tokens").get<Ids>();
    const auto text = record.at("text").get<std::string>();

    const Ids encoded = t.encode(prompt, true, false);
    ASSERT_LE(encoded.size(), tokens.size()) << prompt;
    EXPECT_EQ(Ids(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(encoded.size())),
              encoded)
        << prompt;
    EXPECT_EQ(t.decode_sequence(encoded), prompt);
    EXPECT_EQ(t.decode_sequence(tokens), text) << prompt;
    ++cases;
  }
  EXPECT_GE(cases, 4);
}

}  // namespace
}  // namespace accelab

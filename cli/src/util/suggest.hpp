// "Did you mean" suggestions for misspelt names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace accelab {

/// Levenshtein edit distance.
size_t edit_distance(std::string_view a, std::string_view b);

/// " (did you mean 'x'?)" for the closest candidate within a small distance, else "".
std::string did_you_mean(std::string_view wrong, const std::vector<std::string>& candidates);

/// "a, b, c" — for listing what is available.
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

}  // namespace accelab

// The HTML report of a results.json record: one self-contained file (inline CSS and SVG, no
// network) with speed-up bars and confidence whiskers, the speed/quality trade-off with its
// Pareto front, sweep and scaling lines, roofline fractions, the table, the environment and the
// experiment file. A pure function of the record, like the other views (tables.hpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace accelab::report {

/// The whole page. Charts with nothing to show (no sweep, no quality) are left out with a note.
/// Each chart is a <figure class="chart" id="…" data-marks="N"> whose SVG holds N elements of
/// class "mark"; an inline script checks those counts when the page loads, logs any mismatch
/// with console.error and then sets <body data-ready="1">.
std::string html_report(const nlohmann::json& results);

}  // namespace accelab::report

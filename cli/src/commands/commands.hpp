// The subcommands of the accelab executable. Each takes the arguments after its name and
// returns the process exit code; errors are thrown as accelab::Error.
#pragma once

#include <string>
#include <vector>

namespace accelab {

using Args = std::vector<std::string>;

int cmd_plugins(const Args& args);
int cmd_inspect(const Args& args);
int cmd_generate(const Args& args);
int cmd_perplexity(const Args& args);
int cmd_synth(const Args& args);
int cmd_run(const Args& args);
int cmd_sysinfo(const Args& args);
int cmd_compare(const Args& args);
int cmd_report(const Args& args);
int cmd_convert(const Args& args);

}  // namespace accelab

// Placeholder until the web build lands (branch console-web replaces this
// file and the aw_console_assets target with the assets built from web/).
#include "console/assets.h"

namespace agentwatch {

const ConsoleAsset* FindConsoleAsset(std::string_view path) {
  static const ConsoleAsset kIndex{"/", "text/html; charset=utf-8",
                                   "<!doctype html><title>agentwatch</title>\n"};
  return path == "/" ? &kIndex : nullptr;
}

}  // namespace agentwatch

// The console's static files (index.html, the bundled script and style),
// built at build time from userspace/console/web with its pinned npm
// lockfile and compiled into the binary: nothing is fetched at run time.
#ifndef AGENTWATCH_CONSOLE_ASSETS_H_
#define AGENTWATCH_CONSOLE_ASSETS_H_

#include <string_view>

namespace agentwatch {

struct ConsoleAsset {
  std::string_view path;          // "/", "/assets/app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// The asset served at path, or null. "/" is index.html.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

}  // namespace agentwatch

#endif  // AGENTWATCH_CONSOLE_ASSETS_H_

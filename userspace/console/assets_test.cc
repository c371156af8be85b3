#include "console/assets.h"

#include <gtest/gtest.h>

#include <string>

namespace agentwatch {
namespace {

TEST(ConsoleAssets, IndexIsServedAtTheRoot) {
  const ConsoleAsset* a = FindConsoleAsset("/");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->content_type, "text/html; charset=utf-8");
  EXPECT_NE(a->body.find("<!doctype html>"), std::string_view::npos);
  EXPECT_NE(a->body.find("src=\"/assets/app.js\""), std::string_view::npos);
  EXPECT_NE(a->body.find("href=\"/assets/app.css\""), std::string_view::npos);
  EXPECT_EQ(FindConsoleAsset("/index.html"), a);
}

TEST(ConsoleAssets, TheBundleAndTheStyleAreThere) {
  const ConsoleAsset* js = FindConsoleAsset("/assets/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(js->body.size(), 1000u);
  // Bundled: no module imports left for the browser to fetch.
  EXPECT_EQ(js->body.find("from\"./"), std::string_view::npos);
  EXPECT_NE(js->body.find("/api/stream/alerts"), std::string_view::npos);
  const ConsoleAsset* css = FindConsoleAsset("/assets/app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_GT(css->body.size(), 100u);
}

TEST(ConsoleAssets, TheIconIsThereSoNoFaviconIsAskedFor) {
  const ConsoleAsset* icon = FindConsoleAsset("/assets/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
  EXPECT_NE(FindConsoleAsset("/")->body.find("href=\"/assets/favicon.svg\""), std::string_view::npos);
}

TEST(ConsoleAssets, NothingFetchedFromElsewhereAndNoInlineCode) {
  for (const char* p : {"/", "/assets/app.js", "/assets/app.css"}) {
    std::string body(FindConsoleAsset(p)->body);
    // The SVG namespace is a name, not a fetch.
    const std::string svg_ns = "http://www.w3.org/2000/svg";
    for (size_t at; (at = body.find(svg_ns)) != std::string::npos;) body.erase(at, svg_ns.size());
    EXPECT_EQ(body.find("http://"), std::string::npos) << p;
    EXPECT_EQ(body.find("https://"), std::string::npos) << p;
    EXPECT_EQ(body.find("@import"), std::string::npos) << p;
  }
  const std::string html(FindConsoleAsset("/")->body);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
}

TEST(ConsoleAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(FindConsoleAsset(""), nullptr);
  EXPECT_EQ(FindConsoleAsset("/assets/"), nullptr);
  EXPECT_EQ(FindConsoleAsset("/assets/app.js.map"), nullptr);
  EXPECT_EQ(FindConsoleAsset("/../assets.h"), nullptr);
  EXPECT_EQ(FindConsoleAsset("/api/status"), nullptr);
}

}  // namespace
}  // namespace agentwatch

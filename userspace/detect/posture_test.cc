#include "detect/posture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentwatch {
namespace {

const std::string kAwsId = "AKIAZ7QPLM3XW5RT4BNE";
const std::string kAwsTempId = "ASIAZ7QPLM3XW5RT4BNE";
const std::string kAwsSecret = "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";
const std::string kGhp = "ghp_Qw3rTy7uIo9pAs1dFg4hJk6lZx8cVb2nM5q0";

std::string Environ(const std::vector<std::string>& vars) {
  std::string out;
  for (const auto& v : vars) out += v + '\0';
  return out;
}

const PostureFinding* Named(const std::vector<PostureFinding>& f, const std::string& name) {
  for (const auto& x : f)
    if (x.name == name) return &x;
  return nullptr;
}

// Nothing a finding carries holds any 12 bytes of the secret.
void NoValue(const std::vector<PostureFinding>& f, const std::string& secret) {
  for (const auto& x : f) {
    for (size_t i = 0; i + 12 <= secret.size(); ++i) {
      const std::string w = secret.substr(i, 12);
      for (const std::string* s : {&x.source, &x.name, &x.kind, &x.fingerprint, &x.detail})
        EXPECT_EQ(s->find(w), std::string::npos) << x.name << ": " << *s;
    }
  }
}

TEST(PostureTest, LongLivedCredentialsInTheEnvironment) {
  const auto r = DefaultRedactor();
  const auto f = ScanEnvironment(
      *r, Environ({"PATH=/usr/bin:/bin", "HOME=/home/dev", "AWS_ACCESS_KEY_ID=" + kAwsId,
                   "AWS_SECRET_ACCESS_KEY=" + kAwsSecret, "GITHUB_TOKEN=" + kGhp,
                   "PASSWORD_STORE_DIR=/home/dev/.password-store", "LANG=C.UTF-8"}));
  ASSERT_NE(Named(f, "AWS_ACCESS_KEY_ID"), nullptr);
  EXPECT_EQ(Named(f, "AWS_ACCESS_KEY_ID")->kind, "aws-access-key-id");
  EXPECT_NE(Named(f, "AWS_ACCESS_KEY_ID")->detail.find("no session token"), std::string::npos);
  ASSERT_NE(Named(f, "AWS_SECRET_ACCESS_KEY"), nullptr);
  ASSERT_NE(Named(f, "GITHUB_TOKEN"), nullptr);
  EXPECT_EQ(Named(f, "GITHUB_TOKEN")->kind, "github-pat-classic");
  EXPECT_EQ(Named(f, "GITHUB_TOKEN")->source, "environ");
  EXPECT_EQ(Named(f, "GITHUB_TOKEN")->fingerprint.size(), 6u);
  // A path under a secret-looking name, and the rest, are no credentials.
  EXPECT_EQ(Named(f, "PASSWORD_STORE_DIR"), nullptr);
  EXPECT_EQ(f.size(), 3u);
  NoValue(f, kAwsSecret);
  NoValue(f, kGhp);
}

TEST(PostureTest, TemporaryAwsKeysWithASessionTokenAreFine) {
  const auto r = DefaultRedactor();
  const std::string token(120, 'Q');
  const auto f = ScanEnvironment(
      *r, Environ({"AWS_ACCESS_KEY_ID=" + kAwsTempId, "AWS_SECRET_ACCESS_KEY=" + kAwsSecret,
                   "AWS_SESSION_TOKEN=" + token}));
  EXPECT_TRUE(f.empty()) << f.front().name;
  // The same long-lived key next to a token is still long-lived.
  const auto g = ScanEnvironment(
      *r, Environ({"AWS_ACCESS_KEY_ID=" + kAwsId, "AWS_SESSION_TOKEN=" + token}));
  ASSERT_NE(Named(g, "AWS_ACCESS_KEY_ID"), nullptr);
  EXPECT_NE(Named(g, "AWS_ACCESS_KEY_ID")->detail.find("next to a session token"),
            std::string::npos);
}

TEST(PostureTest, TheSameSecretHasTheSameFingerprintAnotherADifferentOne) {
  const auto r = DefaultRedactor();
  const auto a = ScanEnvironment(*r, Environ({"GITHUB_TOKEN=" + kGhp}));
  const auto b = ScanEnvironment(*r, Environ({"GH_TOKEN=" + kGhp}));
  std::string rotated = kGhp;
  rotated[10] = rotated[10] == 'x' ? 'y' : 'x';
  const auto c = ScanEnvironment(*r, Environ({"GITHUB_TOKEN=" + rotated}));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(a[0].fingerprint, b[0].fingerprint);
  EXPECT_NE(a[0].fingerprint, c[0].fingerprint);
}

TEST(PostureTest, CredentialsOnTheCommandLine) {
  const auto r = DefaultRedactor();
  const auto f = ScanArguments(*r, {"node", "server.js", "--api-key", kAwsSecret, "--token=" + kGhp,
                                    "--root", "/srv/data", "postgres://app:S3cretPassw0rd@db:5432/x"});
  ASSERT_NE(Named(f, "api-key"), nullptr);
  ASSERT_NE(Named(f, "token"), nullptr);
  EXPECT_EQ(Named(f, "token")->kind, "github-pat-classic");
  EXPECT_EQ(Named(f, "root"), nullptr);
  EXPECT_NE(Named(f, "argv[7]"), nullptr);
  EXPECT_EQ(f.size(), 3u);
  NoValue(f, kGhp);
  NoValue(f, kAwsSecret);
}

TEST(PostureTest, ANameNeverCarriesAValue) {
  // An argument that starts with dashes but is no flag (a PEM block), an
  // environment variable and a JSON key whose names hold a secret.
  const auto r = DefaultRedactor();
  const std::string pem = "-----BEGIN RSA PRIVATE KEY-----\n" + std::string(64, 'A') + "\n" + kAwsSecret +
                          "\n-----END RSA PRIVATE KEY-----";
  const auto a = ScanArguments(*r, {"node", "server.js", pem});
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].name, "argv[2]");
  NoValue(a, kAwsSecret);
  NoValue(a, pem.substr(5));
  const auto e = ScanEnvironment(*r, Environ({"X " + kGhp + "=" + kGhp}));
  ASSERT_EQ(e.size(), 1u);
  NoValue(e, kGhp);
  const auto c = ScanMcpConfig(
      *r, "mcp.json", R"({"mcpServers": {")" + kGhp + R"(": {"env": {"K )" + kGhp + R"(": ")" + kGhp + R"("}}}})");
  ASSERT_EQ(c.size(), 1u);
  NoValue(c, kGhp);
}

TEST(PostureTest, LiteralTokensInMcpConfigurationsNotReferences) {
  const auto r = DefaultRedactor();
  const std::string cfg = R"({
  "mcpServers": {
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
               "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": ")" + kGhp + R"("}},
    "aws": {"command": "uvx", "env": {"AWS_ACCESS_KEY_ID": "${env:AWS_ACCESS_KEY_ID}",
                                      "AWS_SECRET_ACCESS_KEY": "${input:aws_secret}"}},
    "remote": {"url": "https://mcp.example.com/mcp",
               "headers": {"Authorization": "Bearer ${input:token}", "X-Api-Key": ")" +
                          kAwsSecret + R"("}}
  }
})";
  std::string err;
  const auto f = ScanMcpConfig(*r, "/home/dev/.cursor/mcp.json", cfg, &err);
  EXPECT_TRUE(err.empty()) << err;
  ASSERT_NE(Named(f, "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"), nullptr);
  EXPECT_EQ(Named(f, "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN")->source,
            "/home/dev/.cursor/mcp.json");
  ASSERT_NE(Named(f, "mcpServers.remote.headers.X-Api-Key"), nullptr);
  EXPECT_EQ(Named(f, "mcpServers.aws.env.AWS_ACCESS_KEY_ID"), nullptr);
  EXPECT_EQ(Named(f, "mcpServers.aws.env.AWS_SECRET_ACCESS_KEY"), nullptr);
  EXPECT_EQ(Named(f, "mcpServers.remote.headers.Authorization"), nullptr);
  EXPECT_EQ(f.size(), 2u);
  NoValue(f, kGhp);
  NoValue(f, kAwsSecret);
}

TEST(PostureTest, VsCodeServersAndCodexToml) {
  const auto r = DefaultRedactor();
  const auto v = ScanMcpConfig(
      *r, ".vscode/mcp.json",
      R"({"inputs": [], "servers": {"gh": {"type": "stdio", "command": "gh-mcp", "env": {"GH_TOKEN": ")" +
          kGhp + R"("}}}})");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].name, "servers.gh.env.GH_TOKEN");
  const auto t = ScanMcpConfig(*r, "/home/dev/.codex/config.toml",
                               "[mcp_servers.github]\ncommand = \"npx\"\n"
                               "env = { \"GITHUB_TOKEN\" = \"" + kGhp + "\" }\n");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].kind, "github-pat-classic");
  EXPECT_EQ(t[0].name.rfind("line 3", 0), 0u) << t[0].name;
  NoValue(t, kGhp);
}

TEST(PostureTest, MalformedConfigurationIsAnErrorAndItsLinesAreStillScanned) {
  const auto r = DefaultRedactor();
  std::string err;
  const auto f = ScanMcpConfig(*r, "mcp.json", "{\"mcpServers\": {\"x\": {\"env\": {\"T\": \"" + kGhp +
                                                   "\"}}\n", &err);
  EXPECT_FALSE(err.empty());
  EXPECT_EQ(f.size(), 1u);
  EXPECT_TRUE(ScanMcpConfig(*r, "mcp.json", std::string("\0\xff\xfe{", 4)).empty());
}

TEST(PostureTest, WhatIsNoCredential) {
  const auto r = DefaultRedactor();
  // Endpoints of short-lived credentials, another variable's name, a
  // region: secret-looking names, no secret.
  EXPECT_TRUE(ScanEnvironment(*r, Environ({"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
                                           "ACTIONS_ID_TOKEN_REQUEST_URL=https://token.actions.example/x",
                                           "TOKEN_VAR=GITHUB_TOKEN", "AWS_SECRETS_MANAGER_REGION=us-east-1"}))
                  .empty());
  // "--" ends the options; "-" alone is stdin.
  EXPECT_TRUE(ScanArguments(*r, {"uv", "run", "--", "-", "server.py"}).empty());
  // A value attached to a one-dash flag is not shown as its name.
  const auto a = ScanArguments(*r, {"mysql", "-p" + kAwsSecret});
  for (const auto& f : a) EXPECT_EQ(f.name, "argv[1]");
}

TEST(PostureTest, VsCodeSettingsAreJsonWithComments) {
  const auto r = DefaultRedactor();
  std::string err;
  const auto f = ScanMcpConfig(*r, "settings.json",
                               "\xEF\xBB\xBF{\n  // my servers\n  \"mcp\": {\"servers\": {\"gh\": {\"env\": {"
                               "\"GH_TOKEN\": \"" + kGhp + "\", /* old */ }},},},\n}\n", &err);
  EXPECT_TRUE(err.empty()) << err;
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].name, "mcp.servers.gh.env.GH_TOKEN");
}

TEST(PostureTest, References) {
  for (const char* s : {"${env:GITHUB_TOKEN}", "${input:token}", "$GITHUB_TOKEN", "{{ secrets.x }}",
                        "  ", ""})
    EXPECT_TRUE(IsSecretReference(s)) << s;
  for (const char* s : {"ghp_abc", "Bearer ${input:x} extra", "$(cat token)", "${a}b${c}"})
    EXPECT_FALSE(IsSecretReference(s)) << s;
}

TEST(PostureTest, KnownPaths) {
  const auto h = McpConfigPathsInHome("/home/dev");
  EXPECT_NE(std::find(h.begin(), h.end(), "/home/dev/.cursor/mcp.json"), h.end());
  EXPECT_NE(std::find(h.begin(), h.end(), "/home/dev/.config/Claude/claude_desktop_config.json"),
            h.end());
  EXPECT_TRUE(McpConfigPathsInHome("/").empty());
  EXPECT_EQ(McpConfigPathsInProject("/srv/app").front(), "/srv/app/.mcp.json");
  EXPECT_EQ(MaskFingerprint("[REDACTED:github-pat-classic:3f9a1c]"), "3f9a1c");
}

}  // namespace
}  // namespace agentwatch

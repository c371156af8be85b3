#include "store/sqlite.h"

#include <fmt/format.h>

namespace agentwatch::store_internal {

std::string Exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return "";
  std::string e = msg ? msg : sqlite3_errmsg(db);
  sqlite3_free(msg);
  return e;
}

int64_t QueryInt(sqlite3* db, const char* sql) {
  Stmt s(db, sql);
  if (!s.ok() || s.Step() != SQLITE_ROW) return 0;
  return s.Int(0);
}

std::string OpenConnection(const std::string& path, int flags, sqlite3** db) {
  int rc = sqlite3_open_v2(path.c_str(), db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string e = *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc);
    sqlite3_close(*db);
    *db = nullptr;
    return fmt::format("{}: {}", path, e);
  }
  sqlite3_busy_timeout(*db, 5000);
  sqlite3_extended_result_codes(*db, 1);
  return "";
}

std::string InTransaction(sqlite3* db, const std::function<std::string()>& body) {
  std::string e = Exec(db, "BEGIN IMMEDIATE");
  if (!e.empty()) return e;
  e = body();
  if (e.empty()) e = Exec(db, "COMMIT");
  if (!e.empty()) Exec(db, "ROLLBACK");
  return e;
}

}  // namespace agentwatch::store_internal

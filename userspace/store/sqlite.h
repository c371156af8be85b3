// The store's SQLite plumbing (internal to store/): a prepared statement,
// running SQL text, opening a connection, and the transaction shapes the
// store uses. Errors are returned as text ("" on success).
#ifndef AGENTWATCH_STORE_SQLITE_H_
#define AGENTWATCH_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>

namespace agentwatch::store_internal {

// A prepared statement.
class Stmt {
 public:
  // A null db (a store that is not open) gives a statement that is not
  // ok, whose error says so.
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = db == nullptr ? SQLITE_CANTOPEN : sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  std::string error() const { return db_ == nullptr ? "store not open" : sqlite3_errmsg(db_); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  // Text and blobs are not copied: they must outlive the Step/Run that
  // uses them (Run clears the bindings).
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  // Runs one step and resets; "" or the error.
  std::string Run() {
    int rc = Step();
    std::string err = rc == SQLITE_DONE || rc == SQLITE_ROW ? "" : error();
    Reset();
    return err;
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// Runs SQL text (one or more statements, no bindings).
std::string Exec(sqlite3* db, const char* sql);

// The first column of the first row; 0 when the statement fails or
// returns no row.
int64_t QueryInt(sqlite3* db, const char* sql);

// Opens path with flags (and SQLITE_OPEN_NOMUTEX: each connection is used
// under its own lock), a 5 s busy timeout and extended result codes. On
// failure *db is null and the error names the path.
std::string OpenConnection(const std::string& path, int flags, sqlite3** db);

// BEGIN IMMEDIATE, then body; COMMIT when body returns "", else (or when
// the commit fails) ROLLBACK. When BEGIN fails, body does not run.
std::string InTransaction(sqlite3* db, const std::function<std::string()>& body);

// A read transaction over its scope, so several statements see one
// snapshot of the database.
class ReadTransaction {
 public:
  explicit ReadTransaction(sqlite3* db) : db_(db) { Exec(db_, "BEGIN"); }
  ~ReadTransaction() { Exec(db_, "COMMIT"); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  sqlite3* db_;
};

// A stored protobuf record; false when it does not parse.
template <typename M>
bool Parse(const std::string& blob, M* m) {
  return m->ParseFromString(blob);
}

}  // namespace agentwatch::store_internal

#endif  // AGENTWATCH_STORE_SQLITE_H_

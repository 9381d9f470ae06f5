#include "serve/libpq_loader.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

#include "core/error.h"

namespace forge::serve {

namespace {

LibPq load_libpq() {
  // The library stays loaded for the process's lifetime (never dlclose'd: connections may outlive
  // any one store).
  void* handle = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    fail("[keys] the PostgreSQL key store needs libpq, which could not be loaded ({}): apt-get install libpq5",
         why ? why : "unknown error");
  }
  auto resolve = [handle](auto& fn, const char* name) {
    void* symbol = ::dlsym(handle, name);
    FORGE_CHECK(symbol != nullptr, "[keys] libpq.so.5 lacks {} (a libpq older than PostgreSQL 10?)", name);
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
  };
  LibPq pq{};
  resolve(pq.conninfo_parse, "PQconninfoParse");
  resolve(pq.conninfo_free, "PQconninfoFree");
  resolve(pq.freemem, "PQfreemem");
  resolve(pq.connectdb_params, "PQconnectdbParams");
  resolve(pq.status, "PQstatus");
  resolve(pq.error_message, "PQerrorMessage");
  resolve(pq.set_notice_processor, "PQsetNoticeProcessor");
  resolve(pq.finish, "PQfinish");
  resolve(pq.exec_params, "PQexecParams");
  resolve(pq.result_status, "PQresultStatus");
  resolve(pq.result_error_message, "PQresultErrorMessage");
  resolve(pq.result_error_field, "PQresultErrorField");
  resolve(pq.ntuples, "PQntuples");
  resolve(pq.getvalue, "PQgetvalue");
  resolve(pq.getlength, "PQgetlength");
  resolve(pq.clear, "PQclear");
  return pq;
}

}  // namespace

const LibPq& libpq() {
  static const LibPq pq = load_libpq();  // a failed load throws and is retried on the next call
  return pq;
}

}  // namespace forge::serve

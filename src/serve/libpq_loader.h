#pragma once
// libpq, loaded on first use (dlopen) instead of linked: linked, it and the libraries it pulls in
// (Kerberos, LDAP, SASL, GnuTLS, ...) were mapped and relocated at start-up by every forge
// subcommand (~3.5 MB resident in `forge generate`), though only a PostgreSQL key store
// (`--keys postgresql://...`) calls it. The types and constants still come from libpq-fe.h.
#include <libpq-fe.h>

namespace forge::serve {

// The libpq functions the PostgreSQL key store calls, resolved from libpq.so.5.
struct LibPq {
  decltype(&::PQconninfoParse) conninfo_parse;
  decltype(&::PQconninfoFree) conninfo_free;
  decltype(&::PQfreemem) freemem;
  decltype(&::PQconnectdbParams) connectdb_params;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQsetNoticeProcessor) set_notice_processor;
  decltype(&::PQfinish) finish;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQclear) clear;
};

// Loads libpq once (thread-safe) and returns its functions. Throws "[keys] the PostgreSQL key
// store needs libpq ..." naming the package to install when the library or a symbol is missing.
const LibPq& libpq();

}  // namespace forge::serve

// A throw-away PKI for TLS tests, made with the openssl CLI in `dir`:
//   ca.pem/ca.key          a self-signed CA
//   server.pem/server.key  signed by the CA for IP 127.0.0.1 only (so "localhost" does not match it)
//   client.pem/client.key  signed by the CA (client certificate for mutual TLS)
//   other-ca.pem           an unrelated CA
// Returns false if openssl failed.
#pragma once

#include <cstdlib>
#include <string>

namespace ironflow::server::testing {

inline bool MakeTestPki(const std::string& dir) {
  const std::string cmd =
      "(cd " + dir + " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext" +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca" +
      " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1" +
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
      " -extfile san.ext" +
      " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=ironflow" +
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2" +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other"
      ") >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace ironflow::server::testing

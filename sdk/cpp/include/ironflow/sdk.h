// The Ironflow C++ SDK: the one include an app needs.
//
//   find_package(ironflow REQUIRED)
//   target_link_libraries(app PRIVATE ironflow::sdk)
//
// - ironflow/function.h     createFunction, Context (event, secrets, memoized steps), FunctionConfig
// - ironflow/worker.h       Worker: pull mode (long-polls the server for jobs)
// - ironflow/push_server.h  PushServer: push mode (the engine POSTs signed jobs to the app)
// - ironflow/client.h       Client: register functions (push mode), emit events
// - ironflow/signature.h    signPayload / verifySignature for X-Ironflow-Signature
// - ironflow/signals.h      ShutdownSignals: graceful stop on SIGINT/SIGTERM
// - ironflow/errors.h       Error, SecretNotDeclared, SecretNotSet, NonRetryableError, ApiError
#pragma once

#include "ironflow/client.h"
#include "ironflow/errors.h"
#include "ironflow/function.h"
#include "ironflow/push_server.h"
#include "ironflow/signals.h"
#include "ironflow/signature.h"
#include "ironflow/stores.h"
#include "ironflow/worker.h"

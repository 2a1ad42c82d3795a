// ironflow-cpp-sdk: functions (push and pull), workers and a management client for the Ironflow C++ server.
export { createFunction, runJob } from "./function.js";
export type { FunctionConfig, FunctionContext, Handler, IronflowFunction, RetryPolicy, EventPayload, Job, JobResult } from "./function.js";
export { createWorker } from "./worker.js";
export type { Worker, WorkerOptions, JobReport } from "./worker.js";
export { serve, registerPushFunctions } from "./serve.js";
export type { ServeOptions, PushHandler } from "./serve.js";
export { signPayload, verifySignature, signatureToleranceSeconds } from "./signature.js";
export { createClient, Client } from "./client.js";
export type { SecretMeta, SecretVersion, ConfigDocument, ConfigChange, KvEntry, KvChange, Run, WriteOptions } from "./client.js";
export { Secrets } from "./secrets.js";
export { Steps } from "./steps.js";
export type { Logger, LogSink } from "./logger.js";
export type { ConnectionOptions } from "./transport.js";
export { IronflowError, SecretNotDeclaredError, SecretNotSetError, NonRetryableError } from "./errors.js";
